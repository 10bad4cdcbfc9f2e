"""API: survey rounds (create, open, close, completion) and invitation links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from survey.api import auth
from survey.api.common import member_of, refusals, refuse, round_of
from survey.api.schemas import (
    LinkSchema,
    LinksRequestSchema,
    RoundCreateSchema,
    RoundSchema,
    TeamCompletionSchema,
)
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import InstrumentVersion, Invitation, SurveyRound, Team
from survey.services import organizations, rounds
from survey.services.invitation_links import IssuedLink

blp = Blueprint(
    "rounds",
    __name__,
    url_prefix="/api/v1/organizations",
    description="Survey rounds, their completion and invitation links.",
)
blp.before_request(auth.authenticate)

#: The one answer to any per-person link request in an anonymous round (README "Privacy", 7).
ANONYMOUS_REFUSAL = (
    "This round is anonymous: who has or has not answered is never shown, so links cannot be"
    " re-issued or withdrawn person by person. Email reminders go to everyone who has not"
    " answered without naming them."
)
CLOSED_REFUSAL = (
    "This round is closed: nobody can answer, so no links are re-issued. Open it again first"
    " (extend it if its closing date has passed)."
)


def _round(survey_round: SurveyRound) -> dict[str, Any]:
    counts = rounds.round_counts(survey_round)
    return {
        "id": survey_round.id,
        "name": survey_round.name,
        "status": survey_round.status,
        "mode": survey_round.mode,
        "instrument_id": survey_round.instrument_id,
        "instrument": survey_round.instrument.label,
        "opens_at": survey_round.opens_at,
        "closes_at": survey_round.closes_at,
        "team_ids": [team.id for team in survey_round.teams],
        "counts": {"invited": counts.invited, "submitted": counts.submitted},
    }


@blp.route("/<int:org_id>/rounds")
class RoundsView(MethodView):
    @blp.response(200, RoundSchema(many=True))
    def get(self, org_id: int) -> list[dict[str, Any]]:
        """The organization's rounds, newest first, with invited and submitted counts."""
        org = auth.organization(org_id)
        return [_round(r) for r in rounds.rounds_of(org)]

    @blp.arguments(RoundCreateSchema)
    @blp.response(201, RoundSchema)
    def post(self, data: dict[str, Any], org_id: int) -> dict[str, Any]:
        """Create a draft round; dates are days in the organization's time zone.

        The round closes at the end of ``closes_on``; issue links, then open it.
        """
        org = auth.writable_organization(org_id)
        instrument = db.session.get(InstrumentVersion, data["instrument_id"])
        if instrument is None:
            refuse(400, "No stored instrument has this id (see the admin's Instruments page).")
        teams = [db.session.get(Team, team_id) for team_id in dict.fromkeys(data["team_ids"])]
        if any(team is None or team.organization_id != org.id for team in teams):
            refuse(400, "Every team id must be a team of this organization.")
        if any(team.archived_at is not None for team in teams):  # type: ignore[union-attr]
            refuse(400, "Archived teams cannot be in a new round.")
        zone = organizations.zone_of(org)
        opens_on = data.get("opens_on")
        with refusals():
            survey_round = rounds.create_draft(
                org,
                data["name"].strip(),
                instrument,  # type: ignore[arg-type]
                teams,  # type: ignore[arg-type]
                mode=data["mode"],
                opens_at=organizations.day_start(zone, opens_on) if opens_on else None,
                closes_at=organizations.day_end(zone, data["closes_on"]),
                now=utcnow(),
                actor=None,
            )
        db.session.commit()
        return _round(survey_round)


@blp.route("/<int:org_id>/rounds/<int:round_id>")
class RoundView(MethodView):
    @blp.response(200, RoundSchema)
    def get(self, org_id: int, round_id: int) -> dict[str, Any]:
        """One round."""
        return _round(round_of(auth.organization(org_id), round_id))


@blp.route("/<int:org_id>/rounds/<int:round_id>/open", methods=["POST"])
@blp.response(200, RoundSchema)
def open_round(org_id: int, round_id: int) -> dict[str, Any]:
    """Start collecting answers (409 when already open or past its closing date)."""
    org = auth.writable_organization(org_id)
    survey_round = round_of(org, round_id)
    with refusals():
        rounds.open_round(survey_round, utcnow(), actor=None)
    db.session.commit()
    return _round(survey_round)


