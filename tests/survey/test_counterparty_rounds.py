"""Counterparty rounds: opening one, the instrument rule, the respondent's pages, releases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from analytics.instrument_parser import load_default_instrument
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Counterparty, Organization, SurveyRound, Team, TeamRelease
from survey.models.counterparty import COUNTERPARTY_INSTRUMENT_KEY
from survey.services import counterparty_rounds, rounds, team_reports
from survey.services.instruments import store_instrument
from tests.survey.counterparty_helpers import build_world, logged_in, post_form, rate
from tests.survey.respond_helpers import csrf_from


def _round_data(world, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    closes = (utcnow() + timedelta(days=7)).date().isoformat()
    data = {
        "counterparty": str(world.counterparty_id),
        "name": "Globex in spring",
        "closes_on": closes,
        "mode": "anonymous",
    }
    data.update(extra)
    return data


def test_a_coach_opens_a_counterparty_round_and_gets_every_members_link_once(app):
    world = build_world(app, open_round=False)
    client = logged_in(app, world.emails["coach_team"])
    page = f"/coach/teams/{world.team_id}/counterparties/"
    response = post_form(
        client, page, f"/coach/teams/{world.team_id}/counterparty-rounds", _round_data(world)
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text
    assert "Globex in spring is open" in text and "shown only once" in text
    assert text.count("http://localhost/s/") == 8
    with app.app_context():
        survey_round = db.session.scalar(select(SurveyRound).filter_by(name="Globex in spring"))
        assert survey_round.counterparty_id == world.counterparty_id
        assert survey_round.instrument.key == COUNTERPARTY_INSTRUMENT_KEY
        assert (survey_round.status, survey_round.mode) == ("open", "anonymous")
        assert [t.id for t in survey_round.teams] == [world.team_id]
    listing = client.get(page).get_data(as_text=True)
    assert "Globex in spring" in listing and "0 of 8" in listing


def test_opening_refuses_bad_plans_with_a_message(app):
    world = build_world(app)  # "Globex rating" exists already
    client = logged_in(app, world.emails["coach_team"])
    page = f"/coach/teams/{world.team_id}/counterparties/"
    action = f"/coach/teams/{world.team_id}/counterparty-rounds"
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    cases = [
        (_round_data(world, name="Globex rating"), 400, "There is already a round called"),
        (_round_data(world, closes_on=yesterday), 400, "closing date must be in the future"),
        (_round_data(world, name=""), 400, "Give the round a name."),
        (_round_data(world, counterparty="999999"), 400, "Not a valid choice"),
        (_round_data(world, mode="public"), 400, "Not a valid choice"),
    ]
    for data, status, message in cases:
        response = post_form(client, page, action, data)
        assert response.status_code == status, data
        assert message in response.get_data(as_text=True), data
    small = logged_in(app, world.emails["admin"])
    response = post_form(
        small, page, f"/coach/teams/{world.other_team_id}/counterparty-rounds", _round_data(world)
    )
    assert response.status_code == 400
    assert "Team Two has 0 members; a rating is shown only once 5 have answered" in (
        response.get_data(as_text=True)
    )
    with app.app_context():
        assert db.session.scalar(select(SurveyRound).filter_by(name="Globex in spring")) is None


def test_only_counterparty_rounds_use_the_counterparty_instrument(app):
    world = build_world(app)
    with app.app_context():
        org = db.session.get(Organization, world.org_id)
        team = db.session.get(Team, world.team_id)
        counterparty_row = counterparty_rounds.counterparty_instrument()
        default_row, _ = store_instrument(load_default_instrument())
        plan = dict(
            mode="confidential", opens_at=None, closes_at=utcnow() + timedelta(days=3),
            now=utcnow(), actor=None,
        )  # fmt: skip
        with pytest.raises(rounds.InvalidRoundPlan, match="rates a counterparty: open it from"):
            rounds.create_draft(org, "Plain", counterparty_row, [team], **plan)
        globex = db.session.get(Counterparty, world.counterparty_id)
        with pytest.raises(rounds.InvalidRoundPlan, match="uses the instrument counterparty"):
            rounds.create_draft(org, "Odd", default_row, [team], counterparty=globex, **plan)
        draft = rounds.create_draft(org, "Plain", default_row, [team], **plan)
        with pytest.raises(rounds.InvalidRoundPlan, match="rates a counterparty"):
            rounds.update_draft(
                draft, name="Plain", instrument=counterparty_row, teams=[team], **plan
            )
        db.session.rollback()
        counterparty_id = counterparty_row.id
    admin = logged_in(app, world.emails["admin"])
    form = admin.get(f"/admin/{world.org_id}/rounds/new")
    assert "negotiation-blockers" in form.get_data(as_text=True)
    assert "counterparty-blockers" not in form.get_data(as_text=True)
    posted = admin.post(
        f"/admin/{world.org_id}/rounds/new",
        data={
            "csrf_token": csrf_from(form),
            "name": "Sneaky",
            "instrument": str(counterparty_id),
            "teams": str(world.team_id),
            "closes_on": (utcnow() + timedelta(days=5)).date().isoformat(),
            "mode": "confidential",
        },
    )
    assert posted.status_code == 400 and "Not a valid choice" in posted.get_data(as_text=True)


def test_the_respondent_is_asked_about_the_counterparty(app):
    world = build_world(app)
    client = app.test_client()
    assert client.get(f"/s/{world.tokens[0]}").status_code == 302
    landing = client.get("/survey").get_data(as_text=True)
    assert "How does Globex negotiate?" in landing
    assert "How the other side negotiates" in landing  # the counterparty instrument's title


def test_ratings_are_released_like_any_answers_and_never_run_the_team_analysis(app, runner):
    world = build_world(app)
    for token in world.tokens[:4]:
        rate(app, token, "4")
    with app.app_context():
        assert (
            db.session.scalars(select(TeamRelease).filter_by(round_id=world.round_id)).all() == []
        )
    rate(app, world.tokens[4], "4")
    with app.app_context():
        [release] = db.session.scalars(select(TeamRelease).filter_by(round_id=world.round_id))
        assert (release.team_id, release.n, release.reason) == (world.team_id, 5, "first")
        survey_round = db.session.get(SurveyRound, world.round_id)
        with pytest.raises(team_reports.CounterpartyRoundError, match="rates a counterparty"):
            team_reports.round_analysis(survey_round, 5)
    coach = logged_in(app, world.emails["coach_team"])
    base = f"/coach/teams/{world.team_id}/rounds/{world.round_id}/"
    redirect = coach.get(base)
    assert redirect.status_code == 302 and redirect.headers["Location"].endswith(base + "gap/")
    assert coach.get(base + "report.pdf").status_code == 404
    assert coach.get(base + "charts/blockers.svg").status_code == 404
    result = runner.invoke(args=["analyze", "--round", "Globex rating", "--json", "/dev/null"])
    assert result.exit_code != 0 and "rates a counterparty" in result.output


def test_a_counterparty_with_rounds_cannot_be_deleted_in_the_database_either(app):
    world = build_world(app)
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(delete(Counterparty).where(Counterparty.id == world.counterparty_id))
            db.session.flush()
        db.session.rollback()
        # Deleting the whole organization still removes both (one cascading statement).
        db.session.execute(delete(Organization).where(Organization.id == world.org_id))
        db.session.commit()
        assert db.session.get(SurveyRound, world.round_id) is None
        assert db.session.get(Counterparty, world.counterparty_id) is None
