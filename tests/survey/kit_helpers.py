"""Helpers for the session kit tests: more released rounds for the access world's teams."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

from flask import Flask
from flask.testing import FlaskClient

from analytics.instrument_parser import load_default_instrument
from analytics.synthetic import simulate_responses
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import InstrumentVersion, Organization, SurveyRound, Team
from survey.services import releases, rounds
from survey.services.ingest import SubmittedRow, store_submitted
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from


def released_round(
    app: Flask, org_id: int, name: str, sizes: dict[int, int], *, seed: int, shift: float = 0.0
) -> int:
    """A closed round of the default instrument where each team (id) has ``sizes[id]``
    simulated submitted responses, released as the release rule allows; its id.

    ``shift`` moves every answer by that many scale points (clipped to 1..5), so a
    later round can differ clearly from an earlier one.
    """
    with app.app_context():
        org = db.session.get(Organization, org_id)
        teams = [db.session.get(Team, team_id) for team_id in sizes]
        instrument = load_default_instrument()
        row = db.session.scalars(
            db.select(InstrumentVersion).where(InstrumentVersion.key == instrument.id)
        ).first()
        survey_round = rounds.create_round(
            org, name, row, teams, status="closed", closes_at=utcnow()
        )
        by_name = {t.name: t.id for t in teams}
        sim = simulate_responses(
            instrument,
            n_respondents=sum(sizes.values()),
            teams={t.name: sizes[t.id] for t in teams},
            random_state=seed,
        )
        rows = [
            SubmittedRow(
                team_id=by_name[r["team"]],
                answers={i: min(5, max(1, round(int(r[i]) + shift))) for i in instrument.item_ids},
                context={q: r[q] for q in instrument.context_ids},
                submitted_at=utcnow(),
            )
            for _, r in sim.data.iterrows()
        ]
        store_submitted(survey_round, rows)
        releases.refresh(survey_round, utcnow())
        db.session.commit()
        return survey_round.id


def coach_of_team_one(app: Flask) -> tuple[AccessWorld, FlaskClient]:
    """The access world and a client logged in as Team One's coach."""
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    return world, client


def base_url(team_id: int, round_id: int) -> str:
    """The team dashboard's URL in a round."""
    return f"/coach/teams/{team_id}/rounds/{round_id}/"


def post_form(client: FlaskClient, page_url: str, action: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    """Load ``page_url`` for a CSRF token and post ``data`` to ``action``."""
    page = client.get(page_url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return client.post(action, data={"csrf_token": csrf_from(page), **data})


def add_commitment(
    client: FlaskClient,
    team_id: int,
    round_id: int,
    play: str,
    owner: str,
    due: date | str,
):  # type: ignore[no-untyped-def]
    """Post the dashboard's "Add a commitment" form."""
    base = base_url(team_id, round_id)
    due_text = due.isoformat() if isinstance(due, date) else due
    return post_form(
        client,
        base + "commitments",
        base + "commitments",
        {"play": play, "owner_role": owner, "due_on": due_text},
    )


def in_a_month() -> date:
    """A due date safely in the future."""
    return date.today() + timedelta(days=30)


def text_of(html: str) -> str:
    """The page's text with tags removed and spaces collapsed (for wording checks)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def round_of(app: Flask, round_id: int) -> SurveyRound:
    """The round (in an app context the caller holds)."""
    survey_round = db.session.get(SurveyRound, round_id)
    assert survey_round is not None
    return survey_round
