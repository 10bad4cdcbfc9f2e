"""A respondent's way through a round: access, drafts, page saves, submission."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select, update

from analytics.instrument import Instrument
from survey.extensions import db
from survey.models import Answer, ContextAnswer, Invitation, Response, SurveyRound
from survey.services.instruments import instrument_of
from survey.services.questionnaire import Page, PageInput


class AccessStatus(enum.Enum):
    """Why an invitation may or may not be used now."""

    OK = "ok"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    SUBMITTED = "submitted"

    @property
    def http_status(self) -> int:
        """The HTTP status of the page that explains this state."""
        return {"ok": 200, "unknown": 404, "submitted": 200}.get(self.value, 410)


@dataclass(frozen=True)
class Access:
    """The outcome of checking an invitation."""

    status: AccessStatus
    invitation: Invitation | None = None


def check_access(token_hash: str | None, now: datetime) -> Access:
    """Whether the invitation with this token hash may answer at ``now``."""
    if not token_hash:
        return Access(AccessStatus.UNKNOWN)
    invitation = db.session.scalar(select(Invitation).filter_by(token_hash=token_hash))
    if invitation is None:
        return Access(AccessStatus.UNKNOWN)
    if invitation.submitted_at is not None:
        return Access(AccessStatus.SUBMITTED, invitation)
    if invitation.revoked_at is not None:
        return Access(AccessStatus.REVOKED, invitation)
    if now >= invitation.expires_at:
        return Access(AccessStatus.EXPIRED, invitation)
    survey_round = invitation.survey_round
    if survey_round.status == "draft" or (
        survey_round.opens_at is not None and now < survey_round.opens_at
    ):
        return Access(AccessStatus.NOT_OPEN, invitation)
    if not survey_round.accepts_answers(now):
        return Access(AccessStatus.CLOSED, invitation)
    return Access(AccessStatus.OK, invitation)


def instrument_for(invitation: Invitation) -> Instrument:
    """The instrument the invitation's round asks."""
    return instrument_of(invitation.survey_round.instrument)


def find_draft(invitation: Invitation) -> Response | None:
    """The invitation's draft response, if the person has started."""
    return db.session.scalar(select(Response).filter_by(invitation_id=invitation.id))


def start_draft(invitation: Invitation, now: datetime) -> Response:
    """The invitation's draft, created on first use."""
    draft = find_draft(invitation)
    if draft is not None:
        return draft
    survey_round: SurveyRound = invitation.survey_round
    draft = Response(
        round_id=survey_round.id,
        team_id=invitation.participant.team_id,
        instrument_id=survey_round.instrument_id,
        invitation_id=invitation.id,
        status="draft",
        current_page=1,
        created_at=now,
        updated_at=now,
    )
    db.session.add(draft)
    db.session.flush()
    return draft


def saved_answers(response: Response) -> tuple[dict[str, int | None], dict[str, str | None]]:
    """The draft's saved item answers and context answers (None = skipped)."""
    answers = {
        a.item_id: a.value
        for a in db.session.scalars(select(Answer).filter_by(response_id=response.id))
    }
    context = {
        c.question_id: c.value
        for c in db.session.scalars(select(ContextAnswer).filter_by(response_id=response.id))
    }
    return answers, context


def is_complete(response: Response, pages: tuple[Page, ...]) -> bool:
    """Whether every page was reached and every field answered or skipped."""
    if response.current_page < len(pages):
        return False
    items, context = saved_answers(response)
    return all(name in items or name in context for p in pages for name in p.field_names)


def save_page(
    response: Response, page: Page, page_input: PageInput, now: datetime, *, next_page: int
) -> None:
    """Store one page's answers in the draft, replacing earlier answers to them."""
    if response.status != "draft":
        raise ValueError("a submitted response cannot change")
    existing = {
        a.item_id: a
        for a in db.session.scalars(
            select(Answer).filter(
                Answer.response_id == response.id,
                Answer.item_id.in_([p.item.id for p in page.items]),
            )
        )
    }
    for item_id, value in page_input.answers.items():
        if item_id in existing:
            existing[item_id].value = value
        else:
            db.session.add(Answer(response_id=response.id, item_id=item_id, value=value))
    existing_ctx = {
        c.question_id: c
        for c in db.session.scalars(select(ContextAnswer).filter_by(response_id=response.id))
    }
    for question_id, value in page_input.context.items():
        if question_id in existing_ctx:
            existing_ctx[question_id].value = value
        else:
            db.session.add(
                ContextAnswer(response_id=response.id, question_id=question_id, value=value)
            )
    response.current_page = max(response.current_page, next_page)
    response.updated_at = now
    db.session.flush()


class SubmitOutcome(enum.Enum):
    """What a submit did."""

    SUBMITTED = "submitted"
    ALREADY_SUBMITTED = "already_submitted"
    NO_DRAFT = "no_draft"


def submit(invitation_id: int, now: datetime) -> SubmitOutcome:
    """Submit the invitation's draft exactly once, even under concurrent requests.

    The invitation is claimed with a conditional ``UPDATE ... WHERE
    submitted_at IS NULL``; only the request whose update hits a row goes on to
    mark the draft submitted, in the same transaction. In anonymous rounds the
    response is then unlinked from the invitation and its timestamps coarsened
    to the day. The caller commits.
    """
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        return SubmitOutcome.NO_DRAFT
    anonymous = invitation.survey_round.mode == "anonymous"
    stamp = _start_of_day(now) if anonymous else now
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.submitted_at.is_(None))
        .values(submitted_at=stamp)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return SubmitOutcome.ALREADY_SUBMITTED
    values: dict[str, object] = {"status": "submitted", "submitted_at": stamp, "updated_at": stamp}
    if anonymous:
        values.update(invitation_id=None, created_at=stamp)
    marked = db.session.execute(
        update(Response)
        .where(Response.invitation_id == invitation_id, Response.status == "draft")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:
        # Nothing to submit: undo the claim within this transaction.
        db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id)
            .values(submitted_at=None)
            .execution_options(synchronize_session=False)
        )
        return SubmitOutcome.NO_DRAFT
    db.session.expire_all()
    return SubmitOutcome.SUBMITTED


def _start_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time.min, tzinfo=moment.tzinfo)
