"""Erasing a member: their identifying data, and their answers where they are linked.

For each person erased:

* name, email and external id become NULL and ``erased_at`` is set; the row
  stays so that counts of invitations keep adding up;
* every invitation is revoked and its token hash replaced by the hash of a
  token nobody has, so the old link can never work again;
* in *confidential* rounds every response linked to their invitation is
  deleted with its answers, drafts included;
* in *anonymous* rounds a submitted response is not linked to anyone (the
  link is cut on submit), so there is nothing to delete; a draft still linked
  to the invitation is deleted.

Nothing already exported or reported is recomputed. An erased response counts
as a change toward its team's next release (:mod:`survey.services.releases`):
published figures stay as they were until enough responses have changed, so
comparing the figures before and after an erasure reveals no one. The audit log records the
erasure by participant id, never the erased data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select

from survey.extensions import db
from survey.models import (
    Answer,
    ContextAnswer,
    Invitation,
    Organization,
    Participant,
    Response,
    SurveyRound,
    Team,
    User,
)
from survey.services import audit, releases
from survey.services.tokens import new_token

__all__ = [
    "ErasureResult",
    "erase_participants",
    "erasure_plan",
    "find_participants",
    "participant_in",
    "participants_by_id",
    "record_erasure",
]


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure did (or, as a plan, would do)."""

    participant_ids: tuple[int, ...]
    responses_deleted: int
    drafts_deleted: int
    invitations_revoked: int
    confidential_rounds: int
    anonymous_rounds: int
    done: bool = True

    def describe(self) -> str:
        """One paragraph for the command line or a web page."""
        people = _people(len(self.participant_ids))
        if self.done:
            lines = [f"Erased {people}: name and email removed."]
            verb_deleted, verb_revoked = "Deleted", "Revoked"
        else:
            lines = [f"This erases {people}: name and email will be removed."]
            verb_deleted, verb_revoked = "Will delete", "Will revoke"
        if self.responses_deleted or self.drafts_deleted:
            lines.append(
                f"{verb_deleted} {self.responses_deleted} submitted response(s) and"
                f" {self.drafts_deleted} draft(s) in {self.confidential_rounds} confidential"
                " round(s)."
            )
        else:
            lines.append("No answers in confidential rounds are linked to this person.")
        if self.invitations_revoked:
            lines.append(f"{verb_revoked} {self.invitations_revoked} invitation link(s).")
        if self.anonymous_rounds:
            lines.append(
                f"{self.anonymous_rounds} anonymous round(s): submitted answers there are not"
                " linked to anyone, so there is nothing to link or delete."
            )
        lines.append("Exports and reports made earlier are not changed.")
        return " ".join(lines)


def _people(n: int) -> str:
    return "1 participant" if n == 1 else f"{n} participants"


def find_participants(org: Organization, email: str) -> list[Participant]:
    """Members of the organization (not yet erased) with this email, any case."""
    return _living_members(org, func.lower(Participant.email) == email.strip().lower())


def participants_by_id(org: Organization, ids: Sequence[int]) -> list[Participant]:
    """The organization's members (not yet erased) with these ids."""
    if not ids:
        return []
    return _living_members(org, Participant.id.in_(list(ids)))


def _living_members(org: Organization, condition: ColumnElement[bool]) -> list[Participant]:
    """The organization's members not yet erased that meet ``condition``, by id."""
    return list(
        db.session.scalars(
            select(Participant)
            .join(Team, Team.id == Participant.team_id)
            .where(Team.organization_id == org.id, condition, Participant.erased_at.is_(None))
            .order_by(Participant.id)
        )
    )


def participant_in(org: Organization, participant_id: int) -> Participant | None:
    """A member of the organization (erased or not), else None."""
    person = db.session.get(Participant, participant_id)
    if person is None or person.team.organization_id != org.id:
        return None
    return person


@dataclass(frozen=True)
class _Linked:
    invitation: Invitation
    mode: str
    submitted: list[int]
    drafts: list[int]


