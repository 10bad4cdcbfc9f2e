"""A small two-organization world with every kind of principal, for access tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from analytics.instrument_parser import load_default_instrument
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.services import accounts, organizations, releases, rounds
from survey.services.instruments import store_instrument
from tests.survey.respond_helpers import csrf_from

PASSWORD = "correct horse battery staple"


@dataclass
class AccessWorld:
    """Ids of everything the access tests touch."""

    org_id: int
    other_org_id: int
    team_id: int
    other_team_id: int
    round_id: int
    invitation_id: int
    coach_id: int
    token: str
    report_round_id: int
    emails: dict[str, str] = field(default_factory=dict)
    participant_id: int = 0


def build_access_world(app: Flask) -> AccessWorld:
    """Org A (admin, coach of team 1, coach of team 2, a round) and org B (its admin)."""
    with app.app_context():
        instrument_row, _ = store_instrument(load_default_instrument())
        org, _ = organizations.get_or_create_organization("Org A")
        other, _ = organizations.get_or_create_organization("Org B")
        team = organizations.create_team(org, "Team One")
        team2 = organizations.create_team(org, "Team Two")
        organizations.create_team(other, "Elsewhere")
        person = organizations.add_participant(team, name="Pat", email="pat@a.example")
        organizations.add_participant(team, name="Sam", email="sam@a.example")
        survey_round = rounds.create_round(
            org,
            "R1",
            instrument_row,
            [team, team2],
            status="open",
            closes_at=utcnow() + timedelta(days=5),
        )
        invitation, token = rounds.issue_invitation(
            survey_round, person, utcnow(), timedelta(days=9)
        )
        report_round = _closed_round_with_answers(org, instrument_row, team, team2)
        emails = {
            "admin": "admin@a.example",
            "coach_team": "coach1@a.example",
            "coach_other": "coach2@a.example",
            "admin_other": "admin@b.example",
        }
        users = {key: accounts.create_user(email, PASSWORD) for key, email in emails.items()}
        accounts.set_role(users["admin"], org, "admin")
        accounts.set_role(users["coach_team"], org, "coach")
        accounts.set_role(users["coach_other"], org, "coach")
        accounts.set_role(users["admin_other"], other, "admin")
        accounts.assign_coach(users["coach_team"], team)
        accounts.assign_coach(users["coach_other"], team2)
        db.session.commit()
        return AccessWorld(
            org.id,
            other.id,
            team.id,
            team2.id,
            survey_round.id,
            invitation.id,
            users["coach_team"].id,
            token,
            report_round.id,
            emails,
            participant_id=person.id,
        )


def _closed_round_with_answers(org, instrument_row, team, team2):  # type: ignore[no-untyped-def]
    """A closed round where Team One has 6 submitted responses and Team Two 2."""
    from analytics.synthetic import simulate_responses
    from survey.services.ingest import SubmittedRow, store_submitted

    survey_round = rounds.create_round(
        org, "R0", instrument_row, [team, team2], status="closed", closes_at=utcnow()
    )
    instrument = load_default_instrument()
    sim = simulate_responses(
        instrument, n_respondents=8, teams={team.name: 6, team2.name: 2}, random_state=1
    )
    ids = {team.name: team.id, team2.name: team2.id}
    rows = [
        SubmittedRow(
            team_id=ids[row["team"]],
            answers={i: int(row[i]) for i in instrument.item_ids},
            context={q: row[q] for q in instrument.context_ids},
            submitted_at=utcnow(),
        )
        for _, row in sim.data.iterrows()
    ]
    store_submitted(survey_round, rows)
    releases.refresh(survey_round, utcnow())
    return survey_round


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    """Log in through the form (with its CSRF token when CSRF is on)."""
    page = client.get("/login")
    data = {"email": email, "password": password}
    if 'name="csrf_token"' in page.get_data(as_text=True):
        data["csrf_token"] = csrf_from(page)
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
