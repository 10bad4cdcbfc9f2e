"""Organizations, teams and participants."""

from __future__ import annotations

from sqlalchemy import select

from survey.extensions import db
from survey.models import Organization, Participant, Team


def get_or_create_organization(name: str) -> tuple[Organization, bool]:
    """The organization with this name; created when missing (the flag says so)."""
    org = db.session.scalar(select(Organization).filter_by(name=name))
    if org is not None:
        return org, False
    org = Organization(name=name)
    db.session.add(org)
    db.session.flush()
    return org, True


def find_organization(name: str) -> Organization | None:
    """The organization with this name, if any."""
    return db.session.scalar(select(Organization).filter_by(name=name))


def get_or_create_team(org: Organization, name: str) -> tuple[Team, bool]:
    """The organization's team with this name; created when missing."""
    team = db.session.scalar(select(Team).filter_by(organization_id=org.id, name=name))
    if team is not None:
        return team, False
    team = Team(organization_id=org.id, name=name)
    db.session.add(team)
    db.session.flush()
    return team, True


def add_participant(
    team: Team,
    *,
    name: str | None = None,
    email: str | None = None,
    external_id: str | None = None,
) -> Participant:
    """Add a member to a team."""
    participant = Participant(team_id=team.id, name=name, email=email, external_id=external_id)
    db.session.add(participant)
    db.session.flush()
    return participant
