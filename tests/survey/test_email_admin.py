"""Invitation and reminder emails through a real SMTP server on loopback."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import make_app
from tests.survey.accounts_helpers import build_access_world, log_in
from tests.survey.respond_helpers import csrf_from


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content))
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
