"""Survey rounds and invitations.

The admin operations (:func:`create_draft`, :func:`update_draft`,
:func:`delete_draft`, :func:`open_round`, :func:`close_round`,
:func:`extend_round`, :func:`revoke_invitation`, :func:`issue_links`) record
themselves in the audit log; :func:`create_round` and :func:`issue_invitation`
are the building blocks they, the command line and the demo share. Everything
flushes; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from survey.extensions import db
from survey.models import (
    Counterparty,
    InstrumentVersion,
    Invitation,
    Organization,
    Participant,
    Response,
    SurveyRound,
    Team,
    User,
    round_teams,
)
from survey.models.counterparty import COUNTERPARTY_INSTRUMENT_KEY
from survey.services import audit, releases, webhooks
from survey.services.tokens import new_token

if TYPE_CHECKING:
    from survey.services.invitation_links import IssuedLink


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
    counterparty: Counterparty | None = None,
) -> SurveyRound:
    """A new round of one instrument version for some of the organization's teams.

    With ``counterparty`` it is a counterparty round: the teams rate it with the
    counterparty instrument, which no other round may use
    (:func:`check_instrument` raises :class:`InvalidRoundPlan`).
    """
    team_list = list(teams)
    if any(team.organization_id != org.id for team in team_list):
        raise ValueError("a round can only include the organization's own teams")
    if counterparty is not None and counterparty.organization_id != org.id:
        raise InvalidRoundPlan("A round can only rate the organization's own counterparties.")
    check_instrument(instrument, counterparty)
    survey_round = SurveyRound(
        organization_id=org.id,
        name=name,
        instrument_id=instrument.id,
        mode=mode,
        status=status,
        opens_at=opens_at,
        closes_at=closes_at,
        teams=team_list,
        counterparty_id=counterparty.id if counterparty is not None else None,
    )
    db.session.add(survey_round)
    db.session.flush()
    return survey_round


class RoundStateError(ValueError):
    """A round cannot move to the requested state, or be changed in its state.

    ``status`` is the HTTP status a view answers with: 409, a conflict with the
    round's state, unless a subclass says the input itself was wrong.
    """

    status = 409


class InvalidRoundPlan(RoundStateError):
    """The round's name, teams or dates cannot be used (400: fix the form)."""

    status = 400


class RoundNameTaken(InvalidRoundPlan):
    """Another round of the organization has this name."""


def check_instrument(instrument: InstrumentVersion, counterparty: Counterparty | None) -> None:
    """Refuse the counterparty instrument in a normal round, any other in a counterparty round."""
    rates_counterparty = instrument.key == COUNTERPARTY_INSTRUMENT_KEY
    if counterparty is None and rates_counterparty:
        raise InvalidRoundPlan(
            f"The instrument {instrument.label} rates a counterparty: open it from a team's"
            " Counterparties page as a counterparty round, not as a normal round."
        )
    if counterparty is not None and not rates_counterparty:
        raise InvalidRoundPlan(
            f"A counterparty round uses the instrument {COUNTERPARTY_INSTRUMENT_KEY},"
            f" not {instrument.label}."
        )


def _check_plan(
    org: Organization,
    name: str,
    teams: Sequence[Team],
    opens_at: datetime | None,
    closes_at: datetime,
    now: datetime,
    survey_round: SurveyRound | None = None,
) -> None:
    """Refuse a round plan with a taken name, foreign teams or impossible dates."""
    clash = find_round(org, name)
    if clash is not None and clash is not survey_round:
        raise RoundNameTaken(f"There is already a round called {name!r}.")
    if not teams:
        raise InvalidRoundPlan("Choose at least one team.")
    if any(team.organization_id != org.id for team in teams):
        raise InvalidRoundPlan("A round can only include the organization's own teams.")
    if closes_at <= now or (opens_at is not None and opens_at >= closes_at):
        raise InvalidRoundPlan("The closing date must be in the future and after the opening date.")