def _linked(person: Participant) -> list[_Linked]:
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.participant_id == person.id).order_by(Invitation.id)
    ).all()
    out = []
    for invitation in invitations:
        mode = db.session.scalar(
            select(SurveyRound.mode).where(SurveyRound.id == invitation.round_id)
        )
        rows = db.session.execute(
            select(Response.id, Response.status).where(Response.invitation_id == invitation.id)
        ).all()
        submitted = [rid for rid, status in rows if status == "submitted"]
        drafts = [rid for rid, status in rows if status != "submitted"]
        out.append(_Linked(invitation, str(mode), submitted, drafts))
    return out


def _tally(people: Sequence[Participant]) -> tuple[ErasureResult, list[int]]:
    """What erasing ``people`` touches: the result and the response ids to delete."""
    responses = drafts = revoked = 0
    confidential: set[int] = set()
    anonymous: set[int] = set()
    to_delete: list[int] = []
    for person in people:
        for link in _linked(person):
            round_id = link.invitation.round_id
            if link.invitation.revoked_at is None:
                revoked += 1
            drafts += len(link.drafts)
            to_delete += link.drafts
            if link.mode == "confidential":
                responses += len(link.submitted)
                to_delete += link.submitted
                if link.submitted or link.drafts:
                    confidential.add(round_id)
            elif link.invitation.submitted_at is not None:
                anonymous.add(round_id)
    result = ErasureResult(
        participant_ids=tuple(p.id for p in people),
        responses_deleted=responses,
        drafts_deleted=drafts,
        invitations_revoked=revoked,
        confidential_rounds=len(confidential),
        anonymous_rounds=len(anonymous),
        done=False,
    )
    return result, to_delete


def erasure_plan(people: Sequence[Participant]) -> ErasureResult:
    """What :func:`erase_participants` would do, changing nothing."""
    return _tally(people)[0]


def erase_participants(people: Sequence[Participant], now: datetime) -> ErasureResult:
    """Erase these members (see the module docs); the caller commits."""
    plan, to_delete = _tally(people)
    touched: dict[int, set[int]] = {}
    for start in range(0, len(to_delete), 500):
        for round_id, team_id in db.session.execute(
            select(Response.round_id, Response.team_id)
            .where(Response.id.in_(to_delete[start : start + 500]))
            .distinct()
        ):
            touched.setdefault(round_id, set()).add(team_id)
    for start in range(0, len(to_delete), 500):
        ids = to_delete[start : start + 500]
        db.session.execute(delete(Answer).where(Answer.response_id.in_(ids)))
        db.session.execute(delete(ContextAnswer).where(ContextAnswer.response_id.in_(ids)))
        db.session.execute(delete(Response).where(Response.id.in_(ids)))
    for person in people:
        for invitation in db.session.scalars(
            select(Invitation).where(Invitation.participant_id == person.id)
        ):
            if invitation.revoked_at is None:
                invitation.revoked_at = now
            invitation.token_hash = new_token()[1]  # the old link can never work again
        person.name = None
        person.email = None
        person.external_id = None
        person.erased_at = now
    db.session.flush()
    for round_id, team_ids in sorted(touched.items()):
        survey_round = db.session.get(SurveyRound, round_id)
        if survey_round is not None:
            releases.refresh(survey_round, now, team_ids)
    return ErasureResult(
        participant_ids=plan.participant_ids,
        responses_deleted=plan.responses_deleted,
        drafts_deleted=plan.drafts_deleted,
        invitations_revoked=plan.invitations_revoked,
        confidential_rounds=plan.confidential_rounds,
        anonymous_rounds=plan.anonymous_rounds,
        done=True,
    )


def record_erasure(
    org: Organization,
    result: ErasureResult,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    remote_addr: str | None = None,
) -> None:
    """Write the erasure to the audit log by participant id (no erased data); caller commits."""
    ids = ", ".join(f"#{pid}" for pid in result.participant_ids)
    audit.record(
        "participant_erased",
        actor=actor,
        actor_label=actor_label,
        organization_id=org.id,
        target=f"{_people(len(result.participant_ids))} ({ids})",
        detail=(
            f"{result.responses_deleted} responses and {result.drafts_deleted} drafts deleted,"
            f" {result.invitations_revoked} links revoked, {result.anonymous_rounds} anonymous"
            " rounds (nothing linked)"
        ),
        remote_addr=remote_addr,
    )
