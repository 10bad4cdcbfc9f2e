"""An admin runs a round from the browser: team, members, round, links, completion, close."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Participant, Team
from tests.survey.accounts_helpers import build_access_world, log_in
from tests.survey.respond_helpers import answer_everything, csrf_from, submit


def _admin(app, client):  # type: ignore[no-untyped-def]
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    return world


def _token(client, url):  # type: ignore[no-untyped-def]
    return csrf_from(client.get(url))


def _upload(client, org_id, content: bytes):  # type: ignore[no-untyped-def]
    url = f"/admin/{org_id}/members/upload"
    return client.post(
        url,
        data={"csrf_token": _token(client, url), "file": (io.BytesIO(content), "members.csv")},
        content_type="multipart/form-data",
    )


def test_admin_runs_a_round_end_to_end(app, client):
    world = _admin(app, client)
    org = world.org_id
    overview = f"/admin/{org}/"
    created = client.post(
        f"/admin/{org}/teams", data={"csrf_token": _token(client, overview), "name": "Bid Team"}
    )
    assert created.status_code == 303

    preview = _upload(
        client, org, b"name,email,team\nAda,ada@a.example,Bid Team\nBo,bo@a.example,Bid Team\n"
    )
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Save 2 members" in text
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Participant).filter_by(email="ada@a.example")
            )
            == 0
        )
    payload = re.search(r'name="payload" type="hidden" value="([^"]+)"', text).group(1)
    saved = client.post(
        f"/admin/{org}/members/upload/confirm",
        data={"csrf_token": csrf_from(preview), "payload": payload},
    )
    assert saved.status_code == 303
    with app.app_context():
        bid_team = db.session.scalar(select(Team).filter_by(name="Bid Team"))
        assert (
            db.session.scalar(
                select(func.count()).select_from(Participant).filter_by(team_id=bid_team.id)
            )
            == 2
        )
        bid_team_id = bid_team.id

    new_round = f"/admin/{org}/rounds/new"
    page = client.get(new_round).get_data(as_text=True)
    instrument_id = re.search(r'<option[^>]*value="(\d+)"', page).group(1)
    response = client.post(
        new_round,
        data={
            "csrf_token": _token(client, new_round),
            "name": "Autumn",
            "instrument": instrument_id,
            "teams": [str(bid_team_id)],
            "closes_on": (date.today() + timedelta(days=14)).isoformat(),
            "mode": "anonymous",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    round_url = response.headers["Location"]
    round_id = int(round_url.rstrip("/").split("/")[-1])
    token = _token(client, round_url)
    assert (
        client.post(f"/admin/{org}/rounds/{round_id}/open", data={"csrf_token": token}).status_code
        == 303
    )

    links = client.post(f"/admin/{org}/rounds/{round_id}/links.csv", data={"csrf_token": token})
    assert links.status_code == 200 and links.mimetype == "text/csv"
    assert links.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(links.get_data(as_text=True))))
    assert {r["participant"] for r in rows} == {"Ada", "Bo"} and all(
        r["team"] == "Bid Team" for r in rows
    )
    assert "0 of 2 submitted" in client.get(round_url).get_data(as_text=True)

    respondent = app.test_client()
    answer_everything(respondent, rows[0]["link"].rsplit("/", 1)[-1])
    assert submit(respondent).status_code == 302
    page = client.get(round_url).get_data(as_text=True)
    assert "1 of 2 submitted" in page
    # An anonymous round: counts only, never who has or has not answered.
    assert "Not answered yet" not in page and f"<td>{rows[1]['participant']}</td>" not in page
    assert "who has or has not answered is never shown" in page

    assert (
        client.post(
            f"/admin/{org}/rounds/{round_id}/close", data={"csrf_token": token, "confirm": "y"}
        ).status_code
        == 303
    )
    late = app.test_client().get(f"/s/{rows[1]['link'].rsplit('/', 1)[-1]}")
    assert late.status_code == 410
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {
        "team_created",
        "members_added",
        "round_created",
        "round_opened",
        "invitations_issued",
        "round_closed",
    } <= actions
    audit = client.get(f"/admin/{org}/audit?action=round_closed").get_data(as_text=True)
    assert "round_closed" in audit and "Autumn" in audit and "round_opened</td>" not in audit


def test_bad_csv_rows_are_reported_and_nothing_is_saved(app, client):
    world = _admin(app, client)
    cases = {
        b"name,team\nA,Team One\n": "email",
        b"name,email,team\nA,a@x.example,Team One\nB,a@x.example,Team One\n": "a@x.example",
        b"name,email,team\nA,a@x.example,Nowhere\n": "Nowhere",
        b"name,email,team\nA,\xff\xfe@x.example,Team One\n": "UTF-8",
        b"name,email,team\n" + b"A,a@x.example,Team One\n" * 500_000: "limit",
    }
    for content, needle in cases.items():
        response = _upload(client, world.org_id, content)
        assert response.status_code == 400, needle
        text = response.get_data(as_text=True)
        assert "Nothing was saved" in text and needle in text, needle
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 2


def test_admin_assigns_a_coach_who_then_sees_the_team(app, client):
    world = _admin(app, client)
    team_url = f"/admin/{world.org_id}/teams/{world.other_team_id}"
    response = client.post(
        f"{team_url}/coaches",
        data={"csrf_token": _token(client, team_url), "coach": str(world.coach_id)},
    )
    assert response.status_code == 303
    coach = app.test_client()
    log_in(coach, world.emails["coach_team"])
    assert "Team Two" in coach.get("/coach/").get_data(as_text=True)


def test_rename_and_archive_a_team(app, client):
    world = _admin(app, client)
    team_url = f"/admin/{world.org_id}/teams/{world.team_id}"
    token = _token(client, team_url)
    clash = client.post(f"{team_url}/rename", data={"csrf_token": token, "name": "Team Two"})
    assert clash.status_code == 400 and "already a team" in clash.get_data(as_text=True)
    assert (
        client.post(f"{team_url}/rename", data={"csrf_token": token, "name": "Renamed"}).status_code
        == 303
    )
    assert client.post(f"{team_url}/archive", data={"csrf_token": token}).status_code == 303
    assert "archived" in client.get(f"/admin/{world.org_id}/").get_data(as_text=True)


def test_revoke_and_reissue_one_invitation(app, client):
    world = _admin(app, client)
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    token = _token(client, round_url)
    base = f"{round_url}/invitations/{world.invitation_id}"
    reissued = client.post(f"{base}/reissue", data={"csrf_token": token})
    assert reissued.status_code == 200
    new_link = re.search(r"http://localhost/s/([\w-]+)", reissued.get_data(as_text=True)).group(1)
    assert app.test_client().get(f"/s/{world.token}").status_code == 404
    assert app.test_client().get(f"/s/{new_link}").status_code == 302
    revoked = client.post(f"{base}/revoke", data={"csrf_token": token, "confirm": "y"})
    assert revoked.status_code == 303
    assert app.test_client().get(f"/s/{new_link}").status_code == 410


def test_round_dates_are_validated(app, client):
    world = _admin(app, client)
    url = f"/admin/{world.org_id}/rounds/new"
    response = client.post(
        url,
        data={
            "csrf_token": _token(client, url),
            "name": "Past",
            "instrument": "1",
            "teams": [str(world.team_id)],
            "closes_on": "2001-01-01",
            "mode": "confidential",
        },
    )
    assert (
        response.status_code == 400
        and "closing date must be in the future" in response.get_data(as_text=True)
    )