def create_draft(
    org: Organization,
    name: str,
    instrument: InstrumentVersion,
    teams: Sequence[Team],
    *,
    mode: str,
    opens_at: datetime | None,
    closes_at: datetime,
    now: datetime,
    actor: User | None,
    counterparty: Counterparty | None = None,
) -> SurveyRound:
    """A new draft round, checked (:class:`RoundStateError` says why not) and audited.

    With ``counterparty``, a counterparty round (see :func:`create_round`).
    """
    _check_plan(org, name, teams, opens_at, closes_at, now)
    survey_round = create_round(
        org,
        name,
        instrument,
        teams,
        mode=mode,
        opens_at=opens_at,
        closes_at=closes_at,
        counterparty=counterparty,
    )
    rates = f", rates {counterparty.name}" if counterparty is not None else ""
    audit.record(
        "round_created",
        actor=actor,
        organization_id=org.id,
        target=name,
        detail=f"{instrument.label}, {mode}, teams: {_names(teams)}{rates}",
    )
    return survey_round


def update_draft(
    survey_round: SurveyRound,
    *,
    name: str,
    instrument: InstrumentVersion,
    teams: Sequence[Team],
    mode: str,
    opens_at: datetime | None,
    closes_at: datetime,
    now: datetime,
    actor: User | None,
) -> list[str]:
    """Change a draft round's name, teams, instrument, dates and mode; what changed, in words.

    Refused (:class:`RoundStateError`) once the round has opened. Links already
    issued to members of teams taken out of the round are deleted (nobody can
    have answered a draft); links of the others stay valid at least until the
    new closing date.
    """
    if survey_round.status != "draft":
        raise RoundStateError(
            f"Round {survey_round.name} has opened: its name, teams, instrument, dates and mode"
            " can no longer be changed. Extend it to move its closing date."
        )
    org = survey_round.organization
    _check_plan(org, name, teams, opens_at, closes_at, now, survey_round)
    check_instrument(instrument, survey_round.counterparty)
    changes: list[str] = []
    if name != survey_round.name:
        changes.append(f"renamed from {survey_round.name!r}")
        survey_round.name = name
    if instrument.id != survey_round.instrument_id:
        changes.append(f"instrument {survey_round.instrument.label} -> {instrument.label}")
        survey_round.instrument_id = instrument.id
    if mode != survey_round.mode:
        changes.append(f"mode {survey_round.mode} -> {mode}")
        survey_round.mode = mode
    if opens_at != survey_round.opens_at or closes_at != survey_round.closes_at:
        changes.append("dates changed")
        survey_round.opens_at, survey_round.closes_at = opens_at, closes_at
    old_ids = {team.id for team in survey_round.teams}
    new_ids = {team.id for team in teams}
    if old_ids != new_ids:
        changes.append(f"teams: {_names(teams)}")
        survey_round.teams = list(teams)
        removed = old_ids - new_ids
        if removed:
            withdrawn = _delete_invitations(survey_round, removed)
            if withdrawn:
                changes.append(f"{withdrawn} links of teams taken out deleted")
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.round_id == survey_round.id)
    ):
        invitation.expires_at = max(invitation.expires_at, closes_at)
    if changes:
        audit.record(
            "round_edited",
            actor=actor,
            organization_id=org.id,
            target=survey_round.name,
            detail="; ".join(changes),
        )
    db.session.flush()
    return changes


