"""Invitation and reminder emails through a real SMTP server on loopback."""

from __future__ import annotations

import re
import socket
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.utils import getaddresses
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Invitation, Participant, SurveyRound
from survey.services import accounts, emailing, rounds
from survey.services.mailer import SendReport
from survey.services.tokens import hash_token
from tests.conftest import make_app
from tests.survey.accounts_helpers import PASSWORD, AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list = []
        self.recipients: list[str] = []
        self.on_data: Callable[[], None] | None = None

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.on_data is not None:
            self.on_data()
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def smtp_inbox():  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_admin_emails_invitations_then_reminders(database_url: str, tmp_path: Path, smtp_inbox):
    inbox, port = smtp_inbox
    app = make_app(
        database_url,
        tmp_path,
        SMTP_URL=f"smtp://127.0.0.1:{port}?from=Negoscope%20<noreply@a.example>",
    )
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["admin"])
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    token = csrf_from(client.get(round_url))

    sent = client.post(
        f"{round_url}/email/invitations", data={"csrf_token": token}, follow_redirects=True
    )
    assert "1 invitations sent." in sent.get_data(as_text=True)
    [invite] = inbox.messages
    assert (
        invite["To"] == "Sam <sam@a.example>" and invite["From"] == "Negoscope <noreply@a.example>"
    )
    assert "R1" in invite["Subject"] and not invite["Subject"].startswith("Reminder")
    link = re.search(r"http://localhost/s/[\w-]+", invite.get_payload(decode=True).decode()).group(
        0
    )
    assert app.test_client().get(link.replace("http://localhost", "")).status_code == 302

    reminders = client.post(
        f"{round_url}/email/reminders", data={"csrf_token": token}, follow_redirects=True
    )
    assert "2 reminders sent." in reminders.get_data(as_text=True)
    assert {m["To"] for m in inbox.messages[1:]} == {"Sam <sam@a.example>", "Pat <pat@a.example>"}
    assert all(m["Subject"].startswith("Reminder:") for m in inbox.messages[1:])
    for message in inbox.messages[1:]:
        body = message.get_payload(decode=True).decode()
        new_link = re.search(r"http://localhost/s/[\w-]+", body).group(0)
        assert app.test_client().get(new_link.replace("http://localhost", "")).status_code == 302


def test_unreachable_smtp_server_keeps_existing_links(database_url: str, tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = make_app(database_url, tmp_path, SMTP_URL=f"smtp://127.0.0.1:{closed_port}")
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["admin"])
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    token = csrf_from(client.get(round_url))
    page = client.post(
        f"{round_url}/email/reminders", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Not sent to pat@a.example" in page.get_data(as_text=True)
    assert app.test_client().get(f"/s/{world.token}").status_code == 302, "the old link still works"


def smtp_app(database_url: str, tmp_path: Path, port: int) -> Flask:
    return make_app(
        database_url,
        tmp_path,
        SMTP_URL=f"smtp://127.0.0.1:{port}?from=Negoscope%20<noreply@a.example>",
    )


def rename(app: Flask, world: AccessWorld, address: str, **values: str) -> None:
    """Change the member with this email address."""
    with app.app_context():
        person = db.session.scalars(
            sa.select(Participant).filter_by(team_id=world.team_id, email=address)
        ).one()
        for key, value in values.items():
            setattr(person, key, value)
        db.session.commit()


def test_encoded_line_break_in_a_name_reaches_nobody_else(
    database_url: str, tmp_path: Path, smtp_inbox
) -> None:
    inbox, port = smtp_inbox
    app = smtp_app(database_url, tmp_path, port)
    world = build_access_world(app)
    rename(app, world, "sam@a.example", name="=?utf-8?q?Sam=0D=0ABcc:_victim@evil.example?=")
    client = app.test_client()
    log_in(client, world.emails["admin"])
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    token = csrf_from(client.get(round_url))
    sent = client.post(f"{round_url}/email/invitations", data={"csrf_token": token})
    assert sent.status_code == 303
    assert "1 invitations sent." in client.get(sent.headers["Location"]).get_data(as_text=True)
    reminders = client.post(f"{round_url}/email/reminders", data={"csrf_token": token})
    assert reminders.status_code == 303
    assert sorted(inbox.recipients) == ["pat@a.example", "sam@a.example", "sam@a.example"]
    for message in inbox.messages:
        assert message["Bcc"] is None and message["Cc"] is None
        [(_, address)] = getaddresses(message.get_all("To"))
        assert address in ("pat@a.example", "sam@a.example")


def test_one_address_no_header_can_carry_does_not_stop_the_others(
    database_url: str, tmp_path: Path, smtp_inbox
) -> None:
    inbox, port = smtp_inbox
    app = smtp_app(database_url, tmp_path, port)
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["admin"])
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    token = csrf_from(client.get(round_url))
    client.post(f"{round_url}/email/invitations", data={"csrf_token": token})  # Sam's link
    rename(app, world, "pat@a.example", email="pät@a.example")  # not ASCII: no SMTPUTF8 here
    page = client.post(
        f"{round_url}/email/reminders", data={"csrf_token": token}, follow_redirects=True
    )
    text = page.get_data(as_text=True)
    assert "1 reminders sent." in text and "Not sent to pät@a.example" in text
    assert inbox.recipients == ["sam@a.example", "sam@a.example"]
    assert app.test_client().get(f"/s/{world.token}").status_code == 302, "Pat's link still works"


