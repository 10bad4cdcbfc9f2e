"""The JSON API as a client sees it: tokens, scopes, errors, resources and privacy rules."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from flask import Flask
from sqlalchemy import select

from survey.extensions import db
from survey.models import ApiToken, AuditEvent, Disclosure, SurveyRound
from survey.services import api_tokens, team_reports
from tests.api.conftest import ApiWorld
from tests.survey.accounts_helpers import log_in


def _url(w: ApiWorld, path: str = "") -> str:
    return f"/api/v1/organizations/{w.world.org_id}{path}"


def _audit(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# ------------------------------------------------------------------ authentication
def test_without_a_token_the_answer_is_401_json(client, api_world):
    response = client.get(_url(api_world, "/teams"))
    assert response.status_code == 401
    assert response.is_json and response.json["code"] == 401
    assert "Bearer" in response.json["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer ngs_" + "A" * 43, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer ", "ngs_x"],
)
def test_unknown_or_malformed_tokens_are_401(client, api_world, header):
    response = client.get(_url(api_world, "/teams"), headers={"Authorization": header})
    assert response.status_code == 401 and response.is_json


def test_a_revoked_token_stops_at_once(app, client, api_world):
    assert client.get(_url(api_world, "/teams"), headers=api_world.auth("write")).status_code == 200
    with app.app_context():
        token = db.session.get(ApiToken, api_world.write_id)
        api_tokens.revoke_token(token, actor=None, now=token.created_at)
        db.session.commit()
    response = client.get(_url(api_world, "/teams"), headers=api_world.auth("write"))
    assert response.status_code == 401
    assert response.json["message"] == "The API token is unknown or was revoked."


def test_another_organizations_token_gets_404(client, api_world):
    response = client.get(_url(api_world, "/teams"), headers=api_world.auth("other"))
    assert response.status_code == 404 and response.is_json
    missing = client.get("/api/v1/organizations/999/teams", headers=api_world.auth("read"))
    assert missing.status_code == 404 and missing.json["message"] == response.json["message"]


def test_a_read_token_cannot_write(client, api_world):
    response = client.post(
        _url(api_world, "/teams"), json={"name": "Blocked"}, headers=api_world.auth("read")
    )
    assert response.status_code == 403 and "write scope" in response.json["message"]
    listed = client.get(_url(api_world, "/teams"), headers=api_world.auth("read")).json
    assert "Blocked" not in {t["name"] for t in listed}


def test_a_logged_in_browser_session_does_not_authenticate_the_api(app, client, api_world):
    log_in(client, api_world.world.emails["admin"])
    assert client.get(f"/admin/{api_world.world.org_id}/api").status_code == 200
    assert client.get(_url(api_world, "/teams")).status_code == 401
    response = client.post(_url(api_world, "/teams"), json={"name": "Via cookie"})
    assert response.status_code == 401


def test_token_calls_need_no_csrf_token_and_last_use_is_kept(app, client, api_world):
    """CSRF is on in the test app; a bearer-token POST goes through without it."""
    response = client.post(
        _url(api_world, "/teams"), json={"name": "Via API"}, headers=api_world.auth("write")
    )
    assert response.status_code == 201, response.json
    with app.app_context():
        assert db.session.get(ApiToken, api_world.write_id).last_used_at is not None


def test_writes_are_audited_with_the_token(app, client, api_world):
    client.post(
        _url(api_world, "/teams"), json={"name": "Audited"}, headers=api_world.auth("write")
    )
    [write] = _audit(app, "api_write")
    assert write.actor.startswith("API token 'writer'")
    assert write.target == f"POST {_url(api_world, '/teams')}"
    created = [e for e in _audit(app, "team_created") if e.target == "Audited"]
    assert created and created[0].actor == write.actor
    # a refused write leaves nothing behind
    client.post(
        _url(api_world, "/teams"), json={"name": "Audited"}, headers=api_world.auth("write")
    )
    assert len(_audit(app, "api_write")) == 1
    # reads are not audited as writes
    client.get(_url(api_world, "/teams"), headers=api_world.auth("write"))
    assert len(_audit(app, "api_write")) == 1


# ------------------------------------------------------------------ errors
def test_errors_are_json_never_html(client, api_world):
    auth = api_world.auth("write")
    cases = [
        client.get("/api/v1/no/such/thing", headers=auth),
        client.delete(_url(api_world, "/teams"), headers=auth),
        client.post(_url(api_world, "/teams"), json={"name": ""}, headers=auth),
        client.post(_url(api_world, "/teams"), json={"nom": "x"}, headers=auth),
        client.post(_url(api_world, "/teams"), data="{not json", headers=auth,
                    content_type="application/json"),
        client.post(_url(api_world, "/teams"), json={"name": "a\x00b"}, headers=auth),
        client.post(_url(api_world, "/teams"), json={"name": "x" * 201}, headers=auth),
        client.get(_url(api_world, "/teams/2147483648"), headers=auth),
    ]  # fmt: skip
    statuses = [r.status_code for r in cases]
    assert statuses == [404, 405, 422, 422, 400, 422, 422, 404]
    for response in cases:
        assert response.is_json, response.get_data(as_text=True)[:200]
        assert response.json["code"] == response.status_code and response.json["message"]


# ------------------------------------------------------------------ resources
def test_teams_and_members(client, api_world):
    auth = api_world.auth("write")
    team = client.post(_url(api_world, "/teams"), json={"name": "Deals"}, headers=auth).json
    again = client.post(_url(api_world, "/teams"), json={"name": "Deals"}, headers=auth)
    assert again.status_code == 409 and "already a team" in again.json["message"]
    person = client.post(
        _url(api_world, f"/teams/{team['id']}/members"),
        json={"name": "Ana", "email": "ana@a.example"},
        headers=auth,
    )
    assert person.status_code == 201
    assert person.json == {
        "id": person.json["id"], "name": "Ana", "email": "ana@a.example",
        "team_id": team["id"], "team": "Deals",
    }  # fmt: skip
    clash = client.post(
        _url(api_world, f"/teams/{team['id']}/members"), json={"email": "ANA@a.example"},
        headers=auth,
    )  # fmt: skip
    assert clash.status_code == 400 and "already a member" in clash.json["message"]
    moved = client.patch(
        _url(api_world, f"/members/{person.json['id']}"),
        json={"team_id": api_world.world.team_id, "name": "Ana B."},
        headers=auth,
    )
    assert moved.status_code == 200
    assert (moved.json["team_id"], moved.json["name"]) == (api_world.world.team_id, "Ana B.")
    renamed = client.patch(
        _url(api_world, f"/teams/{team['id']}"), json={"name": "Deal Desk", "archived": True},
        headers=auth,
    )  # fmt: skip
    assert renamed.json["name"] == "Deal Desk" and renamed.json["archived"] is True
    listed = client.get(_url(api_world, "/teams"), headers=api_world.auth("read")).json
    assert {"Team One", "Team Two", "Deal Desk"} <= {t["name"] for t in listed}


def test_round_lifecycle_and_links(app, client, api_world):
    auth = api_world.auth("write")
    with app.app_context():
        instrument_id = db.session.get(SurveyRound, api_world.world.round_id).instrument_id
    created = client.post(
        _url(api_world, "/rounds"),
        json={"name": "Spring", "instrument_id": instrument_id,
              "team_ids": [api_world.world.team_id], "closes_on": "2099-03-31"},
        headers=auth,
    )  # fmt: skip
    assert created.status_code == 201, created.json
    assert created.json["status"] == "draft" and created.json["closes_at"].startswith("2099-04-01")
    round_id = created.json["id"]
    links = client.post(_url(api_world, f"/rounds/{round_id}/links"), json={}, headers=auth)
    assert links.status_code == 200 and len(links.json) == 2  # Pat and Sam
    url = links.json[0]["url"]
    # shown once: asking again issues nothing new
    assert (
        client.post(_url(api_world, f"/rounds/{round_id}/links"), json={}, headers=auth).json == []
    )
    opened = client.post(_url(api_world, f"/rounds/{round_id}/open"), headers=auth)
    assert opened.status_code == 200 and opened.json["status"] == "open"
    link = client.get(url.replace("http://localhost", ""), follow_redirects=True)
    assert link.status_code == 200  # the link works
    assert client.post(_url(api_world, f"/rounds/{round_id}/open"), headers=auth).status_code == 409
    completion = client.get(_url(api_world, f"/rounds/{round_id}/completion"), headers=auth).json
    assert completion == [
        {"team_id": api_world.world.team_id, "team": "Team One", "invited": 2, "submitted": 0}
    ]
    closed = client.post(_url(api_world, f"/rounds/{round_id}/close"), headers=auth)
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    reissue = client.post(
        _url(api_world, f"/rounds/{round_id}/members/{links.json[0]['member_id']}/link"),
        headers=auth,
    )
    assert reissue.status_code == 409 and "closed" in reissue.json["message"]


def test_anonymous_rounds_refuse_person_by_person_links_alike(app, client, api_world):
    auth = api_world.auth("write")
    round_id = api_world.world.round_id
    with app.app_context():
        db.session.get(SurveyRound, round_id).mode = "anonymous"
        db.session.commit()
    real = client.post(
        _url(api_world, f"/rounds/{round_id}/members/{api_world.world.participant_id}/link"),
        headers=auth,
    )
    unknown = client.post(_url(api_world, f"/rounds/{round_id}/members/99999/link"), headers=auth)
    everyone = client.post(
        _url(api_world, f"/rounds/{round_id}/links"), json={"which": "all-open"}, headers=auth
    )
    assert real.status_code == unknown.status_code == everyone.status_code == 409
    assert real.json == unknown.json == everyone.json


def test_released_results_follow_the_dashboard_rules(app, client, api_world):
    w = api_world.world
    response = client.get(
        _url(api_world, f"/rounds/{w.report_round_id}/teams/{w.team_id}/results"),
        headers=api_world.auth("read"),
    )
    assert response.status_code == 200 and response.json["released"] is True
    body = response.json
    assert body["n"] == 6 and body["snapshot_id"] > 0
    text = json.dumps(body["findings"])
    assert '"min"' not in text and '"max"' not in text  # no individual's score
    for finding in body["findings"]["dimensions"].values():
        for key in ("mean", "sd"):
            if finding.get(key) is not None:
                assert round(finding[key], 1) == finding[key]  # one decimal, as shown
    # recorded in the anonymity ledger with the dashboard's fingerprint, the token as actor
    with app.app_context():
        [entry] = db.session.scalars(select(Disclosure).where(Disclosure.kind == "api")).all()
        assert entry.actor.startswith("API token 'reader'") and entry.user_id is None
        survey_round = db.session.get(SurveyRound, w.report_round_id)
        team = next(t for t in survey_round.teams if t.id == w.team_id)
        from datetime import date

        view = team_reports.team_view(survey_round, team, 5, date.today())
        from survey.services.ledger import figures_hash

        assert entry.figures_hash == figures_hash(view.shown("dashboard", survey_round).figures)
    # the same figures again: one ledger entry
    client.get(
        _url(api_world, f"/rounds/{w.report_round_id}/teams/{w.team_id}/results"),
        headers=api_world.auth("read"),
    )
    with app.app_context():
        assert (
            len(db.session.scalars(select(Disclosure).where(Disclosure.kind == "api")).all()) == 1
        )


def test_a_team_under_the_threshold_gets_no_figures(app, client, api_world):
    w = api_world.world
    response = client.get(
        _url(api_world, f"/rounds/{w.report_round_id}/teams/{w.other_team_id}/results"),
        headers=api_world.auth("read"),
    )
    assert response.status_code == 200
    assert response.json["released"] is False and "findings" not in response.json
    assert response.json["reason"] == "No results yet: 2 of the 5 responses needed."
    with app.app_context():
        assert db.session.scalars(select(Disclosure).where(Disclosure.kind == "api")).all() == []


def test_export_job_then_download(app, client, api_world):
    w = api_world.world
    auth = api_world.auth("write")
    low = client.post(
        _url(api_world, f"/rounds/{w.report_round_id}/exports"), json={"k": 2}, headers=auth
    )
    assert low.status_code == 400 and "at least the anonymity threshold" in low.json["message"]
    started = client.post(
        _url(api_world, f"/rounds/{w.report_round_id}/exports"), json={"format": "csv"},
        headers=auth,
    )  # fmt: skip
    assert started.status_code == 202
    job = client.get(_url(api_world, f"/jobs/{started.json['id']}"), headers=api_world.auth()).json
    assert job["status"] == "done" and job["download_url"]
    download = client.get(job["download_url"], headers=api_world.auth())
    assert download.status_code == 200 and download.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert {"data.csv", "codebook.csv", "manifest.json"} <= set(names)
    with app.app_context():
        kinds = db.session.scalars(select(Disclosure.kind)).all()
        assert "export" in kinds
        # The ledger names the token that started the export.
        actors = db.session.scalars(
            select(Disclosure.actor).where(Disclosure.kind == "export")
        ).all()
        assert actors and all(a.startswith("API token ") for a in actors)
    # an export of the same snapshot again is fine; another organization sees no job
    other = client.get(
        _url(api_world, f"/jobs/{started.json['id']}"), headers=api_world.auth("other")
    )
    assert other.status_code == 404
    # nothing released in the open round: the job fails with the reason
    refused = client.post(
        _url(api_world, f"/rounds/{w.round_id}/exports"), json={}, headers=auth
    ).json
    assert refused["status"] == "failed" and refused["download_url"] is None
    assert (
        client.get(
            _url(api_world, f"/jobs/{refused['id']}/download"), headers=api_world.auth()
        ).status_code
        == 404
    )


# ------------------------------------------------------------------ document and docs
def test_openapi_document_is_valid_openapi_3_1(client):
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    OPENAPI_31_VALIDATOR.validate(spec)  # raises with the first problem
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    # every schema is a valid JSON Schema 2020-12 (the dialect of OpenAPI 3.1)
    import jsonschema_rs

    for name, schema in spec["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        ), name
    nullable = spec["components"]["schemas"]["Round"]["properties"]["closes_at"]
    assert nullable["type"] == ["string", "null"]  # 3.1's way, not 3.0's "nullable"


def test_docs_page_loads_local_files_only_without_inline_script(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "http" not in html.replace("http-equiv", "")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy  # scripts: 'self' only
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert client.get(f"/api/v1/docs/swagger-ui/{asset}").status_code == 200
    assert client.get("/api/v1/docs/swagger-ui/index.html").status_code == 404
    assert client.get("/api/v1/docs/static/docs.js").status_code == 200


def test_admin_makes_a_token_shown_once_and_revokes_it(app, client, api_world):
    from tests.survey.respond_helpers import csrf_from

    org_id = api_world.world.org_id
    log_in(client, api_world.world.emails["admin"])
    page = client.get(f"/admin/{org_id}/api")
    assert page.status_code == 200 and "reader" in page.get_data(as_text=True)
    made = client.post(
        f"/admin/{org_id}/api/tokens",
        data={"csrf_token": csrf_from(page), "name": "BI export", "scope": "write"},
    )
    assert made.status_code == 200
    import re

    [text] = set(re.findall(r"ngs_[A-Za-z0-9_-]{43}", made.get_data(as_text=True)))
    assert text not in client.get(f"/admin/{org_id}/api").get_data(as_text=True)
    bearer = {"Authorization": f"Bearer {text}"}
    assert (
        client.post(_url(api_world, "/teams"), json={"name": "BI"}, headers=bearer).status_code
        == 201
    )
    with app.app_context():
        token = db.session.scalars(select(ApiToken).where(ApiToken.name == "BI export")).one()
        assert token.token_hash != text and token.created_by == api_world.world.emails["admin"]
        token_id = token.id
    unconfirmed = client.post(
        f"/admin/{org_id}/api/tokens/{token_id}/revoke", data={"csrf_token": csrf_from(page)}
    )
    assert unconfirmed.status_code == 400
    assert client.get(_url(api_world, "/teams"), headers=bearer).status_code == 200
    revoked = client.post(
        f"/admin/{org_id}/api/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_from(page), "confirm": "y"},
    )
    assert revoked.status_code == 303
    assert client.get(_url(api_world, "/teams"), headers=bearer).status_code == 401
    created, gone = _audit(app, "api_token_created"), _audit(app, "api_token_revoked")
    assert [e.actor for e in gone] == [api_world.world.emails["admin"]]
    assert any(e.target.startswith("API token 'BI export'") for e in created)
    # another organization's admin cannot see or revoke it
    stranger = app.test_client()
    log_in(stranger, api_world.world.emails["admin_other"])
    assert stranger.get(f"/admin/{org_id}/api").status_code == 404
