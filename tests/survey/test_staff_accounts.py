"""Staff pages, set-password links (invitations and resets) and forgotten passwords."""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import AuditEvent, AuthSession, Membership, Organization, StaffToken, User
from survey.services import accounts, organizations, staff
from survey.services.passwords import has_usable_password
from survey.services.tokens import hash_token
from tests.conftest import make_app
from tests.survey.accounts_helpers import PASSWORD, log_in
from tests.survey.respond_helpers import csrf_from
from tests.survey.test_email_admin import smtp_inbox  # noqa: F401  (a fixture)

ADMIN, COACH, OTHER_ADMIN = "admin@a.example", "coach@a.example", "admin@b.example"
NEW_PASSWORD = "plum trellis 47 orbit"
LINK_RE = re.compile(r"http://localhost/set-password/[\w-]+")


@dataclass
class StaffWorld:
    """Org A (an admin, a coach of one team) and org B (its admin)."""

    org_id: int
    other_org_id: int
    team_id: int
    admin_id: int
    coach_id: int


def build(app: Flask) -> StaffWorld:
    with app.app_context():
        org, _ = organizations.get_or_create_organization("Org A")
        other, _ = organizations.get_or_create_organization("Org B")
        team = organizations.create_team(org, "Team One")
        admin = accounts.create_user(ADMIN, PASSWORD)
        coach = accounts.create_user(COACH, PASSWORD)
        other_admin = accounts.create_user(OTHER_ADMIN, PASSWORD)
        accounts.set_role(admin, org, "admin")
        accounts.set_role(coach, org, "coach")
        accounts.set_role(other_admin, other, "admin")
        accounts.assign_coach(coach, team)
        db.session.commit()
        return StaffWorld(org.id, other.id, team.id, admin.id, coach.id)


def logged_in(app: Flask, email: str = ADMIN, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    log_in(client, email, password)
    return client


def post(client: FlaskClient, page: str, url: str, **data: str) -> TestResponse:
    """POST a form from ``page`` with its CSRF token."""
    return client.post(url, data={"csrf_token": csrf_from(client.get(page)), **data})


def invite(client: FlaskClient, world: StaffWorld, email: str, role: str = "coach") -> TestResponse:
    staff_page = f"/admin/{world.org_id}/staff"
    return post(client, staff_page, f"{staff_page}/invite", email=email, role=role)


def link_in(text: str) -> str:
    match = LINK_RE.search(text)
    assert match, "no set-password link in the page or message"
    return match.group(0).removeprefix("http://localhost")


def open_link(app: Flask, link: str) -> FlaskClient:
    """A fresh browser that followed the link (and was redirected off it)."""
    client = app.test_client()
    opened = client.get(link)
    assert opened.status_code == 303 and opened.headers["Location"] == "/set-password"
    return client


def choose(client: FlaskClient, password: str = NEW_PASSWORD) -> TestResponse:
    page = client.get("/set-password")
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(
        "/set-password",
        data={"csrf_token": csrf_from(page), "new": password, "confirm": password},
    )


def can_log_in(app: Flask, email: str, password: str) -> bool:
    client = app.test_client()
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf_token": csrf_from(page), "email": email, "password": password}
    )
    return response.status_code == 302


def test_invite_set_password_and_log_in(app: Flask) -> None:
    world = build(app)
    shown = invite(logged_in(app), world, "New.Coach@A.example")
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "No mail server is configured" in text
    link = link_in(text)
    with app.app_context():
        user = accounts.find_user("new.coach@a.example")
        assert user is not None and not has_usable_password(user.password_hash)
        [row] = db.session.scalars(sa.select(StaffToken)).all()
        token = link.rsplit("/", 1)[1]
        assert row.token_hash == hash_token(token) and row.purpose == "invite"
        assert row.expires_at - utcnow() > timedelta(days=6)
        assert token not in " ".join(
            e.detail + e.target for e in db.session.scalars(sa.select(AuditEvent))
        )
    assert not can_log_in(app, "new.coach@a.example", "")

    browser = open_link(app, link)
    weak = choose(browser, "password1234")
    assert weak.status_code == 400 and "most common passwords" in weak.get_data(as_text=True)
    done = choose(browser)
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "Your password is set" in browser.get("/login").get_data(as_text=True)
    assert can_log_in(app, "new.coach@a.example", NEW_PASSWORD)
    coach = logged_in(app, "new.coach@a.example", NEW_PASSWORD)
    assert coach.get("/").status_code in (200, 302)
    assert coach.get(f"/admin/{world.org_id}/staff").status_code == 403
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
        assert {"user_created", "staff_invited", "staff_link_issued", "password_set"} <= actions


