"""Demo data: one organization, teams with distinct negotiation patterns, one open round."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select

from analytics.instrument_parser import load_default_instrument
from analytics.synthetic import simulate_responses
from survey.extensions import db
from survey.models import Invitation, Organization, Participant, SurveyRound, Team, User
from survey.services import accounts, organizations, releases, rounds
from survey.services.ingest import SubmittedRow, store_submitted
from survey.services.instruments import instrument_of, store_instrument
from survey.services.passwords import hash_password

DEMO_ORGANIZATION = "Northwind Demo"
DEMO_ROUND = "Spring negotiation check"
DEMO_ADMIN = "admin@northwind.example"
DEMO_COACH = "coach@northwind.example"
DEMO_COACH_TEAMS = ("Key Accounts", "Procurement", "Strategy Office")
#: The demo counterparty, and the closed round in which Key Accounts rated it.
DEMO_COUNTERPARTY = ("Contoso Retail", "customer", "2027 framework agreement")
DEMO_COUNTERPARTY_ROUND = "Contoso Retail: how they negotiate"
DEMO_COUNTERPARTY_TEAM = "Key Accounts"
DEMO_COUNTERPARTY_RATERS = 8
#: How Key Accounts sees Contoso (latent means on the 1-5 scale): guarded, fixed-pie and
#: pressing with its weight, while its people agree with each other.
DEMO_COUNTERPARTY_VIEW = {
    "trust": 4.0,
    "time_pressure": 3.2,
    "fixed_pie": 3.9,
    "misalignment": 2.2,
    "power": 3.8,
}


@dataclass(frozen=True)
class DemoTeam:
    """A demo team: its size, how many answered, and its negotiation pattern."""

    name: str
    members: int
    answered: int
    pattern: dict[str, float] = field(default_factory=dict)


DEMO_TEAMS = (
    DemoTeam("Key Accounts", 12, 10, {"time_pressure": 1.0, "fixed_pie": 0.5}),
    DemoTeam("Procurement", 9, 8, {"trust": 1.0, "power": 0.6}),
    DemoTeam("Partnerships", 14, 12, {d: -0.6 for d in ("trust", "time_pressure", "fixed_pie")}),
    DemoTeam("Enterprise Sales", 18, 15, {"misalignment": 1.1}),
    DemoTeam("Field Sales", 22, 19, {"time_pressure": 0.4, "power": 0.3}),
    DemoTeam("Legal & Contracts", 7, 6, {"fixed_pie": 0.8, "trust": 0.4}),
    DemoTeam("Renewals", 8, 6, {"power": 0.9}),
    DemoTeam("Strategy Office", 3, 2, {}),
)

FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Emre",
    "Fatima",
    "Gus",
    "Hana",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Adams",
    "Berg",
    "Costa",
    "Diallo",
    "Eriksen",
    "Fischer",
    "García",
    "Hughes",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo created, and links to a few unanswered invitations."""

    organization: str
    round_name: str
    teams: int
    participants: int
    submitted: int
    links: list[tuple[str, str, str]]  # (participant, team, token)
    logins: list[tuple[str, str, str]]  # (role, email, password)


def demo_exists() -> bool:
    """Whether the demo organization is in the database."""
    return organizations.find_organization(DEMO_ORGANIZATION) is not None


def any_data() -> bool:
    """Whether the database holds any organization at all."""
    return db.session.scalar(select(Organization.id).limit(1)) is not None


def remove_demo() -> None:
    """Delete the demo organization, everything in it, and the demo accounts."""
    org = organizations.find_organization(DEMO_ORGANIZATION)
    if org is not None:
        db.session.delete(org)
    for email in (DEMO_ADMIN, DEMO_COACH):
        user = db.session.scalar(select(User).filter_by(email=email))
        if user is not None:
            db.session.delete(user)
    db.session.flush()


def create_demo(now: datetime, *, seed: int = 7, invitation_ttl: timedelta) -> DemoResult:
    """Create the demo organization, its open round and simulated answers."""
    instrument_row, _ = store_instrument(load_default_instrument())
    instrument = instrument_of(instrument_row)
    org, _ = organizations.get_or_create_organization(DEMO_ORGANIZATION)
    rng = np.random.default_rng(seed)

    teams = {}
    members: dict[str, list[Participant]] = {}
    for spec in DEMO_TEAMS:
        team, _ = organizations.get_or_create_team(org, spec.name)
        teams[spec.name] = team
        members[spec.name] = [
            organizations.add_participant(team, name=name, email=_email(name, spec.name))
            for name in _names(rng, spec.members)
        ]

    survey_round = rounds.create_round(
        org,
        DEMO_ROUND,
        instrument_row,
        teams.values(),
        mode="confidential",
        status="open",
        opens_at=now - timedelta(days=14),
        closes_at=now + timedelta(days=30),
    )
    answered = {spec.name: spec.answered for spec in DEMO_TEAMS}
    simulated = simulate_responses(
        instrument,
        n_respondents=sum(answered.values()),
        teams=answered,
        team_effects={spec.name: spec.pattern for spec in DEMO_TEAMS},
        missing_rate=0.01,
        random_state=seed,
    )
    rows: list[SubmittedRow] = []
    links: list[tuple[str, str, str]] = []
    offsets = iter(rng.uniform(0.5, 13.5, size=len(simulated.data)))
    for spec in DEMO_TEAMS:
        team_rows = simulated.data[simulated.data["team"] == spec.name]
        people = members[spec.name]
        for person, (_, answer_row) in zip(people, team_rows.iterrows(), strict=False):
            invitation, _ = rounds.issue_invitation(survey_round, person, now, invitation_ttl)
            when = now - timedelta(days=float(next(offsets)))
            invitation.submitted_at = when
            rows.append(
                SubmittedRow(
                    team_id=teams[spec.name].id,
                    answers={i: _int_or_none(answer_row[i]) for i in instrument.item_ids},
                    context={q: _str_or_none(answer_row[q]) for q in instrument.context_ids},
                    submitted_at=when,
                    invitation_id=invitation.id,
                )
            )
        for person in people[spec.answered :]:
            _, token = rounds.issue_invitation(survey_round, person, now, invitation_ttl)
            links.append((person.display_name, spec.name, token))
    store_submitted(survey_round, rows)
    releases.refresh(survey_round, now)
    _counterparty_round(org, teams[DEMO_COUNTERPARTY_TEAM], members, now, seed)
    logins = demo_logins(org, teams)
    return DemoResult(
        organization=org.name,
        round_name=survey_round.name,
        teams=len(teams),
        participants=sum(len(p) for p in members.values()),
        submitted=len(rows),
        links=links,
        logins=logins,
    )


