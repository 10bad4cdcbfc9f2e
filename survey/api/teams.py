"""API: the organization's teams and their members."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from survey.api import auth
from survey.api.common import member_of, refusals, team_of
from survey.api.schemas import (
    MemberCreateSchema,
    MemberSchema,
    MemberUpdateSchema,
    ScopeSchema,
    TeamCreateSchema,
    TeamSchema,
    TeamUpdateSchema,
)
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Organization, Participant, Team
from survey.services import organizations

blp = Blueprint(
    "teams",
    __name__,
    url_prefix="/api/v1/organizations",
    description="The organization, its teams and their members.",
)
blp.before_request(auth.authenticate)


def _team(team: Team, counts: dict[int, int]) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        "archived": team.archived_at is not None,
        "members": counts.get(team.id, 0),
        "created_at": team.created_at,
    }


def _member(person: Participant) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "team_id": person.team_id,
        "team": person.team.name,
    }


@blp.route("/<int:org_id>")
class OrganizationView(MethodView):
    @blp.response(200, ScopeSchema)
    def get(self, org_id: int) -> dict[str, Any]:
        """The organization this token belongs to, and the token's scope."""
        org = auth.organization(org_id)
        token = auth.current_token()
        return {
            "organization_id": org.id,
            "organization": org.name,
            "scope": token.scope,
            "token": token.label,
        }


@blp.route("/<int:org_id>/teams")
class TeamsView(MethodView):
    @blp.response(200, TeamSchema(many=True))
    def get(self, org_id: int) -> list[dict[str, Any]]:
        """Every team of the organization, archived ones too, with its number of members."""
        org = auth.organization(org_id)
        counts = organizations.member_counts(org)
        return [_team(team, counts) for team in org.teams]

    @blp.arguments(TeamCreateSchema)
    @blp.response(201, TeamSchema)
    def post(self, data: dict[str, Any], org_id: int) -> dict[str, Any]:
        """Create a team (the name must be unused in the organization: 409 otherwise)."""
        org = auth.writable_organization(org_id)
        with refusals():
            team = organizations.new_team(org, data["name"].strip(), actor=None)
        db.session.commit()
        return _team(team, {})


@blp.route("/<int:org_id>/teams/<int:team_id>")
class TeamView(MethodView):
    @blp.response(200, TeamSchema)
    def get(self, org_id: int, team_id: int) -> dict[str, Any]:
        """One team."""
        org = auth.organization(org_id)
        return _team(team_of(org, team_id), organizations.member_counts(org))

    @blp.arguments(TeamUpdateSchema)
    @blp.response(200, TeamSchema)
    def patch(self, data: dict[str, Any], org_id: int, team_id: int) -> dict[str, Any]:
        """Rename a team, or archive it (left out of new rounds; its answers are kept)."""
        org = auth.writable_organization(org_id)
        team = team_of(org, team_id)
        with refusals():
            if "name" in data and data["name"].strip() != team.name:
                organizations.rename_team(team, data["name"].strip(), actor=None)
            if data.get("archived"):
                organizations.archive_team(team, utcnow(), actor=None)
        db.session.commit()
        return _team(team, organizations.member_counts(org))


@blp.route("/<int:org_id>/teams/<int:team_id>/members")
class MembersView(MethodView):
    @blp.response(200, MemberSchema(many=True))
    def get(self, org_id: int, team_id: int) -> list[dict[str, Any]]:
        """The team's current members (erased members are gone)."""
        org = auth.organization(org_id)
        return [_member(p) for p in organizations.members_of(team_of(org, team_id))]

    @blp.arguments(MemberCreateSchema)
    @blp.response(201, MemberSchema)
    def post(self, data: dict[str, Any], org_id: int, team_id: int) -> dict[str, Any]:
        """Add a member: a name, an email (unique in the organization), or both."""
        org = auth.writable_organization(org_id)
        team = team_of(org, team_id)
        with refusals():
            if team.archived_at is not None:
                raise organizations.MemberProblem(f"Team {team.name} is archived.")
            person = organizations.add_member(
                team, name=_clean(data.get("name")), email=_clean(data.get("email")), actor=None
            )
        db.session.commit()
        return _member(person)


@blp.route("/<int:org_id>/members/<int:member_id>")
class MemberView(MethodView):
    @blp.response(200, MemberSchema)
    def get(self, org_id: int, member_id: int) -> dict[str, Any]:
        """One member."""
        return _member(member_of(auth.organization(org_id), member_id))

    @blp.arguments(MemberUpdateSchema)
    @blp.response(200, MemberSchema)
    def patch(self, data: dict[str, Any], org_id: int, member_id: int) -> dict[str, Any]:
        """Change a member's name and email, or move them to another team (``team_id``).

        A move keeps submitted answers with the old team; links in rounds
        without the new team stop working (as on the member's admin page).
        """
        org: Organization = auth.writable_organization(org_id)
        person = member_of(org, member_id)
        with refusals():
            if "name" in data or "email" in data:
                organizations.edit_member(
                    person,
                    name=_clean(data["name"]) if "name" in data else person.name,
                    email=_clean(data["email"]) if "email" in data else person.email,
                    actor=None,
                )
            if "team_id" in data and data["team_id"] != person.team_id:
                organizations.move_member(
                    person, team_of(org, data["team_id"]), now=utcnow(), actor=None
                )
        db.session.commit()
        return _member(person)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None