def test_a_link_works_once(app: Flask) -> None:
    world = build(app)
    link = link_in(invite(logged_in(app), world, "once@a.example").get_data(as_text=True))
    first, second = open_link(app, link), open_link(app, link)
    page_for_second = second.get("/set-password")
    assert choose(first).status_code == 303
    late = second.post(
        "/set-password",
        data={
            "csrf_token": csrf_from(page_for_second),
            "new": "x" + NEW_PASSWORD,
            "confirm": "x" + NEW_PASSWORD,
        },
    )
    assert late.status_code == 410 and "already been used" in late.get_data(as_text=True)
    again = open_link(app, link).get("/set-password")
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert can_log_in(app, "once@a.example", NEW_PASSWORD)
    assert not can_log_in(app, "once@a.example", "x" + NEW_PASSWORD)


def test_two_concurrent_uses_of_one_link_set_one_password(app: Flask) -> None:
    world = build(app)
    link = link_in(invite(logged_in(app), world, "race@a.example").get_data(as_text=True))
    browsers = [open_link(app, link) for _ in range(2)]
    tokens = [csrf_from(b.get("/set-password")) for b in browsers]
    passwords = ["first " + NEW_PASSWORD, "second " + NEW_PASSWORD]
    barrier = threading.Barrier(2)
    statuses: list[int] = [0, 0]

    def use(index: int) -> None:
        barrier.wait()
        response = browsers[index].post(
            "/set-password",
            data={
                "csrf_token": tokens[index],
                "new": passwords[index],
                "confirm": passwords[index],
            },
        )
        statuses[index] = response.status_code

    threads = [threading.Thread(target=use, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [303, 410]
    winner = statuses.index(303)
    assert can_log_in(app, "race@a.example", passwords[winner])
    assert not can_log_in(app, "race@a.example", passwords[1 - winner])


def test_an_expired_link_is_refused(app: Flask) -> None:
    world = build(app)
    link = link_in(invite(logged_in(app), world, "late@a.example").get_data(as_text=True))
    browser = open_link(app, link)
    app.config["AUTH_CLOCK"] = lambda: utcnow() + timedelta(days=7, minutes=1)
    page = browser.get("/set-password")
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)


def test_a_link_that_does_not_exist_and_a_missing_one(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/set-password").status_code == 404
    assert client.get("/set-password/" + "A" * 43).status_code == 303
    assert client.get("/set-password").status_code == 404
    assert client.get("/set-password/<script>").status_code == 303
    assert "not valid" in client.get("/set-password").get_data(as_text=True)


def test_inviting_an_existing_account_gives_the_role_only(app: Flask) -> None:
    world = build(app)
    admin = logged_in(app)
    staff_page = f"/admin/{world.org_id}/staff"
    given = post(admin, staff_page, f"{staff_page}/invite", email=OTHER_ADMIN, role="coach")
    assert given.status_code == 303
    assert "password they already have" in admin.get(staff_page).get_data(as_text=True)
    again = invite(admin, world, COACH)
    assert again.status_code == 409 and "already coach" in again.get_data(as_text=True)
    bad = invite(admin, world, "not an email")
    assert bad.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffToken)) == 0
        user = accounts.find_user(OTHER_ADMIN)
        assert {(m.organization_id, m.role) for m in user.memberships} == {
            (world.other_org_id, "admin"),
            (world.org_id, "coach"),
        }
    # Org B's admin also works elsewhere: Org A's admin may not deactivate or reset them.
    with app.app_context():
        other_id = accounts.find_user(OTHER_ADMIN).id
    for action in ("deactivate", "link"):
        refused = post(admin, staff_page, f"{staff_page}/{other_id}/{action}")
        assert refused.status_code == 403, action
    assert post(admin, staff_page, f"{staff_page}/{other_id}/remove").status_code == 303
    assert can_log_in(app, OTHER_ADMIN, PASSWORD)


