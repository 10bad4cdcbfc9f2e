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
)
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


def issue_invitation(
    survey_round: SurveyRound, participant: Participant, now: datetime, ttl: timedelta
) -> tuple[Invitation, str]:
    """A new invitation (or a fresh token for an existing one) and its token.

    The token is returned once and never stored: only its hash is kept, so a
    lost link can only be replaced, which also invalidates the old one.
    """
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
