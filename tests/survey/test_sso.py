"""Single sign-on for staff through OpenID Connect, against a real provider on loopback.

Every test drives the whole authorization code flow: Negoscope's login form
sends the browser to the provider (``tests/survey/oidc_provider.py``), the
provider sends it back with a code, and Negoscope fetches and verifies the ID
token over HTTP. Both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, SsoSettings
from survey.services import accounts, organizations
from tests.conftest import make_app
from tests.survey.accounts_helpers import PASSWORD, log_in
from tests.survey.oidc_provider import Provider, running_provider
from tests.survey.respond_helpers import csrf_from


@pytest.fixture
def sso_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = make_app(database_url, tmp_path, SSO_ALLOW_HTTP_LOOPBACK=True)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


def _world(app: Flask, provider: Provider, *, password_login: bool = True) -> int:
    """Org "SSO Org" with an admin (password), a coach, and the provider's settings."""
    with app.app_context():
        org, _ = organizations.get_or_create_organization("SSO Org")
        other, _ = organizations.get_or_create_organization("Other Org")
        admin = accounts.create_user("admin@sso.example", PASSWORD)
        accounts.set_role(admin, org, "admin")
        coach = accounts.create_user("coach@sso.example", PASSWORD)
        accounts.set_role(coach, org, "coach")
        outsider = accounts.create_user("outsider@sso.example", PASSWORD)
        accounts.set_role(outsider, other, "coach")
        db.session.add(
            SsoSettings(
                organization_id=org.id,
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                allowed_domain="sso.example",
                enabled=True,
                password_login=password_login,
            )
        )
        db.session.commit()
        return org.id


def _form(client: FlaskClient, url: str = "/login") -> dict[str, str]:
    page = client.get(url)
    text = page.get_data(as_text=True)
    return {"csrf_token": csrf_from(page)} if 'name="csrf_token"' in text else {}


def sso_sign_in(client: FlaskClient, email: str, *, tamper_state: bool = False):  # type: ignore[no-untyped-def]
    """Start at the login form, visit the provider, return Negoscope's answer to the callback."""
    start = client.post("/login/sso", data={"email": email, **_form(client)})
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    query = back.query
    if tamper_state:
        params = parse_qs(query)
        query = f"code={params['code'][0]}&state=forged"
    return client.get(f"{back.path}?{query}")


def test_a_coach_signs_in_with_the_provider(sso_app, provider):
    org_id = _world(sso_app, provider)
    client = sso_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    assert "Sign in with your organization" in login_page

    start = client.post("/login/sso", data={"email": "coach@sso.example", **_form(client)})
    location = urlsplit(start.headers["Location"])
    params = parse_qs(location.query)
    assert location.netloc == urlsplit(provider.issuer).netloc
    assert params["code_challenge_method"] == ["S256"] and params["nonce"][0]
    assert "openid" in params["scope"][0].split() and params["login_hint"] == ["coach@sso.example"]

    done = sso_sign_in(client, "coach@sso.example")
    assert done.status_code == 302
    assert client.get("/coach/").status_code == 200
    with sso_app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "login", AuditEvent.organization_id == org_id
            )
        ).one()
        assert event.actor == "coach@sso.example" and provider.issuer in event.detail
    # Logging out ends the server-side session as with a password login.
    client.post("/logout", data=_form(client, "/coach/"))
    assert client.get("/coach/").status_code == 302


@pytest.mark.parametrize(
    ("setup", "status", "message"),
    [
        (lambda p: setattr(p, "email", "stranger@sso.example"), 403, "no active Negoscope account"),
        (lambda p: setattr(p, "email", "outsider@sso.example"), 403, "no active Negoscope account"),
        (lambda p: setattr(p, "email", "coach@elsewhere.example"), 403, "not an address of"),
        (lambda p: setattr(p, "email_verified", False), 403, "not verified"),
        (lambda p: setattr(p, "sign_with_other_key", True), 400, "could not be verified"),
        (lambda p: setattr(p, "claimed_issuer", "https://evil.example"), 400, "could not be"),
        (lambda p: setattr(p, "nonce_override", "replayed"), 400, "could not be verified"),
        (lambda p: setattr(p, "claimed_audience", "another-app"), 400, "could not be verified"),
        (lambda p: setattr(p, "expired", True), 400, "could not be verified"),
    ],
    ids=[
        "unknown",
        "other-org",
        "domain",
        "unverified",
        "bad-key",
        "issuer",
        "nonce",
        "aud",
        "exp",
    ],
)
def test_refused_sign_ins_start_no_session(sso_app, provider, setup, status, message):
    _world(sso_app, provider)
    setup(provider)
    client = sso_app.test_client()
    answer = sso_sign_in(client, "coach@sso.example")
    assert answer.status_code == status
    assert message in answer.get_data(as_text=True)
    assert client.get("/coach/").status_code == 302  # still logged out


def test_a_forged_state_is_refused(sso_app, provider):
    _world(sso_app, provider)
    client = sso_app.test_client()
    answer = sso_sign_in(client, "coach@sso.example", tamper_state=True)
    assert answer.status_code == 400
    assert provider.token_requests == 0  # the code was never exchanged
    assert client.get("/coach/").status_code == 302


