"""Survey rounds and invitations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    InstrumentVersion,
    Invitation,
    Organization,
    Participant,
    Response,
    SurveyRound,
    Team,
    round_teams,
)
from survey.services import releases
from survey.services.tokens import new_token


def create_round(
    org: Organization,
    name: str,
    instrument: InstrumentVersion,
    teams: Iterable[Team],
    *,
    mode: str = "confidential",
    status: str = "draft",
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> SurveyRound:
    """A new round of one instrument version for some of the organization's teams."""
    team_list = list(teams)
    if any(team.organization_id != org.id for team in team_list):
        raise ValueError("a round can only include the organization's own teams")
    survey_round = SurveyRound(
        organization_id=org.id,
        name=name,
        instrument_id=instrument.id,
        mode=mode,
        status=status,
        opens_at=opens_at,
        closes_at=closes_at,
        teams=team_list,
    )
    db.session.add(survey_round)
    db.session.flush()
    return survey_round


def find_round(org: Organization, name: str) -> SurveyRound | None:
    """The organization's round with this name, if any."""
    return db.session.scalar(select(SurveyRound).filter_by(organization_id=org.id, name=name))


def includes_team(survey_round: SurveyRound, team: Team) -> bool:
    """Whether the round was sent to the team (without loading the round's teams)."""
    return (
        db.session.scalar(
            select(round_teams.c.team_id).where(
                round_teams.c.round_id == survey_round.id, round_teams.c.team_id == team.id
            )
        )
        is not None
    )


def issue_invitation(
    survey_round: SurveyRound, participant: Participant, now: datetime, ttl: timedelta
) -> tuple[Invitation, str]:
    """A new invitation (or a fresh token for an existing one) and its token.

    The token is returned once and never stored: only its hash is kept, so a
    lost link can only be replaced, which also invalidates the old one. An
    erased participant gets no link.
    """
    if participant.erased_at is not None:
        raise ValueError("this participant was erased and cannot be invited")
    token, token_hash = new_token()
    invitation = db.session.scalar(
        select(Invitation).filter_by(round_id=survey_round.id, participant_id=participant.id)
    )
    expires_at = now + ttl
    if survey_round.closes_at is not None:
        expires_at = max(expires_at, survey_round.closes_at)
    if invitation is None:
        invitation = Invitation(
            round_id=survey_round.id,
            participant_id=participant.id,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
        )
        db.session.add(invitation)
    else:
        invitation.token_hash = token_hash
        invitation.revoked_at = None
        invitation.expires_at = expires_at
    db.session.flush()
    return invitation, token


@dataclass(frozen=True)
class RoundCounts:
    """How many were invited to a round and how many submitted."""

    invited: int
    submitted: int


def round_counts(survey_round: SurveyRound) -> RoundCounts:
    """Invitations (not revoked) and submitted responses of a round."""
    invited = db.session.scalar(
        select(func.count())
        .select_from(Invitation)
        .filter(Invitation.round_id == survey_round.id, Invitation.revoked_at.is_(None))
    )
    submitted = db.session.scalar(
        select(func.count())
        .select_from(Response)
        .filter(Response.round_id == survey_round.id, Response.status == "submitted")
    )
    return RoundCounts(invited=invited or 0, submitted=submitted or 0)


class RoundStateError(ValueError):
    """A round cannot move to the requested state."""


def open_round(survey_round: SurveyRound, now: datetime) -> None:
    """Start collecting answers (a closed round can be reopened)."""
    if survey_round.closes_at is not None and survey_round.closes_at <= now:
        raise RoundStateError("The closing date has passed; extend the round to reopen it.")
    if survey_round.status == "open":
        raise RoundStateError("The round is already open.")
    survey_round.status = "open"
    if survey_round.opens_at is None or survey_round.opens_at > now:
        survey_round.opens_at = now
    db.session.flush()


def close_round(survey_round: SurveyRound, now: datetime) -> None:
    """Stop collecting answers; drafts are kept but can no longer be submitted.

    Teams whose release is due (the release rule, also when releases wait for
    the close) are released.
    """
    if survey_round.status != "open":
        raise RoundStateError("Only an open round can be closed.")
    survey_round.status = "closed"
    if survey_round.closes_at is None or survey_round.closes_at > now:
        survey_round.closes_at = now
    db.session.flush()
    releases.refresh(survey_round, now)