def test_unknown_and_known_emails_get_the_same_answer(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
) -> None:
    inbox, port = smtp_inbox
    app = make_app(database_url, tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}")
    build(app)
    answers = []
    for email in (COACH, "nobody@a.example"):
        client = app.test_client()
        page = client.get("/forgot-password")
        response = client.post(
            "/forgot-password", data={"csrf_token": csrf_from(page), "email": email}
        )
        answers.append((response.status_code, response.get_data(as_text=True)))
    staff.wait_for_background_mail()
    assert answers[0] == answers[1] and answers[0][0] == 200
    assert "If an active account has that email address" in answers[0][1]
    assert inbox.recipients == [COACH]


def test_a_reset_by_email_ends_every_session(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
) -> None:
    inbox, port = smtp_inbox
    app = make_app(database_url, tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}")
    build(app)
    coach_session = logged_in(app, COACH)
    assert coach_session.get("/coach/").status_code == 200
    post(app.test_client(), "/forgot-password", "/forgot-password", email=COACH.upper())
    staff.wait_for_background_mail()
    [message] = inbox.messages
    assert message["To"] == COACH and "new Negoscope password" in message["Subject"]
    body = message.get_payload(decode=True).decode()
    browser = open_link(app, link_in(body))
    assert "Choose a new password" in browser.get("/set-password").get_data(as_text=True)
    assert choose(browser).status_code == 303
    assert coach_session.get("/coach/").status_code == 302, "the old session ended"
    assert can_log_in(app, COACH, NEW_PASSWORD) and not can_log_in(app, COACH, PASSWORD)


def test_the_answer_does_not_wait_for_the_mail_server(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
) -> None:
    inbox, port = smtp_inbox
    app = make_app(database_url, tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}")
    build(app)
    answered = threading.Event()
    waited: list[bool] = []
    inbox.on_data = lambda: waited.append(answered.wait(30))
    response = post(app.test_client(), "/forgot-password", "/forgot-password", email=COACH)
    answered.set()
    staff.wait_for_background_mail()
    assert response.status_code == 200 and waited == [True] and inbox.recipients == [COACH]


def test_without_mail_a_reset_request_is_logged_and_answered_alike(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    build(app)
    client = app.test_client()
    response = post(client, "/forgot-password", "/forgot-password", email=COACH)
    assert response.status_code == 200
    assert "If an active account has that email address" in response.get_data(as_text=True)
    assert "mail is not configured" in caplog.text and COACH not in caplog.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffToken)) == 0