def test_an_email_domain_without_sso_is_told_so(sso_app, provider):
    _world(sso_app, provider)
    client = sso_app.test_client()
    answer = client.post("/login/sso", data={"email": "a@nowhere.example", **_form(client)})
    assert answer.status_code == 400
    assert "No single sign-on is set up for that email domain" in answer.get_data(as_text=True)


def test_an_unreachable_provider_gives_a_clear_error(sso_app, provider):
    _world(sso_app, provider)
    with sso_app.app_context():
        row = db.session.scalars(select(SsoSettings)).one()
        row.issuer = "http://127.0.0.1:9"  # nothing listens on the discard port
        db.session.commit()
    client = sso_app.test_client()
    answer = client.post("/login/sso", data={"email": "coach@sso.example", **_form(client)})
    assert answer.status_code == 502
    assert "cannot be reached" in answer.get_data(as_text=True)


def test_passwords_off_blocks_password_login_and_resets(sso_app, provider):
    _world(sso_app, provider, password_login=False)
    client = sso_app.test_client()
    refused = client.post(
        "/login", data={"email": "coach@sso.example", "password": PASSWORD, **_form(client)}
    )
    assert refused.status_code == 403
    assert "single sign-on only" in refused.get_data(as_text=True)
    assert client.get("/coach/").status_code == 302
    # Another organization's staff still log in with a password.
    log_in(sso_app.test_client(), "outsider@sso.example")
    # The provider still signs the coach in.
    assert sso_sign_in(client, "coach@sso.example").status_code == 302
    assert client.get("/coach/").status_code == 200


def test_passwords_off_sends_no_reset_link(sso_app, provider):
    from survey.dbtypes import utcnow
    from survey.services import staff

    _world(sso_app, provider, password_login=False)
    with sso_app.app_context():
        result = staff.request_reset("coach@sso.example", "10.0.0.1", utcnow(), mail_enabled=True)
        assert result.link is None
        other = staff.request_reset("outsider@sso.example", "10.0.0.2", utcnow(), mail_enabled=True)
        assert other.link is not None


# ------------------------------------------------------------------ admin page
def test_admin_sets_up_sso_and_the_secret_is_never_shown(sso_app, provider):
    with sso_app.app_context():
        org, _ = organizations.get_or_create_organization("Fresh Org")
        admin = accounts.create_user("admin@fresh.example", PASSWORD)
        accounts.set_role(admin, org, "admin")
        db.session.commit()
        org_id = org.id
    client = sso_app.test_client()
    log_in(client, "admin@fresh.example")
    url = f"/admin/{org_id}/sso"
    page = client.get(url)
    assert page.status_code == 200 and "redirect URI" in page.get_data(as_text=True)
    base = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "allowed_domain": "fresh.example",
        "enabled": "y",
        "password_login": "y",
    }
    missing_secret = client.post(url, data={**base, **_form(client, url)})
    assert missing_secret.status_code == 400
    assert "client secret" in missing_secret.get_data(as_text=True)
    saved = client.post(
        url, data={**base, "client_secret": provider.client_secret, **_form(client, url)}
    )
    assert saved.status_code == 302
    shown = client.get(url).get_data(as_text=True)
    assert provider.client_secret not in shown and "A secret is stored" in shown
    # Saving again without a secret keeps the stored one.
    assert client.post(url, data={**base, **_form(client, url)}).status_code == 302
    with sso_app.app_context():
        row = db.session.get(SsoSettings, org_id)
        assert row.client_secret == provider.client_secret and row.enabled
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.organization_id == org_id)
        ).all()
        assert actions.count("sso_settings_changed") == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issuer": "http://login.example.com"}, "starting with https://"),
        ({"issuer": "not a url"}, "starting with https://"),
        ({"allowed_domain": "@@ bad"}, "Enter an email domain"),
        ({"allowed_domain": "sso.example"}, "Another organization already"),
        ({"enabled": "", "password_login": ""}, "only be switched off while single sign-on is on"),
    ],
    ids=["http", "garbage", "domain", "taken", "lockout"],
)
def test_admin_settings_are_validated(sso_app, provider, change, message):
    _world(sso_app, provider)
    with sso_app.app_context():
        org, _ = organizations.get_or_create_organization("Fresh Org")
        admin = accounts.create_user("admin@fresh.example", PASSWORD)
        accounts.set_role(admin, org, "admin")
        db.session.commit()
        org_id = org.id
    client = sso_app.test_client()
    log_in(client, "admin@fresh.example")
    url = f"/admin/{org_id}/sso"
    data = {
        "issuer": "https://login.fresh.example",
        "client_id": "x",
        "client_secret": "y",
        "allowed_domain": "fresh.example",
        "enabled": "y",
        "password_login": "y",
    }
    data.update(change)
    data = {k: v for k, v in data.items() if v != ""}
    answer = client.post(url, data={**data, **_form(client, url)})
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)


def test_only_the_organizations_admins_see_its_sso_page(sso_app, provider):
    org_id = _world(sso_app, provider)
    coach = sso_app.test_client()
    log_in(coach, "coach@sso.example")
    assert coach.get(f"/admin/{org_id}/sso").status_code in (403, 404)
    outsider = sso_app.test_client()
    log_in(outsider, "outsider@sso.example")
    assert outsider.get(f"/admin/{org_id}/sso").status_code in (403, 404)
    anonymous = sso_app.test_client()
    assert anonymous.get(f"/admin/{org_id}/sso").status_code == 302
