"""Members are edited and moved between teams in the browser, one by one or from a CSV file."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import AuditEvent, Invitation, Organization, Participant, Response, Team
from survey.services import organizations, rounds
from survey.services.instruments import find_instrument
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import answer_everything, csrf_from, open_and_consent, submit


def _admin(app: Flask, client: FlaskClient) -> tuple[AccessWorld, str]:
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    return world, csrf_from(client.get(f"/admin/{world.org_id}/"))


def _person(app: Flask, email: str) -> Participant:
    with app.app_context():
        person = db.session.scalar(select(Participant).filter_by(email=email))
        db.session.expunge(person)
        return person


def _round_for(app: Flask, world: AccessWorld, name: str, *, team_ids: list[int], status: str):  # type: ignore[no-untyped-def]
    """A round of the given teams with a link for Pat and Sam; their tokens by email."""
    with app.app_context():
        org = db.session.get(Organization, world.org_id)
        teams = [db.session.get(Team, team_id) for team_id in team_ids]
        survey_round = rounds.create_round(
            org, name, find_instrument("negotiation-blockers"), teams, status=status,
            opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=9),
        )  # fmt: skip
        tokens = {}
        for email in ("pat@a.example", "sam@a.example"):
            person = db.session.scalar(select(Participant).filter_by(email=email))
            _, tokens[email] = rounds.issue_invitation(
                survey_round, person, utcnow(), timedelta(days=9)
            )
        db.session.commit()
        return survey_round.id, tokens


def test_edit_a_members_name_and_email(app: Flask, client: FlaskClient) -> None:
    world, token = _admin(app, client)
    url = f"/admin/{world.org_id}/participants/{world.participant_id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="Pat"' in page and "Move to another team" in page
    assert "Team Two" in page and '<option value="1">Team One' not in page
    team = client.get(f"/admin/{world.org_id}/teams/{world.team_id}").get_data(as_text=True)
    assert url in team

    clash = client.post(
        f"{url}/edit", data={"csrf_token": token, "name": "Pat", "email": "SAM@a.example"}
    )
    assert clash.status_code == 400
    assert "sam@a.example is already a member" in clash.get_data(as_text=True)
    empty = client.post(f"{url}/edit", data={"csrf_token": token, "name": "", "email": ""})
    assert empty.status_code == 400 and "Give a name, an email, or both" in empty.get_data(
        as_text=True
    )
    saved = client.post(
        f"{url}/edit", data={"csrf_token": token, "name": "Patricia", "email": "Patricia@a.example"}
    )
    assert saved.status_code == 303
    assert "Changed the name and email" in client.get(url).get_data(as_text=True)
    person = _person(app, "patricia@a.example")
    assert person.name == "Patricia"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="member_edited"))
        assert event.target == f"member #{person.id}" and event.detail == "name and email changed"
        assert "Patricia" not in event.target + event.detail
    erased_or_foreign = f"/admin/{world.other_org_id}/participants/{world.participant_id}"
    assert client.get(erased_or_foreign).status_code in (403, 404)


def test_moving_keeps_submitted_answers_with_their_team(app: Flask, client: FlaskClient) -> None:
    world, token = _admin(app, client)
    # "Both" includes both teams; "Solo" only Team One; "Later" is a draft of Team One.
    both_id, both = _round_for(app, world, "Both", team_ids=[world.team_id, world.other_team_id],
                               status="open")  # fmt: skip
    solo_id, solo = _round_for(app, world, "Solo", team_ids=[world.team_id], status="open")
    later_id, _ = _round_for(app, world, "Later", team_ids=[world.team_id], status="draft")
    pat = app.test_client()
    answer_everything(pat, solo["pat@a.example"])
    assert submit(pat).status_code == 302
    open_and_consent(app.test_client(), both["pat@a.example"])  # a draft in "Both"

    url = f"/admin/{world.org_id}/participants/{world.participant_id}"
    same = client.post(f"{url}/move", data={"csrf_token": token, "team": str(world.team_id)})
    assert same.status_code == 400
    moved = client.post(f"{url}/move", data={"csrf_token": token, "team": str(world.other_team_id)})
    assert moved.status_code == 303
    message = client.get(url).get_data(as_text=True)
    assert "Moved from Team One to Team Two" in message
    assert "Team Two is not part of Solo, Later" in message

    with app.app_context():
        person = db.session.get(Participant, world.participant_id)
        assert person.team_id == world.other_team_id
        [submitted] = db.session.scalars(
            select(Response).filter_by(round_id=solo_id, status="submitted")
        ).all()
        assert submitted.team_id == world.team_id, "answered in Team One, counted there"
        [draft] = db.session.scalars(select(Response).filter_by(round_id=both_id)).all()
        assert draft.team_id == world.other_team_id, "an unsubmitted draft follows the member"
        later = select(Invitation).filter_by(round_id=later_id, participant_id=person.id)
        assert db.session.scalar(later) is None, "the draft round's link is deleted"
        event = db.session.scalar(select(AuditEvent).filter_by(action="member_moved"))
        assert event.target == f"member #{person.id}"
        assert event.detail == "Team One -> Team Two; links ended in Solo, Later"
    # The link of "Both" still works; "Solo" was answered; moving Sam ends his "Solo" link.
    assert app.test_client().get(f"/s/{both['pat@a.example']}").status_code == 302
    sam = _person(app, "sam@a.example")
    client.post(
        f"/admin/{world.org_id}/participants/{sam.id}/move",
        data={"csrf_token": token, "team": str(world.other_team_id)},
    )
    assert app.test_client().get(f"/s/{solo['sam@a.example']}").status_code == 410
    solo_page = client.get(f"/admin/{world.org_id}/rounds/{solo_id}").get_data(as_text=True)
    assert "Sam" not in solo_page, "a member who left the round's teams is not reminded"
    refused = client.post(
        f"/admin/{world.org_id}/rounds/{solo_id}/reissue.csv",
        data={"csrf_token": token, "confirm": "y"},
    )
    assert refused.status_code == 200 and "Sam" not in refused.get_data(as_text=True)


def test_moving_into_an_archived_team_is_refused(app: Flask, client: FlaskClient) -> None:
    world, token = _admin(app, client)
    with app.app_context():
        db.session.get(Team, world.other_team_id).archived_at = utcnow()
        db.session.commit()
    url = f"/admin/{world.org_id}/participants/{world.participant_id}"
    assert "no other active team" in client.get(url).get_data(as_text=True)
    refused = client.post(
        f"{url}/move", data={"csrf_token": token, "team": str(world.other_team_id)}
    )
    assert refused.status_code == 400
    assert _person(app, "pat@a.example").team_id == world.team_id


def _upload(client: FlaskClient, org_id: int, content: bytes, **extra: str):  # type: ignore[no-untyped-def]
    url = f"/admin/{org_id}/members/upload"
    data = {"csrf_token": csrf_from(client.get(url)), "file": (io.BytesIO(content), "m.csv")}
    data.update(extra)
    return client.post(url, data=data, content_type="multipart/form-data")


def _confirm(client: FlaskClient, org_id: int, preview) -> int:  # type: ignore[no-untyped-def]
    text = preview.get_data(as_text=True)
    payload = re.search(r'name="payload" type="hidden" value="([^"]+)"', text).group(1)
    move = re.search(r'name="move" type="hidden" value="([^"]*)"', text).group(1)
    saved = client.post(
        f"/admin/{org_id}/members/upload/confirm",
        data={"csrf_token": csrf_from(preview), "payload": payload, "move": move},
    )
    return saved.status_code


def test_a_csv_row_moves_a_member_when_it_says_so(app: Flask, client: FlaskClient) -> None:
    world, _ = _admin(app, client)
    refused = _upload(client, world.org_id, b"name,email,team\nPat,pat@a.example,Team Two\n")
    assert refused.status_code == 400
    assert "already a member of Team One; to move them" in refused.get_data(as_text=True)

    content = (
        b"name,email,team,move\n"
        b"Pat,pat@a.example,Team Two,yes\n"
        b"Sam,sam@a.example,Team One,yes\n"
        b"Nia,nia@a.example,Team One,\n"
    )
    preview = _upload(client, world.org_id, content)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "moves from Team One" in text and "already in Team One: nothing changes" in text
    assert "Save 1 members and move 1" in text
    assert _confirm(client, world.org_id, preview) == 303
    assert _person(app, "pat@a.example").team_id == world.other_team_id
    assert _person(app, "sam@a.example").team_id == world.team_id
    assert _person(app, "nia@a.example").team_id == world.team_id

    by_option = _upload(
        client, world.org_id, b"name,email,team\nPat,pat@a.example,Team One\n", move="y"
    )
    assert by_option.status_code == 200 and "moves from Team Two" in by_option.get_data(
        as_text=True
    )
    assert _confirm(client, world.org_id, by_option) == 303
    assert _person(app, "pat@a.example").team_id == world.team_id
    with app.app_context():
        moves = db.session.scalars(select(AuditEvent).filter_by(action="member_moved")).all()
        assert len(moves) == 2
        assert (
            organizations.member_teams(db.session.get(Organization, world.org_id))["pat@a.example"]
            == "Team One"
        )
