"""A respondent's way through a round: access, drafts, page saves, submission."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache

from sqlalchemy import Executable, Integer, Table, bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from analytics.instrument import Instrument
from survey.dbtypes import UTCDateTime
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
    draft: Response | None = None


# One query for every respondent request: the invitation, its round and
# instrument version (the definition column is deferred, see instrument_of) and
# the draft response if there is one. Built once; executed with its token hash.
_ACCESS_QUERY = (
    select(Invitation, Response)
    .outerjoin(Response, Response.invitation_id == Invitation.id)
    .options(joinedload(Invitation.survey_round).joinedload(SurveyRound.instrument))
    .where(Invitation.token_hash == bindparam("token_hash"))
)


def check_access(token_hash: str | None, now: datetime) -> Access:
    """Whether the invitation with this token hash may answer at ``now``."""
    if not token_hash:
        return Access(AccessStatus.UNKNOWN)
    found = db.session.execute(_ACCESS_QUERY, {"token_hash": token_hash}).first()
    if found is None:
        return Access(AccessStatus.UNKNOWN)
    invitation, draft = found
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
    return Access(AccessStatus.OK, invitation, draft)


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


_MARK_DRAFT = (
    update(Response)
    .where(Response.id == bindparam("response_id"), Response.status == "draft")
    .values(
        current_page=case(
            (Response.current_page < bindparam("page", type_=Integer()), bindparam("page")),
            else_=Response.current_page,
        ),
        updated_at=bindparam("now", type_=UTCDateTime()),
    )
    .execution_options(synchronize_session=False)
)


def save_page(response_id: int, page_input: PageInput, now: datetime, *, next_page: int) -> bool:
    """Store one page's answers in a draft, replacing earlier answers to them.

    Three statements inside the caller's write transaction: the draft is
    marked (only while it is still a draft, so a concurrent submit wins
    cleanly), then the page's item and context answers are upserted. Returns
    False, having changed nothing, when the response is no longer a draft.
    The caller commits.
    """
    marked = db.session.execute(
        _MARK_DRAFT, {"response_id": response_id, "page": next_page, "now": now}
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if page_input.answers:
        db.session.execute(
            _upsert(Answer.__table__, "item_id"),
            [
                {"response_id": response_id, "item_id": k, "value": v}
                for k, v in page_input.answers.items()
            ],
        )
    if page_input.context:
        db.session.execute(
            _upsert(ContextAnswer.__table__, "question_id"),
            [
                {"response_id": response_id, "question_id": k, "value": v}
                for k, v in page_input.context.items()
            ],
        )
    return True


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@cache
def _upsert_for(dialect: str, table: Table, key: str) -> Executable:
    insert = _INSERTS[dialect](table)
    return insert.on_conflict_do_update(
        index_elements=["response_id", key], set_={"value": insert.excluded.value}
    )


def _upsert(table: Table, key: str) -> Executable:
    """``INSERT ... ON CONFLICT (response_id, key) DO UPDATE SET value`` for this database."""
    return _upsert_for(db.session.get_bind().dialect.name, table, key)


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