def _delete_invitations(survey_round: SurveyRound, team_ids: set[int]) -> int:
    """Delete the round's invitations of members of these teams; how many."""
    members = select(Participant.id).where(Participant.team_id.in_(sorted(team_ids)))
    result = db.session.execute(
        delete(Invitation)
        .where(Invitation.round_id == survey_round.id, Invitation.participant_id.in_(members))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def delete_draft(survey_round: SurveyRound, *, actor: User | None) -> None:
    """Delete a round that has not opened, with its links; refused once it has opened."""
    if survey_round.status != "draft":
        raise RoundStateError(
            f"Round {survey_round.name} has opened, so it is kept with its answers: only a"
            " draft round can be deleted."
        )
    answered = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.round_id == survey_round.id)
    )
    if answered:
        raise RoundStateError(f"Round {survey_round.name} has answers, so it is kept.")
    links = db.session.execute(
        delete(Invitation)
        .where(Invitation.round_id == survey_round.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        "round_deleted",
        actor=actor,
        organization_id=survey_round.organization_id,
        target=survey_round.name,
        detail=f"draft, {links or 0} links deleted",
    )
    db.session.delete(survey_round)
    db.session.flush()


def _names(teams: Iterable[Team]) -> str:
    return ", ".join(sorted((team.name for team in teams), key=str.casefold))


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
    if participant.team_id not in {team.id for team in survey_round.teams}:
        raise ValueError("this participant's team is not part of the round")
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


def open_round(survey_round: SurveyRound, now: datetime, *, actor: User | None = None) -> None:
    """Start collecting answers (a closed round can be reopened)."""
    if survey_round.closes_at is not None and survey_round.closes_at <= now:
        raise RoundStateError("The closing date has passed; extend the round to reopen it.")
    if survey_round.status == "open":
        raise RoundStateError("The round is already open.")
    survey_round.status = "open"
    if survey_round.opens_at is None or survey_round.opens_at > now:
        survey_round.opens_at = now
    _record("round_opened", survey_round, actor)
    db.session.flush()


def close_round(survey_round: SurveyRound, now: datetime, *, actor: User | None = None) -> None:
    """Stop collecting answers; drafts are kept but can no longer be submitted.

    Teams whose release is due (the release rule, also when releases wait for
    the close) are released. Webhooks get ``round.closed`` once the caller commits.
    """
    if survey_round.status != "open":
        raise RoundStateError("Only an open round can be closed.")
    survey_round.status = "closed"
    if survey_round.closes_at is None or survey_round.closes_at > now:
        survey_round.closes_at = now
    _record("round_closed", survey_round, actor)
    db.session.flush()
    releases.refresh(survey_round, now)
    webhooks.round_closed(survey_round, now)  # delivered after the caller's commit


def extend_round(
    survey_round: SurveyRound,
    closes_at: datetime,
    now: datetime,
    *,
    actor: User | None = None,
    shown_as: str = "",
) -> None:
    """Move the closing date later; links stay valid until then (not for a draft).

    Links of members who have moved to a team outside the round are left to
    expire. ``shown_as`` is the new date as the admin gave it, for the audit log.
    The reminder sent before closing is armed again: it goes out before the new date.
    """
    if survey_round.status == "draft":
        raise RoundStateError("A draft round has not opened yet: open it first, then extend it.")
    if closes_at <= now:
        raise RoundStateError("The new closing date must be in the future.")
    if survey_round.closes_at is not None and closes_at <= survey_round.closes_at:
        raise RoundStateError("The new closing date must be later than the current one.")
    survey_round.closes_at = closes_at
    survey_round.scheduled_reminder_at = None
    in_round = select(Participant.id).where(
        Participant.team_id.in_(
            select(round_teams.c.team_id).where(round_teams.c.round_id == survey_round.id)
        )
    )
    for invitation in db.session.scalars(
        select(Invitation).where(
            Invitation.round_id == survey_round.id, Invitation.participant_id.in_(in_round)
        )
    ):
        invitation.expires_at = max(invitation.expires_at, closes_at)
    _record("round_extended", survey_round, actor, f"closes {shown_as or closes_at.isoformat()}")
    db.session.flush()


def _record(action: str, survey_round: SurveyRound, actor: User | None, detail: str = "") -> None:
    audit.record(
        action,
        actor=actor,
        organization_id=survey_round.organization_id,
        target=survey_round.name,
        detail=detail,
    )


def issue_links(
    survey_round: SurveyRound,
    people: Iterable[Participant],
    now: datetime,
    ttl: timedelta,
    *,
    kind: str,
    actor: User | None,
) -> list[IssuedLink]:
    """Issue (or re-issue) a link for each person and audit it; each link is shown once.

    ``kind`` says which links in the audit log ("new", "all-open", or the
    re-issued member's number).
    """
    from survey.services.invitation_links import issue_links as issue

    links = issue(survey_round, people, now, ttl)
    _record("invitations_issued", survey_round, actor, f"{len(links)} links ({kind})")
    return links


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
    """Invitations not yet answered and not revoked, by team then person.

    Members who have moved to a team outside the round are left out: their
    links are no longer re-issued or reminded.
    """
    in_round = select(round_teams.c.team_id).where(round_teams.c.round_id == survey_round.id)
    return list(
        db.session.scalars(
            select(Invitation)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(
                Invitation.round_id == survey_round.id,
                Invitation.submitted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Participant.team_id.in_(in_round),
            )
            .order_by(Participant.team_id, Participant.id)
        )
    )


def revoke_invitation(invitation: Invitation, now: datetime, *, actor: User | None = None) -> None:
    """The link stops working; a draft already saved is kept."""
    if invitation.submitted_at is not None:
        raise RoundStateError("This person has already submitted; there is nothing to revoke.")
    invitation.revoked_at = now
    _record(
        "invitation_revoked",
        invitation.survey_round,
        actor,
        f"member #{invitation.participant_id}",
    )
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
