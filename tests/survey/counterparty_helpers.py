"""A small world for the counterparty tests: a team with a released self round and a coach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Counterparty, SurveyRound, Team
from survey.services import accounts, counterparties, counterparty_rounds, organizations, rounds
from survey.services.questionnaire import build_pages
from tests.survey.accounts_helpers import PASSWORD, build_access_world
from tests.survey.respond_helpers import csrf_from


@dataclass
class CounterpartyWorld:
    """Org A's Team One (8 members; 6 released in the closed self round R0), its coach,
    the counterparty "Globex" and, when opened, its round with a token per member."""

    org_id: int
    other_org_id: int
    team_id: int
    other_team_id: int
    self_round_id: int
    counterparty_id: int
    emails: dict[str, str]
    round_id: int = 0
    tokens: tuple[str, ...] = ()


def build_world(
    app: Flask, *, open_round: bool = True, mode: str = "confidential"
) -> CounterpartyWorld:
    """The access world, two more members in Team One, a counterparty and its round."""
    access = build_access_world(app)
    with app.app_context():
        team = db.session.get(Team, access.team_id)
        for index in range(6):
            organizations.add_participant(team, name=f"Extra {index}", email=f"x{index}@a.example")
        org = team.organization
        coach = accounts.find_user(access.emails["coach_team"])
        counterparty = counterparties.create_counterparty(
            org, name="Globex", kind="customer", deal_name="Renewal 2027", actor=coach
        )
        db.session.commit()
        world = CounterpartyWorld(
            org_id=access.org_id,
            other_org_id=access.other_org_id,
            team_id=access.team_id,
            other_team_id=access.other_team_id,
            self_round_id=access.report_round_id,
            counterparty_id=counterparty.id,
            emails=access.emails,
        )
    if open_round:
        open_rating_round(app, world, mode=mode)
    return world


def open_rating_round(app: Flask, world: CounterpartyWorld, mode: str = "confidential") -> None:
    """Open "Globex rating" for Team One through the service and keep every member's token."""
    with app.app_context():
        team = db.session.get(Team, world.team_id)
        counterparty = db.session.get(Counterparty, world.counterparty_id)
        now = utcnow()
        survey_round = counterparty_rounds.open_counterparty_round(
            team, counterparty, name="Globex rating", mode=mode,
            closes_at=now + timedelta(days=10), now=now, actor=None, threshold=5,
        )  # fmt: skip
        links = rounds.issue_links(
            survey_round, rounds.members_without_invitation(survey_round), now,
            timedelta(days=30), kind="new", actor=None,
        )  # fmt: skip
        db.session.commit()
        world.round_id = survey_round.id
        world.tokens = tuple(link.token for link in links)


def counterparty_pages():  # type: ignore[no-untyped-def]
    """The counterparty instrument's questionnaire pages."""
    return build_pages(counterparty_rounds._shipped())


def rate(app: Flask, token: str, value: str) -> None:
    """One member opens their link, rates every statement ``value`` and submits."""
    client = app.test_client()
    assert client.get(f"/s/{token}").status_code == 302
    landing = client.get("/survey")
    started = client.post("/survey/start", data={"csrf_token": csrf_from(landing), "consent": "y"})
    assert started.status_code == 302, started.get_data(as_text=True)
    for page in counterparty_pages():
        shown = client.get(f"/survey/page/{page.number}")
        values = {p.item.id: value for p in page.items}
        values.update({q.id: q.options[0] for q in page.context})
        posted = client.post(
            f"/survey/page/{page.number}",
            data={"csrf_token": csrf_from(shown), "nav": "next", **values},
        )
        assert posted.status_code == 302, posted.get_data(as_text=True)
    review = client.get("/survey/review")
    done = client.post("/survey/submit", data={"csrf_token": csrf_from(review)})
    assert done.status_code == 302, done.get_data(as_text=True)


def logged_in(app: Flask, email: str) -> FlaskClient:
    """A client logged in as ``email``."""
    from tests.survey.accounts_helpers import log_in

    client = app.test_client()
    log_in(client, email, PASSWORD)
    return client


def post_form(
    client: FlaskClient, page_url: str, action: str, data: dict[str, str]
) -> TestResponse:
    """Load ``page_url`` for its CSRF token and post ``data`` to ``action``."""
    page = client.get(page_url)
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(action, data={"csrf_token": csrf_from(page), **data})


def the_round(app: Flask, round_id: int) -> SurveyRound:
    """The round (detached from any session; read its columns only)."""
    with app.app_context():
        survey_round = db.session.get(SurveyRound, round_id)
        db.session.expunge(survey_round)
        return survey_round