@blp.route("/<int:org_id>/rounds/<int:round_id>/close", methods=["POST"])
@blp.response(200, RoundSchema)
def close_round(org_id: int, round_id: int) -> dict[str, Any]:
    """Stop collecting answers; teams whose release is due are released (webhooks follow)."""
    org = auth.writable_organization(org_id)
    survey_round = round_of(org, round_id)
    with refusals():
        rounds.close_round(survey_round, utcnow(), actor=None)
    db.session.commit()
    return _round(survey_round)


@blp.route("/<int:org_id>/rounds/<int:round_id>/completion")
@blp.response(200, TeamCompletionSchema(many=True))
def completion(org_id: int, round_id: int) -> list[dict[str, Any]]:
    """Invited and submitted per team of the round (counts only, also in anonymous rounds)."""
    survey_round = round_of(auth.organization(org_id), round_id)
    return [
        {"team_id": c.team.id, "team": c.team.name, "invited": c.invited, "submitted": c.submitted}
        for c in rounds.completion_by_team(survey_round)
    ]


def _links(links: list[IssuedLink]) -> list[dict[str, Any]]:
    base = current_app.config["PUBLIC_BASE_URL"]
    return [
        {
            "member_id": link.participant.id,
            "name": link.participant.name,
            "email": link.participant.email,
            "team": link.team,
            "url": f"{base}/s/{link.token}",
        }
        for link in links
    ]


def _ttl() -> timedelta:
    return timedelta(days=current_app.config["INVITATION_TTL_DAYS"])


@blp.route("/<int:org_id>/rounds/<int:round_id>/links", methods=["POST"])
@blp.arguments(LinksRequestSchema)
@blp.response(200, LinkSchema(many=True))
def issue_links(data: dict[str, Any], org_id: int, round_id: int) -> list[dict[str, Any]]:
    """Issue links (returned this once: only their hashes are kept).

    ``new`` gives a link to every member of the round's teams without one;
    ``all-open`` also replaces the links of everyone who has not submitted
    (refused in anonymous rounds, 409, and in closed rounds).
    """
    org = auth.writable_organization(org_id)
    survey_round = round_of(org, round_id)
    people = rounds.members_without_invitation(survey_round)
    if data["which"] == "all-open":
        if survey_round.mode == "anonymous":
            refuse(409, ANONYMOUS_REFUSAL)
        if survey_round.status == "closed":
            refuse(409, CLOSED_REFUSAL)
        people = [i.participant for i in rounds.open_invitations(survey_round)] + people
    links = rounds.issue_links(
        survey_round, people, utcnow(), _ttl(), kind=data["which"], actor=None
    )
    db.session.commit()
    return _links(links)


@blp.route("/<int:org_id>/rounds/<int:round_id>/members/<int:member_id>/link", methods=["POST"])
@blp.response(200, LinkSchema)
def reissue_link(org_id: int, round_id: int, member_id: int) -> dict[str, Any]:
    """A new link for one member (returned this once); the old one stops working.

    Refused (409) in anonymous rounds, for every member alike, and in closed
    rounds; refused for a member who has submitted or whose team is not in
    the round.
    """
    org = auth.writable_organization(org_id)
    survey_round = round_of(org, round_id)
    if survey_round.mode == "anonymous":  # before looking at the member: the same for everyone
        refuse(409, ANONYMOUS_REFUSAL)
    person = member_of(org, member_id)
    if survey_round.status == "closed":
        refuse(409, CLOSED_REFUSAL)
    invitation = (
        db.session.query(Invitation)
        .filter_by(round_id=survey_round.id, participant_id=person.id)
        .one_or_none()
    )
    if invitation is not None and invitation.submitted_at is not None:
        refuse(409, "This member has already submitted.")
    if not rounds.includes_team(survey_round, person.team):
        refuse(409, f"{person.team.name} is not part of this round: no link is issued.")
    [link] = rounds.issue_links(
        survey_round, [person], utcnow(), _ttl(), kind=f"re-issued, member #{person.id}",
        actor=None,
    )  # fmt: skip
    db.session.commit()
    return _links([link])[0]