def _counterparty_round(
    org: Organization,
    team: Team,
    members: dict[str, list[Participant]],
    now: datetime,
    seed: int,
) -> None:
    """The demo counterparty and a closed round in which one team rated it, released."""
    from survey.services.counterparties import create_counterparty
    from survey.services.counterparty_rounds import counterparty_instrument

    name, kind, deal = DEMO_COUNTERPARTY
    counterparty = create_counterparty(org, name=name, kind=kind, deal_name=deal, actor=None)
    instrument_row = counterparty_instrument()
    instrument = instrument_of(instrument_row)
    survey_round = rounds.create_round(
        org,
        DEMO_COUNTERPARTY_ROUND,
        instrument_row,
        [team],
        mode="confidential",
        status="open",
        opens_at=now - timedelta(days=10),
        closes_at=now + timedelta(days=1),
        counterparty=counterparty,
    )
    simulated = simulate_responses(
        instrument,
        n_respondents=DEMO_COUNTERPARTY_RATERS,
        profiles={"shared view": DEMO_COUNTERPARTY_VIEW},
        teams={team.name: DEMO_COUNTERPARTY_RATERS},
        noise=0.5,
        latent_sd=0.25,
        random_state=seed + 1,
    )
    rows = []
    people = members[team.name]
    for person, (_, answer_row) in zip(people, simulated.data.iterrows(), strict=False):
        invitation, _ = rounds.issue_invitation(survey_round, person, now, timedelta(days=1))
        when = now - timedelta(days=3)
        invitation.submitted_at = when
        rows.append(
            SubmittedRow(
                team_id=team.id,
                answers={i: _int_or_none(answer_row[i]) for i in instrument.item_ids},
                context={},
                submitted_at=when,
                invitation_id=invitation.id,
            )
        )
    store_submitted(survey_round, rows)
    rounds.close_round(survey_round, now)  # releases the team's ratings


def demo_logins(org: Organization, teams: dict[str, Team]) -> list[tuple[str, str, str]]:
    """Create (or reset) the demo admin and coach with fresh random passwords."""
    logins = []
    for role, email in (("admin", DEMO_ADMIN), ("coach", DEMO_COACH)):
        password = secrets.token_urlsafe(12)
        user = accounts.find_user(email)
        if user is None:
            user = accounts.create_user(email, password)
        else:
            user.password_hash = hash_password(password)
        accounts.set_role(user, org, role)
        if role == "coach":
            for name in DEMO_COACH_TEAMS:
                accounts.assign_coach(user, teams[name])
        logins.append((role, email, password))
    return logins


def reset_demo_logins() -> list[tuple[str, str, str]]:
    """New passwords for the demo accounts, when the demo organization exists."""
    org = organizations.find_organization(DEMO_ORGANIZATION)
    if org is None:
        return []
    return demo_logins(org, {team.name: team for team in org.teams})


def reissue_demo_links(
    now: datetime, count: int, invitation_ttl: timedelta
) -> list[tuple[str, str, str]]:
    """Fresh tokens for a few unanswered demo invitations (old links stop working)."""
    org = organizations.find_organization(DEMO_ORGANIZATION)
    if org is None:
        return []
    survey_round = db.session.scalar(
        select(SurveyRound).filter_by(organization_id=org.id, name=DEMO_ROUND)
    )
    if survey_round is None:
        return []
    open_invitations = db.session.scalars(
        select(Invitation)
        .filter_by(round_id=survey_round.id, submitted_at=None, revoked_at=None)
        .order_by(Invitation.id)
        .limit(count)
    ).all()
    links = []
    for invitation in open_invitations:
        person = invitation.participant
        _, token = rounds.issue_invitation(survey_round, person, now, invitation_ttl)
        links.append((person.display_name, person.team.name, token))
    return links


def _names(rng: np.random.Generator, count: int) -> list[str]:
    picks = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), size=count, replace=False)
    return [
        f"{FIRST_NAMES[p % len(FIRST_NAMES)]} {LAST_NAMES[p // len(FIRST_NAMES)]}" for p in picks
    ]


def _email(name: str, team: str) -> str:
    local = name.lower().replace(" ", ".").encode("ascii", "ignore").decode()
    domain = "".join(ch for ch in team.lower() if ch.isalnum())
    return f"{local}@{domain}.northwind.example"


def _int_or_none(value: float) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def _str_or_none(value: object) -> str | None:
    return None if value is None or value != value else str(value)  # NaN != NaN
