"""The organization's email language: set by its admin, used for invitations and reminders
when the round's instrument is complete in it, English otherwise (both databases)."""

from __future__ import annotations

import re
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from analytics.instrument_parser import load_default_instrument, parse_instrument
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import AuditEvent, Organization, Team
from survey.services import rounds
from survey.services.instruments import store_instrument
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from
from tests.survey.test_email_admin import smtp_app, smtp_inbox  # noqa: F401 (fixture)


def _overview(client: FlaskClient, world: AccessWorld) -> str:
    return csrf_from(client.get(f"/admin/{world.org_id}/"))


def _set_language(client: FlaskClient, world: AccessWorld, code: str, token: str | None):  # type: ignore[no-untyped-def]
    data = {"language": code}
    if token is not None:
        data["csrf_token"] = token
    return client.post(f"/admin/{world.org_id}/language", data=data)


def _org_language(app: Flask, world: AccessWorld) -> str:
    with app.app_context():
        return db.session.get(Organization, world.org_id).language


# ---- the setting


def test_admin_sets_the_email_language_and_it_is_audited(app: Flask, client: FlaskClient):
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    page = client.get(f"/admin/{world.org_id}/").get_data(as_text=True)
    assert "Language of emails" in page
    assert '<option selected value="en">English</option>' in page
    assert _org_language(app, world) == "en"  # every organization starts in English

    answer = _set_language(client, world, "fr", _overview(client, world))
    assert answer.status_code == 303
    assert _org_language(app, world) == "fr"
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Invitation and reminder emails are now written in Français." in shown
    assert '<option selected value="fr">Français</option>' in shown
    again = _set_language(client, world, "fr", _overview(client, world))
    assert "Already Français." in client.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).filter_by(action="language_changed"))
        assert event.detail == "en -> fr" and event.actor == world.emails["admin"]
        assert event.organization_id == world.org_id


@pytest.mark.parametrize("code", ["de", "", "FR", "fr\n", "x" * 300])
def test_a_language_the_interface_lacks_is_refused(app: Flask, client: FlaskClient, code: str):
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    answer = _set_language(client, world, code, _overview(client, world))
    assert answer.status_code == 400
    shown = answer.get_data(as_text=True)
    assert "Not a valid choice" in shown or "Choose one of the listed languages." in shown
    assert _org_language(app, world) == "en"


def test_the_setting_needs_a_csrf_token(app: Flask, client: FlaskClient):
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    assert _set_language(client, world, "fr", None).status_code == 400
    assert _set_language(client, world, "fr", "forged").status_code == 400
    assert _org_language(app, world) == "en"


@pytest.mark.parametrize(("who", "status"), [("coach_team", 403), ("admin_other", 404)])
def test_only_the_organizations_admin_may_set_it(
    app: Flask, client: FlaskClient, who: str, status: int
):
    world = build_access_world(app)
    log_in(client, world.emails[who])
    token = csrf_from(client.get("/account/password"))
    assert _set_language(client, world, "fr", token).status_code == status
    assert _org_language(app, world) == "en"
    anonymous = _set_language(app.test_client(), world, "fr", None)
    assert anonymous.status_code in (302, 400) and _org_language(app, world) == "en"


# ---- the emails


def _english_only_round(app: Flask, world: AccessWorld) -> int:
    """An open round of Team One asking an instrument with no French translation."""
    definition = _plain(load_default_instrument().definition)
    definition.pop("translations", None)
    definition["id"] = "english-only"
    with app.app_context():
        row, _ = store_instrument(parse_instrument(definition))
        org = db.session.get(Organization, world.org_id)
        team = db.session.get(Team, world.team_id)
        survey_round = rounds.create_round(
            org, "R-en", row, [team], status="open", closes_at=utcnow() + timedelta(days=5)
        )
        db.session.commit()
        return survey_round.id


def _plain(value):  # type: ignore[no-untyped-def]
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _send(client: FlaskClient, world: AccessWorld, round_id: int, kind: str) -> str:
    round_url = f"/admin/{world.org_id}/rounds/{round_id}"
    token = csrf_from(client.get(round_url))
    answer = client.post(
        f"{round_url}/email/{kind}", data={"csrf_token": token}, follow_redirects=True
    )
    return answer.get_data(as_text=True)


def _subject(message) -> str:  # type: ignore[no-untyped-def]
    return str(make_header(decode_header(message["Subject"])))


def _body(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_payload(decode=True).decode().replace("\r\n", "\n")


def test_french_organization_emails_in_french_when_the_instrument_is_french(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
):
    inbox, port = smtp_inbox
    app = smtp_app(database_url, tmp_path, port)
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["admin"])
    assert _set_language(client, world, "fr", _overview(client, world)).status_code == 303

    assert "1 invitations sent." in _send(client, world, world.round_id, "invitations")
    [invite] = inbox.messages
    assert _subject(invite) == "Enquête sur la négociation de Org A (R1)"
    body = _body(invite)
    assert body.startswith("Bonjour Sam,\n\nOrg A vous invite à une courte enquête, « R1 »")
    assert "Vos réponses sont confidentielles." in body and "au moins 5 personnes" in body
    assert re.search(r"L'enquête se termine le \w+ \d+ \w+ \d{4} à \d\d:\d\d UTC\.", body)
    assert "Envoyé par Negoscope pour le compte de Org A." in body
    assert "Hello" not in body and "survey" not in body
    link = re.search(r"http://localhost/s/[\w-]+", body).group(0)
    assert app.test_client().get(link.replace("http://localhost", "")).status_code == 302

    assert "2 reminders sent." in _send(client, world, world.round_id, "reminders")
    for reminder in inbox.messages[1:]:
        assert _subject(reminder) == "Rappel : enquête sur la négociation de Org A (R1)"
        assert "Ceci est un rappel" in _body(reminder)


def test_french_organization_emails_in_english_when_the_instrument_is_not_french(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
):
    inbox, port = smtp_inbox
    app = smtp_app(database_url, tmp_path, port)
    world = build_access_world(app)
    round_id = _english_only_round(app, world)
    client = app.test_client()
    log_in(client, world.emails["admin"])
    assert _set_language(client, world, "fr", _overview(client, world)).status_code == 303

    assert "2 invitations sent." in _send(client, world, round_id, "invitations")
    assert {_subject(m) for m in inbox.messages} == {"Org A negotiation survey (R-en)"}
    body = _body(inbox.messages[0])
    assert body.startswith("Hello ") and "The survey closes on " in body
    assert "Bonjour" not in body


def test_english_organization_emails_in_english(
    database_url: str,
    tmp_path: Path,
    smtp_inbox,  # noqa: F811
):
    inbox, port = smtp_inbox
    app = smtp_app(database_url, tmp_path, port)
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["admin"])
    assert "1 invitations sent." in _send(client, world, world.round_id, "invitations")
    [invite] = inbox.messages
    assert invite["Subject"] == "Org A negotiation survey (R1)"
    assert _body(invite).startswith("Hello Sam,\n\nOrg A invites you to a short survey")