def extend_round(survey_round: SurveyRound, closes_at: datetime, now: datetime) -> None:
    """Move the closing date later; invitations stay valid until then (not for a draft)."""
    if survey_round.status == "draft":
        raise RoundStateError("A draft round has not opened yet: open it first, then extend it.")
    if closes_at <= now:
        raise RoundStateError("The new closing date must be in the future.")
    if survey_round.closes_at is not None and closes_at <= survey_round.closes_at:
        raise RoundStateError("The new closing date must be later than the current one.")
    survey_round.closes_at = closes_at
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.round_id == survey_round.id)
    ):
        invitation.expires_at = max(invitation.expires_at, closes_at)
    db.session.flush()


def members_without_invitation(survey_round: SurveyRound) -> list[Participant]:
    """Current members of the round's teams who have no invitation yet."""
    team_ids = [team.id for team in survey_round.teams if team.archived_at is None]
    if not team_ids:
        return []
    invited = select(Invitation.participant_id).where(Invitation.round_id == survey_round.id)
    return list(
        db.session.scalars(
            select(Participant)
            .where(
                Participant.team_id.in_(team_ids),
                Participant.erased_at.is_(None),
                Participant.id.not_in(invited),
            )
            .order_by(Participant.team_id, Participant.id)
        )
    )


def open_invitations(survey_round: SurveyRound) -> list[Invitation]:
    """Invitations not yet answered and not revoked, by team then person."""
    return list(
        db.session.scalars(
            select(Invitation)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(
                Invitation.round_id == survey_round.id,
                Invitation.submitted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Participant.team_id, Participant.id)
        )
    )


def revoke_invitation(invitation: Invitation, now: datetime) -> None:
    """The link stops working; a draft already saved is kept."""
    if invitation.submitted_at is not None:
        raise RoundStateError("This person has already submitted; there is nothing to revoke.")
    invitation.revoked_at = now
    db.session.flush()


@dataclass(frozen=True)
class TeamCompletion:
    """Submitted of invited for one team in one round."""

    team: Team
    invited: int
    submitted: int

    @property
    def rate(self) -> float:
        """Share of invitations answered (0 when nobody was invited)."""
        return self.submitted / self.invited if self.invited else 0.0


def completion_by_team(survey_round: SurveyRound) -> list[TeamCompletion]:
    """How many of how many have submitted, per team of the round."""
    invited = dict(
        db.session.execute(
            select(Participant.team_id, func.count(Invitation.id))
            .join(Invitation, Invitation.participant_id == Participant.id)
            .where(Invitation.round_id == survey_round.id, Invitation.revoked_at.is_(None))
            .group_by(Participant.team_id)
        ).all()
    )
    submitted = dict(
        db.session.execute(
            select(Response.team_id, func.count(Response.id))
            .where(Response.round_id == survey_round.id, Response.status == "submitted")
            .group_by(Response.team_id)
        ).all()
    )
    return [
        TeamCompletion(team, invited.get(team.id, 0), submitted.get(team.id, 0))
        for team in survey_round.teams
    ]


def rounds_of(org: Organization) -> list[SurveyRound]:
    """The organization's rounds, newest first."""
    return list(
        db.session.scalars(
            select(SurveyRound)
            .where(SurveyRound.organization_id == org.id)
            .order_by(SurveyRound.created_at.desc(), SurveyRound.id.desc())
        )
    )


class RoundNotFound(LookupError):
    """No round, or several, answer to a name; the message says which and what to add."""


def resolve_round(round_name: str, org_name: str | None = None) -> SurveyRound:
    """The round called ``round_name`` (in ``org_name`` when given), for the command line."""
    query = select(SurveyRound).join(Organization).where(SurveyRound.name == round_name)
    if org_name:
        query = query.where(Organization.name == org_name)
    found = db.session.scalars(query).all()
    if not found:
        where = f" in {org_name!r}" if org_name else ""
        raise RoundNotFound(f"No round called {round_name!r}{where}.")
    if len(found) > 1:
        orgs = ", ".join(r.organization.name for r in found)
        raise RoundNotFound(f"Several organizations have {round_name!r} ({orgs}); add --org.")
    return found[0]
