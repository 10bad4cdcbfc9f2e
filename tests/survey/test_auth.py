"""Logins, sessions, passwords and throttling."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import AuditEvent, AuthSession, User
from survey.services import accounts
from tests.survey.accounts_helpers import PASSWORD, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from


def _cookie(client, name="negoscope_session"):  # type: ignore[no-untyped-def]
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def test_wrong_email_and_wrong_password_get_the_same_message(app, client):
    world = build_access_world(app)
    page = client.get("/login")
    for email, password in (
        (world.emails["admin"], "nope nope nope"),
        ("ghost@x.example", PASSWORD),
    ):
        response = client.post(
            "/login", data={"csrf_token": csrf_from(page), "email": email, "password": password}
        )
        assert response.status_code == 401
        assert "Wrong email or password." in response.get_data(as_text=True)
    with app.app_context():
        failures = db.session.scalar(
            select(func.count()).select_from(AuditEvent).filter_by(action="login_failed")
        )
        assert failures == 2
        details = " ".join(e.detail + e.target for e in db.session.scalars(select(AuditEvent)))
        assert PASSWORD not in details and "nope" not in details


def test_login_rotates_the_session_and_sets_safe_cookie_flags(app, client):
    world = build_access_world(app)
    client.get("/login")
    before = _cookie(client)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"csrf_token": csrf_from(page), "email": world.emails["admin"], "password": PASSWORD},
    )
    [header] = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("negoscope_session=")
    ]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert _cookie(client) != before
    assert app.config["PERMANENT_SESSION_LIFETIME"] <= timedelta(hours=12)
    assert app.config["AUTH_IDLE_TIMEOUT"] <= timedelta(hours=1)


def test_cookie_captured_before_logout_does_not_work_after_it(app, client):
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    assert client.get("/coach/").status_code == 200
    captured = _cookie(client)
    page = client.get("/coach/")
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    thief = app.test_client()
    thief.set_cookie("negoscope_session", captured)
    response = thief.get("/coach/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuthSession)) == 0


def test_idle_and_absolute_lifetimes_end_the_session(app, client):
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    with app.app_context():
        row = db.session.scalar(select(AuthSession))
        row.last_seen_at = utcnow() - app.config["AUTH_IDLE_TIMEOUT"] - timedelta(seconds=5)
        db.session.commit()
    assert client.get("/coach/").status_code == 302
    log_in(client, world.emails["admin"])
    with app.app_context():
        row = db.session.scalar(select(AuthSession))
        row.created_at = utcnow() - app.config["AUTH_ABSOLUTE_TIMEOUT"] - timedelta(seconds=5)
        db.session.commit()
    assert client.get("/coach/").status_code == 302


def test_passwords_are_argon2id_at_or_above_asvs_parameters(app):
    world = build_access_world(app)
    with app.app_context():
        stored = db.session.scalar(
            select(User.password_hash).filter_by(email=world.emails["admin"])
        )
    variant, version, params, *_ = stored.lstrip("$").split("$")
    settings = dict(part.split("=") for part in params.split(","))
    assert variant == "argon2id" and version == "v=19"
    # ASVS 5.0 appendix C / OWASP minimum for argon2id: 19 MiB with t >= 2, or 46 MiB with t >= 1
    memory_kib, iterations = int(settings["m"]), int(settings["t"])
    assert (memory_kib >= 47_104 and iterations >= 1) or (memory_kib >= 19_456 and iterations >= 2)
    assert PASSWORD not in stored


def test_repeated_failures_are_throttled_per_account_and_address(app, client):
    world = build_access_world(app)
    page = client.get("/login")
    token = csrf_from(page)
    statuses = []
    for _ in range(accounts.LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS.attempts + 1):
        response = client.post(
            "/login",
            data={
                "csrf_token": token,
                "email": world.emails["admin"],
                "password": "wrong password!",
            },
        )
        statuses.append(response.status_code)
    assert statuses[:-1] == [401] * accounts.LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS.attempts
    assert statuses[-1] == 429
    blocked = client.post(
        "/login", data={"csrf_token": token, "email": world.emails["admin"], "password": PASSWORD}
    )
    assert blocked.status_code == 429, "even the right password waits while throttled"
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in blocked.get_data(as_text=True)


def test_failures_from_one_address_are_throttled_across_accounts(app, client):
    build_access_world(app)
    token = csrf_from(client.get("/login"))
    codes = [
        client.post(
            "/login",
            data={"csrf_token": token, "email": f"u{i}@x.example", "password": "whatever it is"},
        ).status_code
        for i in range(accounts.LOGIN_LIMIT_PER_ADDRESS.attempts + 1)
    ]
    assert codes[-1] == 429 and set(codes[:-1]) == {401}


def test_change_password_needs_the_current_one_and_ends_other_sessions(app):
    world = build_access_world(app)
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop, world.emails["coach_team"])
    log_in(phone, world.emails["coach_team"])
    page = laptop.get("/account/password")
    wrong = laptop.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page),
            "current": "not it at all",
            "new": "a different passphrase",
            "confirm": "a different passphrase",
        },
    )
    assert wrong.status_code == 400 and "not your current password" in wrong.get_data(as_text=True)
    short = laptop.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page),
            "current": PASSWORD,
            "new": "short",
            "confirm": "short",
        },
    )
    assert short.status_code == 400 and "at least 12 characters" in short.get_data(as_text=True)
    new_password = "a much better passphrase"
    done = laptop.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page),
            "current": PASSWORD,
            "new": new_password,
            "confirm": new_password,
        },
    )
    assert done.status_code == 200 and "password was changed" in done.get_data(as_text=True)
    assert laptop.get("/coach/").status_code == 200
    assert phone.get("/coach/").status_code == 302
    log_in(app.test_client(), world.emails["coach_team"], new_password)


def test_login_only_follows_local_next_urls(app, client):
    world = build_access_world(app)
    page = client.get("/login?next=https://evil.example/")
    response = client.post(
        "/login?next=https://evil.example/",
        data={"csrf_token": csrf_from(page), "email": world.emails["admin"], "password": PASSWORD},
    )
    assert "evil.example" not in response.headers["Location"]
