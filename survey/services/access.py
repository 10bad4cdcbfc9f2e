"""Who may see what: organizations for admins, teams for coaches."""

from __future__ import annotations

from sqlalchemy import select

from survey.extensions import db
from survey.models import CoachAssignment, Membership, Organization, Team, User


def admin_organizations(user: User) -> list[Organization]:
    """Organizations the user administers."""
    return list(
        db.session.scalars(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id, Membership.role == "admin")
            .order_by(Organization.name)
        )
    )


def is_admin_of(user: User, organization_id: int) -> bool:
    """Whether the user administers the organization."""
    return (
        db.session.scalar(
            select(Membership.id).where(
                Membership.user_id == user.id,
                Membership.organization_id == organization_id,
                Membership.role == "admin",
            )
        )
        is not None
    )


def coached_teams(user: User) -> list[Team]:
    """Teams assigned to the user as a coach, in organizations where they hold a role."""
    return list(
        db.session.scalars(
            select(Team)
            .join(CoachAssignment, CoachAssignment.team_id == Team.id)
            .join(
                Membership,
                (Membership.organization_id == Team.organization_id)
                & (Membership.user_id == user.id),
            )
            .where(CoachAssignment.user_id == user.id)
            .order_by(Team.organization_id, Team.name)
        )
    )


def can_view_team(user: User, team: Team) -> bool:
    """Admins of the team's organization and the team's coaches."""
    if is_admin_of(user, team.organization_id):
        return True
    return any(t.id == team.id for t in coached_teams(user))


def org_coaches(organization_id: int) -> list[User]:
    """Users with the coach role in the organization."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organization_id == organization_id, Membership.role == "coach")
            .order_by(User.email)
        )
    )


def is_member_of(user: User, organization_id: int) -> bool:
    """Whether the user holds any role in the organization."""
    return (
        db.session.scalar(
            select(Membership.id).where(
                Membership.user_id == user.id, Membership.organization_id == organization_id
            )
        )
        is not None
    )
