"""A draft round can be renamed, re-scoped, re-dated and deleted; an opened round cannot."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from analytics.instrument_parser import load_default_instrument, parse_instrument
from survey.extensions import db
from survey.models import AuditEvent, Invitation, SurveyRound
from survey.services.instruments import store_instrument
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from


def _second_instrument(app: Flask) -> int:
    with app.app_context():
        definition = dict(load_default_instrument().definition)
        row, _ = store_instrument(parse_instrument({**definition, "version": 2}, source="v2"))
        db.session.commit()
        return row.id


def _draft(app: Flask, client: FlaskClient) -> tuple[AccessWorld, str, str, int]:
    """The access world, the admin logged in, and a draft round for Team One with links."""
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    new = f"/admin/{world.org_id}/rounds/new"
    token = csrf_from(client.get(new))
    created = client.post(
        new,
        data={
            "csrf_token": token,
            "name": "Spring",
            "instrument": "1",
            "teams": [str(world.team_id)],
            "closes_on": (date.today() + timedelta(days=20)).isoformat(),
            "mode": "confidential",
        },
    )
    assert created.status_code == 303, created.get_data(as_text=True)
    url = created.headers["Location"]
    links = client.post(f"{url}/links.csv", data={"csrf_token": token})
    assert links.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(links.get_data(as_text=True))))) == 2
    return world, url, token, int(url.rsplit("/", 1)[1])


def _edit(client: FlaskClient, url: str, token: str, **changes: object):  # type: ignore[no-untyped-def]
    page = client.get(f"{url}/edit")
    assert page.status_code == 200
    data = {
        "csrf_token": token,
        "name": "Spring",
        "instrument": "1",
        "closes_on": (date.today() + timedelta(days=20)).isoformat(),
        "mode": "confidential",
        **changes,
    }
    return client.post(f"{url}/edit", data=data)


def test_a_draft_is_changed_and_links_of_removed_teams_go(app: Flask, client: FlaskClient) -> None:
    world, url, token, round_id = _draft(app, client)
    v2 = _second_instrument(app)
    page = client.get(f"{url}/edit").get_data(as_text=True)
    assert 'value="Spring"' in page and "Save changes" in page
    later = date.today() + timedelta(days=30)
    changed = _edit(
        client,
        url,
        token,
        name="Spring (revised)",
        instrument=str(v2),
        teams=[str(world.other_team_id)],
        closes_on=later.isoformat(),
        mode="anonymous",
    )
    assert changed.status_code == 303, changed.get_data(as_text=True)
    shown = client.get(url).get_data(as_text=True)
    assert (
        "renamed from &#39;Spring&#39;" in shown and "2 links of teams taken out deleted" in shown
    )
    with app.app_context():
        survey_round = db.session.get(SurveyRound, round_id)
        assert survey_round.name == "Spring (revised)" and survey_round.mode == "anonymous"
        assert survey_round.instrument_id == v2
        assert [t.id for t in survey_round.teams] == [world.other_team_id]
        assert f"end of {later.isoformat()}" in shown
        assert not db.session.scalars(select(Invitation).filter_by(round_id=round_id)).all()
        event = db.session.scalar(select(AuditEvent).filter_by(action="round_edited"))
        assert event.target == "Spring (revised)" and "teams: Team Two" in event.detail


def test_edit_refusals_say_why(app: Flask, client: FlaskClient) -> None:
    world, url, token, round_id = _draft(app, client)
    clash = _edit(client, url, token, name="R1", teams=[str(world.team_id)])
    assert clash.status_code == 400
    assert "There is already a round called &#39;R1&#39;" in clash.get_data(as_text=True)
    past = _edit(client, url, token, teams=[str(world.team_id)], closes_on="2001-01-01")
    assert past.status_code == 400 and "must be in the future" in past.get_data(as_text=True)
    no_team = _edit(client, url, token)
    assert no_team.status_code == 400 and "Choose at least one team" in no_team.get_data(
        as_text=True
    )

    assert client.post(f"{url}/open", data={"csrf_token": token}).status_code == 303
    for response in (
        client.get(f"{url}/edit"),
        client.post(f"{url}/edit", data={"csrf_token": token, "name": "Late"}),
    ):
        assert response.status_code == 409
        assert "can no longer be changed" in response.get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "Delete draft round" not in page and f"{url}/edit" not in page
    deleted = client.post(f"{url}/delete", data={"csrf_token": token, "confirm": "y"})
    assert deleted.status_code == 409
    assert "only a draft round can be deleted" in deleted.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(SurveyRound, round_id).name == "Spring"


def test_deleting_a_draft_needs_the_box_and_removes_its_links(
    app: Flask, client: FlaskClient
) -> None:
    world, url, token, round_id = _draft(app, client)
    page = client.get(url).get_data(as_text=True)
    assert "Delete draft round" in page and "A links CSV is shown only once" in page
    refused = client.post(f"{url}/delete", data={"csrf_token": token})
    assert refused.status_code == 400 and "to delete the round" in refused.get_data(as_text=True)
    deleted = client.post(f"{url}/delete", data={"csrf_token": token, "confirm": "y"})
    assert deleted.status_code == 303
    assert deleted.headers["Location"].endswith(f"/admin/{world.org_id}/")
    assert client.get(url).status_code == 404
    with app.app_context():
        assert db.session.get(SurveyRound, round_id) is None
        count = select(func.count()).select_from(Invitation).filter_by(round_id=round_id)
        assert db.session.scalar(count) == 0
        event = db.session.scalar(select(AuditEvent).filter_by(action="round_deleted"))
        assert event.target == "Spring" and "2 links deleted" in event.detail
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"round_created", "invitations_issued"} <= actions