def test_no_write_transaction_is_open_while_smtp_runs(
    database_url: str, tmp_path: Path, smtp_inbox
) -> None:
    inbox, port = smtp_inbox
    app = smtp_app(database_url, tmp_path, port)
    world = build_access_world(app)
    seen: list[str] = []
    url = sa.make_url(database_url)

    def writers_elsewhere() -> None:
        """Runs while the server receives a message: can someone else write now?"""
        if url.get_backend_name() == "sqlite":
            other = sqlite3.connect(url.database or "", timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if held
                other.execute("ROLLBACK")
                seen.append("free")
            except sqlite3.OperationalError as error:
                seen.append(str(error))
            finally:
                other.close()
            return
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                busy = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                    )
                ).scalar()
            seen.append("free" if busy == 0 else f"{busy} transactions open")
        finally:
            engine.dispose()

    inbox.on_data = writers_elsewhere
    client = app.test_client()
    log_in(client, world.emails["admin"])
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    token = csrf_from(client.get(round_url))
    client.post(f"{round_url}/email/invitations", data={"csrf_token": token})
    client.post(f"{round_url}/email/reminders", data={"csrf_token": token})
    assert seen == ["free", "free", "free"]
    with app.app_context():
        actions = db.session.execute(
            sa.text("SELECT detail FROM audit_events WHERE action = 'invitations_emailed'")
        ).scalars()
        assert sorted(actions) == ["invitations: 1 sent, 0 failed", "reminders: 2 sent, 0 failed"]


def test_a_failed_send_never_undoes_a_link_issued_meanwhile(app: Flask, make_world) -> None:  # type: ignore[no-untyped-def]
    """Between the send and the put-back another admin may re-issue a link: that one stays."""
    world = make_world(members=2)
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.round_id)
        before = {i.id: i.token_hash for i in rounds.open_invitations(survey_round)}
        people = [i.participant for i in rounds.open_invitations(survey_round)]
        batch = emailing.prepare_emails(
            survey_round, people, reminder=True, sender=None, base_url="http://x",
            now=utcnow(), ttl=timedelta(days=9), threshold=5,
        )  # fmt: skip
        db.session.commit()
        first, second = batch.prepared
        person = db.session.get(Invitation, second.invitation_id).participant
        _, newest = rounds.issue_invitation(survey_round, person, utcnow(), timedelta(days=9))
        admin = accounts.create_user("boss@acme.example", PASSWORD)
        db.session.commit()

        failed = SendReport(sent=0, failed=((first.address, "421"), (second.address, "421")))
        restored = emailing.record_outcome(
            batch, failed, actor=admin, organization_id=survey_round.organization_id, round_name="R"
        )
        db.session.commit()
        assert restored == 1
        assert (
            db.session.get(Invitation, first.invitation_id).token_hash
            == before[first.invitation_id]
        )
        assert db.session.get(Invitation, second.invitation_id).token_hash == hash_token(newest)


def test_emails_give_the_closing_time_in_the_organizations_time_zone(
    database_url: str, tmp_path: Path, smtp_inbox
):
    inbox, port = smtp_inbox
    app = make_app(database_url, tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}")
    world = build_access_world(app)
    with app.app_context():
        from survey.models import Organization

        db.session.get(Organization, world.org_id).timezone = "Asia/Tokyo"
        closes = datetime(2030, 1, 15, 15, 0, tzinfo=UTC)  # midnight in Tokyo
        db.session.get(SurveyRound, world.round_id).closes_at = closes
        db.session.commit()
    client = app.test_client()
    log_in(client, world.emails["admin"])
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    token = csrf_from(client.get(round_url))
    client.post(f"{round_url}/email/invitations", data={"csrf_token": token})
    [invite] = inbox.messages
    body = invite.get_payload(decode=True).decode()
    assert "Wednesday 16 January 2030 at 00:00 JST" in body and "UTC" not in body
