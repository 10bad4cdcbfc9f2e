"""Authorization for views: load the object, check the user, or abort."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from survey.extensions import db
from survey.models import Invitation, Organization, SurveyRound, Team
from survey.services import access


def admin_org(org_id: int) -> Organization:
    """The organization if the current user administers it.

    Someone with another role there gets 403; anyone else gets 404, so the
    existence of other organizations is not revealed.
    """
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    if not access.is_admin_of(current_user, org.id):
        abort(403 if access.is_member_of(current_user, org.id) else 404)
    return org


def admin_team(org: Organization, team_id: int) -> Team:
    """A team of the organization, else 404."""
    team = db.session.get(Team, team_id)
    if team is None or team.organization_id != org.id:
        abort(404)
    return team


def admin_round(org: Organization, round_id: int) -> SurveyRound:
    """A round of the organization, else 404."""
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None or survey_round.organization_id != org.id:
        abort(404)
    return survey_round


def admin_invitation(survey_round: SurveyRound, invitation_id: int) -> Invitation:
    """An invitation of the round, else 404."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.round_id != survey_round.id:
        abort(404)
    return invitation


def viewable_team(team_id: int) -> Team:
    """A team the current user may see as admin or coach (403 for a coach of others)."""
    team = db.session.get(Team, team_id)
    if team is None:
        abort(404)
    if not access.can_view_team(current_user, team):
        abort(403 if access.is_member_of(current_user, team.organization_id) else 404)
    return team
