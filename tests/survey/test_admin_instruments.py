"""Instruments are uploaded, checked (every problem shown), listed and previewed in the browser."""

from __future__ import annotations

import io
from importlib import resources

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, InstrumentVersion
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from

DEFAULT = (
    resources.files("analytics.instruments").joinpath("negotiation-blockers-v1.yaml").read_text()
)
V2 = DEFAULT.replace("version: 1\n", "version: 2\n").replace(
    "title: Negotiation blockers profile", "title: Negotiation blockers, second edition"
)


def _admin(app: Flask, client: FlaskClient) -> tuple[AccessWorld, str, str]:
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    url = f"/admin/{world.org_id}/instruments"
    return world, url, csrf_from(client.get(url))


def _upload(client: FlaskClient, url: str, token: str, text: str | bytes, name: str = "i.yaml"):  # type: ignore[no-untyped-def]
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_a_new_version_and_preview_its_pages(app: Flask, client: FlaskClient) -> None:
    world, url, token = _admin(app, client)
    listing = client.get(url).get_data(as_text=True)
    assert "negotiation-blockers v1" in listing and "shared by every organization" in listing
    stored = _upload(client, url, token, V2, "blockers-v2.yaml")
    assert stored.status_code == 303, stored.get_data(as_text=True)
    preview_url = stored.headers["Location"]
    first = client.get(preview_url)
    text = first.get_data(as_text=True)
    assert first.status_code == 200
    assert "Stored negotiation-blockers v2: Negotiation blockers, second edition" in text
    assert "Page 1 of 8" in text and "Trust" in text and "Strongly agree" in text
    assert "<form" not in text.split("</header>", 1)[1].split("<footer", 1)[0].replace(
        'method="post" action="/logout"', ""
    )
    assert 'type="radio"' in text and "disabled" in text
    last = client.get(f"{preview_url}?page=8").get_data(as_text=True)
    assert "Page 8 of 8" in last and "Prefer not to say" in last and "Next page" not in last
    for bad in ("0", "9", "x" * 40):
        response = client.get(f"{preview_url}?page={bad}")
        assert response.status_code == 400 or bad.startswith("x"), bad
    assert "choose a page from 1 to 8" in client.get(f"{preview_url}?page=9").get_data(as_text=True)
    assert "negotiation-blockers v2" in client.get(url).get_data(as_text=True)
    assert "negotiation-blockers v2" in client.get(f"/admin/{world.org_id}/rounds/new").get_data(
        as_text=True
    )
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="instrument_stored"))
        assert event.target == "negotiation-blockers v2" and event.organization_id == world.org_id

    again = _upload(client, url, token, V2)
    assert again.status_code == 303
    assert "already stored with this content" in client.get(again.headers["Location"]).get_data(
        as_text=True
    )
    changed = _upload(client, url, token, V2.replace("second edition", "third edition"), "x.yaml")
    assert changed.status_code == 409
    assert "x.yaml: instrument negotiation-blockers version 2 is already stored" in (
        changed.get_data(as_text=True)
    )


def test_every_problem_in_a_bad_file_is_listed(app: Flask, client: FlaskClient) -> None:
    _, url, token = _admin(app, client)
    broken = (
        DEFAULT.replace("version: 1\n", "version: 0\n")
        .replace("kind: blocker", "kind: blockr", 1)
        .replace("min: 1\n", "min: 1\n  colour: red\n", 1)
    )
    response = _upload(client, url, token, broken, "team\x07survey.yaml")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The file has 3 problems. Nothing was stored." in text
    assert "teamsurvey.yaml: version: must be a positive integer, got 0" in text
    assert "teamsurvey.yaml: dimensions[0].kind:" in text
    assert "teamsurvey.yaml: response_scale.colour: unknown key" in text

    syntax = _upload(client, url, token, "id: x\nversion: [1\n", "s.yaml")
    assert syntax.status_code == 400 and "invalid YAML at line 3" in syntax.get_data(as_text=True)
    for content in (b"\xff\xfe\x00garbage", b"", b"- just\n- a list\n"):
        assert _upload(client, url, token, content).status_code == 400
    huge = _upload(client, url, token, b"#" * 600_000)
    assert huge.status_code == 400 and "the limit is 512,000 bytes" in huge.get_data(as_text=True)
    missing = client.post(url, data={"csrf_token": token})
    assert missing.status_code == 400 and "Choose a YAML file" in missing.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(InstrumentVersion).filter_by(version=0)) is None
