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


def find_team(org: Organization, name: str) -> Team | None:
    """The organization's team with this name, if any."""
    return db.session.scalar(select(Team).filter_by(organization_id=org.id, name=name))


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


class TeamNameTaken(ValueError):
    """Another team of the organization already has this name."""


def rename_team(team: Team, name: str) -> None:
    """Give a team a new name, unique within its organization."""
    clash = db.session.scalar(
        select(Team).where(
            Team.organization_id == team.organization_id, Team.name == name, Team.id != team.id
        )
    )
    if clash is not None:
        raise TeamNameTaken(f"There is already a team called {name!r}.")
    team.name = name
    db.session.flush()


def create_team(org: Organization, name: str) -> Team:
    """A new team; the name must be unused in the organization."""
    team, created = get_or_create_team(org, name)
    if not created:
        raise TeamNameTaken(f"There is already a team called {name!r}.")
    return team


def members_of(team: Team) -> list[Participant]:
    """The team's members who have not been erased, by name."""
    return list(
        db.session.scalars(
            select(Participant)
            .where(Participant.team_id == team.id, Participant.erased_at.is_(None))
            .order_by(Participant.name, Participant.email, Participant.id)
        )
    )


def member_counts(org: Organization) -> dict[int, int]:
    """Team id -> number of current members."""
    from sqlalchemy import func

    return dict(
        db.session.execute(
            select(Participant.team_id, func.count(Participant.id))
            .join(Team, Team.id == Participant.team_id)
            .where(Team.organization_id == org.id, Participant.erased_at.is_(None))
            .group_by(Participant.team_id)
        ).all()
    )


def org_emails(org: Organization) -> set[str]:
    """Every member email in the organization, lowercased."""
    return {
        email.lower()
        for email in db.session.scalars(
            select(Participant.email)
            .join(Team, Team.id == Participant.team_id)
            .where(Team.organization_id == org.id, Participant.email.is_not(None))
        )
    }