def test_reset_requests_are_throttled_per_address_and_per_account(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
) -> None:
    inbox, port = smtp_inbox
    app = make_app(database_url, tmp_path, SMTP_URL=f"smtp://127.0.0.1:{port}")
    build(app)

    def ask(email: str, address: str) -> TestResponse:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        page = client.get("/forgot-password")
        return client.post("/forgot-password", data={"csrf_token": csrf_from(page), "email": email})

    statuses = [ask(f"someone{i}@x.example", "10.0.0.1").status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    blocked = ask(COACH, "10.0.0.1")
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    # Per account: from anywhere, at most 3 links an hour; the answer stays the same.
    answers = [ask(COACH, f"10.0.1.{i}") for i in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert len({a.get_data(as_text=True) for a in answers}) == 1
    staff.wait_for_background_mail()
    assert inbox.recipients == [COACH] * 3


def test_deactivation_logs_the_person_out_and_reactivation_lets_them_back(app: Flask) -> None:
    world = build(app)
    coach = logged_in(app, COACH)
    assert coach.get("/coach/").status_code == 200
    admin = logged_in(app)
    staff_page = f"/admin/{world.org_id}/staff"
    done = post(admin, staff_page, f"{staff_page}/{world.coach_id}/deactivate")
    assert done.status_code == 303
    assert "deactivated" in admin.get(staff_page).get_data(as_text=True)
    assert coach.get("/coach/").status_code == 302, "the old session cookie stopped working"
    assert not can_log_in(app, COACH, PASSWORD)
    with app.app_context():
        assert not db.session.scalars(
            sa.select(AuthSession).filter_by(user_id=world.coach_id)
        ).all()
    assert post(admin, staff_page, f"{staff_page}/{world.coach_id}/reactivate").status_code == 303
    assert can_log_in(app, COACH, PASSWORD)


def test_a_deactivated_account_cannot_use_a_link(app: Flask) -> None:
    world = build(app)
    admin = logged_in(app)
    staff_page = f"/admin/{world.org_id}/staff"
    link = link_in(
        post(admin, staff_page, f"{staff_page}/{world.coach_id}/link").get_data(as_text=True)
    )
    browser = open_link(app, link)
    assert browser.get("/set-password").status_code == 200
    post(admin, staff_page, f"{staff_page}/{world.coach_id}/deactivate")
    assert browser.get("/set-password").status_code == 410, "deactivation ended the link"


def test_admins_cannot_lock_themselves_or_the_organization_out(app: Flask) -> None:
    world = build(app)
    admin = logged_in(app)
    staff_page = f"/admin/{world.org_id}/staff"
    for action, data in (("deactivate", {}), ("remove", {}), ("role", {"role": "coach"})):
        response = post(admin, staff_page, f"{staff_page}/{world.admin_id}/{action}", **data)
        assert response.status_code == 403, action
    assert (
        post(admin, staff_page, f"{staff_page}/{world.coach_id}/role", role="admin").status_code
        == 303
    )
    with app.app_context():
        org = db.session.get(Organization, world.org_id)
        coach = db.session.get(User, world.coach_id)
        me = db.session.get(User, world.admin_id)
        staff.change_role(org, me, "coach", actor=coach)  # two admins: allowed
        with pytest.raises(staff.StaffRefused, match="last active admin"):
            staff.change_role(org, coach, "coach", actor=me)
        db.session.rollback()


def test_coaches_and_other_organizations_cannot_reach_the_staff_pages(app: Flask) -> None:
    world = build(app)
    staff_page = f"/admin/{world.org_id}/staff"
    coach = world.coach_id
    actions = ["invite"] + [
        f"{coach}/{a}" for a in ("role", "deactivate", "reactivate", "remove", "link")
    ]
    for email, status in ((COACH, 403), (OTHER_ADMIN, 404)):
        client = logged_in(app, email)
        assert client.get(staff_page).status_code == status
        token = csrf_from(client.get("/account/password"))
        for action in actions:
            response = client.post(
                f"{staff_page}/{action}",
                data={"csrf_token": token, "email": "x@evil.example", "role": "admin"},
            )
            assert response.status_code == status, (email, action)
    # Org B's admin cannot touch Org A's coach through Org B's pages either.
    other = logged_in(app, OTHER_ADMIN)
    other_page = f"/admin/{world.other_org_id}/staff"
    response = post(other, other_page, f"{other_page}/{world.coach_id}/deactivate")
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(User, world.coach_id).active
        assert accounts.find_user("x@evil.example") is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 3
    assert app.test_client().get(staff_page).status_code == 302


def test_invitation_email_is_sent_after_the_commit(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
) -> None:
    inbox, port = smtp_inbox
    app = make_app(
        database_url,
        tmp_path,
        SMTP_URL=f"smtp://127.0.0.1:{port}?from=Negoscope%20<noreply@a.example>",
    )
    world = build(app)
    seen: list[str] = []
    url = sa.make_url(database_url)

    def writers_elsewhere() -> None:
        if url.get_backend_name() == "sqlite":
            other = sqlite3.connect(url.database or "", timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
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
    admin = logged_in(app)
    sent = invite(admin, world, "mailed@a.example", role="admin")
    assert sent.status_code == 303
    assert "emailed to mailed@a.example" in admin.get(sent.headers["Location"]).get_data(
        as_text=True
    )
    staff_page = f"/admin/{world.org_id}/staff"
    with app.app_context():
        user_id = accounts.find_user("mailed@a.example").id
    assert post(admin, staff_page, f"{staff_page}/{user_id}/link").status_code == 303
    assert seen == ["free", "free"]
    first, second = inbox.messages
    assert first["To"] == "mailed@a.example" and first["From"] == "Negoscope <noreply@a.example>"
    assert "Org A" in first["Subject"]
    body = first.get_payload(decode=True).decode()
    assert "an admin of Org A" in body and ADMIN in body
    stale = open_link(app, link_in(body)).get("/set-password")
    assert stale.status_code == 410, "the second link replaced the first"
    browser = open_link(app, link_in(second.get_payload(decode=True).decode()))
    assert choose(browser).status_code == 303
    assert can_log_in(app, "mailed@a.example", NEW_PASSWORD)
    assert logged_in(app, "mailed@a.example", NEW_PASSWORD).get(staff_page).status_code == 200


def test_set_password_tokens_are_redacted_from_request_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from survey.logging_filters import install

    install()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info(
            '127.0.0.1 - - "GET %s HTTP/1.1" 303 -', "/set-password/SECRETtoken_value-123"
        )
    assert "SECRETtoken" not in caplog.text and "/set-password/[redacted]" in caplog.text
