"""Destructive admin actions need "I understand"; a draft round's page says what is true."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import ContextAnswer, SurveyRound
from survey.services import rounds
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import PAGES, csrf_from, open_and_consent, post_page


def admin_world(app: Flask, client: FlaskClient) -> tuple[AccessWorld, str, str]:
    """The access world with the admin logged in; the round's URL and a CSRF token."""
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    return world, url, csrf_from(client.get(url))


def status_of(app: Flask, round_id: int) -> str:
    with app.app_context():
        return db.session.get(SurveyRound, round_id).status


def test_close_round_needs_the_box_ticked(app: Flask, client: FlaskClient) -> None:
    world, url, token = admin_world(app, client)
    page = client.get(url).get_data(as_text=True)
    assert 'name="confirm"' in page and "nobody can answer once the round is closed" in page
    refused = client.post(f"{url}/close", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "Nothing was changed: tick \u201cI understand\u201d to close the round" in (
        refused.get_data(as_text=True)
    )
    assert status_of(app, world.round_id) == "open"
    closed = client.post(f"{url}/close", data={"csrf_token": token, "confirm": "y"})
    assert closed.status_code == 303
    assert status_of(app, world.round_id) == "closed"


def test_revoke_needs_the_box_ticked(app: Flask, client: FlaskClient) -> None:
    world, url, token = admin_world(app, client)
    revoke = f"{url}/invitations/{world.invitation_id}/revoke"
    refused = client.post(revoke, data={"csrf_token": token})
    assert refused.status_code == 400 and "to withdraw the link" in refused.get_data(as_text=True)
    assert app.test_client().get(f"/s/{world.token}").status_code == 302, "the link still works"
    assert client.post(revoke, data={"csrf_token": token, "confirm": "y"}).status_code == 303
    assert app.test_client().get(f"/s/{world.token}").status_code == 410


def test_reissue_every_link_needs_the_box_and_an_open_round(
    app: Flask, client: FlaskClient
) -> None:
    world, url, token = admin_world(app, client)
    refused = client.post(f"{url}/reissue.csv", data={"csrf_token": token})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "to re-issue every unanswered link" in refused.get_data(as_text=True)
    assert app.test_client().get(f"/s/{world.token}").status_code == 302, "old link untouched"

    links = client.post(f"{url}/reissue.csv", data={"csrf_token": token, "confirm": "y"})
    assert links.status_code == 200 and links.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(links.get_data(as_text=True))))
    assert {r["participant"] for r in rows} == {"Pat", "Sam"}

    client.post(f"{url}/close", data={"csrf_token": token, "confirm": "y"})
    page = client.get(url).get_data(as_text=True)
    assert "Re-issue every unanswered link" not in page and ">New link<" not in page
    closed = client.post(f"{url}/reissue.csv", data={"csrf_token": token, "confirm": "y"})
    assert closed.status_code == 409 and closed.mimetype == "text/html"
    assert "This round is closed" in closed.get_data(as_text=True)
    # The single "New link" is refused the same way.
    one = client.post(
        f"{url}/invitations/{world.invitation_id}/reissue", data={"csrf_token": token}
    )
    assert one.status_code == 409 and "This round is closed" in one.get_data(as_text=True)


def test_draft_round_page_says_nobody_is_invited_and_offers_no_extend(
    app: Flask, client: FlaskClient
) -> None:
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.round_id)
        draft = rounds.create_round(
            survey_round.organization,
            "Draft",
            survey_round.instrument,
            survey_round.teams,
            closes_at=utcnow() + timedelta(days=9),
        )
        db.session.commit()
        url = f"/admin/{world.org_id}/rounds/{draft.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Nobody has been invited yet." in page
    assert "Everyone invited has answered" not in page
    assert "Extend" not in page and "Open round" in page
    extend = client.post(
        f"{url}/extend", data={"csrf_token": csrf_from(client.get(url)), "closes_on": "2031-01-01"}
    )
    assert extend.status_code == 409
    assert "A draft round has not opened yet" in extend.get_data(as_text=True)


def test_assigning_a_coach_says_so(app: Flask, client: FlaskClient) -> None:
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    team_url = f"/admin/{world.org_id}/teams/{world.other_team_id}"
    token = csrf_from(client.get(team_url))
    data = {"csrf_token": token, "coach": str(world.coach_id)}
    first = client.post(f"{team_url}/coaches", data=data, follow_redirects=True)
    assert "coach1@a.example now sees Team Two" in first.get_data(as_text=True)
    again = client.post(f"{team_url}/coaches", data=data, follow_redirects=True)
    assert "coach1@a.example already sees Team Two." in again.get_data(as_text=True)
    removed = client.post(
        f"{team_url}/coaches/{world.coach_id}/remove",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "coach1@a.example no longer sees Team Two." in removed.get_data(as_text=True)


def test_context_options_are_shown_capitalised_and_stored_as_written(
    app: Flask, make_world
) -> None:  # type: ignore[no-untyped-def]
    world = make_world(members=1)
    client = app.test_client()
    open_and_consent(client, world.tokens[0])
    page = next(p for p in PAGES if p.context)
    for earlier in PAGES[: page.number - 1]:
        values = {e.item.id: "3" for e in earlier.items}
        values.update({q.id: q.options[0] for q in earlier.context})
        assert post_page(client, earlier.number, values).status_code == 302
    shown = client.get(f"/survey/page/{page.number}").get_data(as_text=True)
    question = page.context[0]
    assert question.options[0] == "sales"
    assert ">Sales</span>" in shown and ">sales<" not in shown
    values = {e.item.id: "3" for e in page.items}
    values.update({q.id: q.options[0] for q in page.context})
    assert post_page(client, page.number, values).status_code == 302
    review = client.get("/survey/review").get_data(as_text=True)
    assert "<dd>Sales</dd>" in review
    with app.app_context():
        stored = db.session.scalars(select(ContextAnswer)).all()
        assert {a.question_id: a.value for a in stored}[question.id] == "sales"
