"""A respondent's way through a round: access, drafts, page saves, submission."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache

from sqlalchemy import (
    Connection,
    Executable,
    Integer,
    Table,
    bindparam,
    case,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from analytics.instrument import Instrument
from survey.dbtypes import UTCDateTime
from survey.extensions import db
from survey.models import (
    Answer,
    ContextAnswer,
    InstrumentVersion,
    Invitation,
    Response,
    SurveyRound,
)
from survey.models.round import accepts_answers
from survey.services.instruments import instrument_by_hash
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
class Draft:
    """A started response: which one, and the furthest page reached."""

    id: int
    current_page: int


@dataclass(frozen=True)
class Access:
    """The outcome of checking an invitation: plain values, read in one query."""

    status: AccessStatus
    invitation_id: int | None = None
    round_id: int | None = None
    instrument_id: int | None = None
    instrument_hash: str | None = None
    draft: Draft | None = None


_INVITATIONS = Invitation.__table__.c
_ROUNDS = SurveyRound.__table__.c
_INSTRUMENTS = InstrumentVersion.__table__.c
_RESPONSES = Response.__table__.c
# One Core query for every respondent request: the invitation, its round, the
# instrument version's content hash and the draft if there is one. Built once.
_ACCESS_QUERY = (
    select(
        _INVITATIONS.id,
        _INVITATIONS.submitted_at,
        _INVITATIONS.revoked_at,
        _INVITATIONS.expires_at,
        _ROUNDS.id,
        _ROUNDS.status,
        _ROUNDS.opens_at,
        _ROUNDS.closes_at,
        _INSTRUMENTS.id,
        _INSTRUMENTS.content_hash,
        _RESPONSES.id,
        _RESPONSES.current_page,
    )
    .select_from(Invitation.__table__)
    .join(SurveyRound.__table__, _ROUNDS.id == _INVITATIONS.round_id)
    .join(InstrumentVersion.__table__, _INSTRUMENTS.id == _ROUNDS.instrument_id)
    .outerjoin(Response.__table__, _RESPONSES.invitation_id == _INVITATIONS.id)
    .where(_INVITATIONS.token_hash == bindparam("token_hash"))
)


def check_access(token_hash: str | None, now: datetime) -> Access:
    """Whether the invitation with this token hash may answer at ``now``."""
    if not token_hash:
        return Access(AccessStatus.UNKNOWN)
    row = db.session.connection().execute(_ACCESS_QUERY, {"token_hash": token_hash}).first()
    if row is None:
        return Access(AccessStatus.UNKNOWN)
    (invitation_id, submitted_at, revoked_at, expires_at, round_id, round_status, opens_at,
     closes_at, instrument_id, instrument_hash, draft_id, current_page) = row  # fmt: skip
    draft = Draft(draft_id, current_page) if draft_id is not None else None
    found = (invitation_id, round_id, instrument_id, instrument_hash)
    if submitted_at is not None:
        return Access(AccessStatus.SUBMITTED, *found)
    if revoked_at is not None:
        return Access(AccessStatus.REVOKED, *found)
    if now >= expires_at:
        return Access(AccessStatus.EXPIRED, *found)
    if round_status == "draft" or (opens_at is not None and now < opens_at):
        return Access(AccessStatus.NOT_OPEN, *found)
    if not accepts_answers(round_status, opens_at, closes_at, now):
        return Access(AccessStatus.CLOSED, *found)
    return Access(AccessStatus.OK, *found, draft)


def instrument_for(access: Access) -> Instrument:
    """The instrument the invitation's round asks (parsed once per process)."""
    assert access.instrument_id is not None and access.instrument_hash is not None
    return instrument_by_hash(access.instrument_id, access.instrument_hash)


def round_of(access: Access) -> SurveyRound:
    """The invitation's round, for pages that show it."""
    survey_round = db.session.get(SurveyRound, access.round_id)
    assert survey_round is not None
    return survey_round


def start_draft(access: Access, now: datetime) -> Draft:
    """The invitation's draft, created on first use (inside a write transaction)."""
    if access.draft is not None:
        return access.draft
    invitation = db.session.get(Invitation, access.invitation_id)
    assert invitation is not None and access.round_id is not None
    draft = Response(
        round_id=access.round_id,
        team_id=invitation.participant.team_id,
        instrument_id=access.instrument_id,
        invitation_id=invitation.id,
        status="draft",
        current_page=1,
        created_at=now,
        updated_at=now,
    )
    db.session.add(draft)
    db.session.flush()
    return Draft(draft.id, draft.current_page)


def saved_answers(draft: Draft) -> tuple[dict[str, int | None], dict[str, str | None]]:
    """The draft's saved item answers and context answers (None = skipped)."""
    answers = dict(
        db.session.execute(
            select(Answer.item_id, Answer.value).where(Answer.response_id == draft.id)
        ).all()
    )
    context = dict(
        db.session.execute(
            select(ContextAnswer.question_id, ContextAnswer.value).where(
                ContextAnswer.response_id == draft.id
            )
        ).all()
    )
    return answers, context


def is_complete(draft: Draft, pages: tuple[Page, ...]) -> bool:
    """Whether every page was reached and every field answered or skipped."""
    if draft.current_page < len(pages):
        return False
    items, context = saved_answers(draft)
    return all(name in items or name in context for p in pages for name in p.field_names)


_MARK_DRAFT = (  # Core, not ORM: nothing in the session needs to follow it
    update(Response.__table__)
    .where(_RESPONSES.id == bindparam("response_id"), _RESPONSES.status == "draft")
    .values(
        current_page=case(
            (_RESPONSES.current_page < bindparam("page", type_=Integer()), bindparam("page")),
            else_=_RESPONSES.current_page,
        ),
        updated_at=bindparam("now", type_=UTCDateTime()),
    )
)


def save_page(response_id: int, page_input: PageInput, now: datetime, *, next_page: int) -> bool:
    """Store one page's answers in a draft, replacing earlier answers to them.

    Three writes inside the caller's write transaction (one statement on
    PostgreSQL): the draft is marked (only while it is still a draft, so a
    concurrent submit wins cleanly), then the page's item and context answers
    are upserted. Returns
    False, having changed nothing, when the response is no longer a draft.
    The caller commits.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _save_page_postgresql(connection, response_id, page_input, now, next_page)
    marked = connection.execute(
        _MARK_DRAFT, {"response_id": response_id, "page": next_page, "now": now}
    )
    if marked.rowcount != 1:
        return False
    if page_input.answers:
        connection.execute(
            _upsert(Answer.__table__, "item_id"),
            [
                {"response_id": response_id, "item_id": k, "value": v}
                for k, v in page_input.answers.items()
            ],
        )
    if page_input.context:
        connection.execute(
            _upsert(ContextAnswer.__table__, "question_id"),
            [
                {"response_id": response_id, "question_id": k, "value": v}
                for k, v in page_input.context.items()
            ],
        )
    return True


# PostgreSQL: the same three writes as one statement (data-modifying CTEs always run
# to completion; both inserts take their rows only from a draft the UPDATE matched).
_SAVE_PAGE_POSTGRESQL = text(
    """
    WITH marked AS (
        UPDATE responses
        SET current_page = GREATEST(current_page, :page), updated_at = :now
        WHERE id = :response_id AND status = 'draft'
        RETURNING id
    ), items AS (
        INSERT INTO answers (response_id, item_id, value)
        SELECT marked.id, given.item_id, given.value
        FROM marked, unnest(CAST(:item_ids AS text[]), CAST(:item_values AS integer[]))
            AS given (item_id, value)
        ON CONFLICT (response_id, item_id) DO UPDATE SET value = excluded.value
    ), context AS (
        INSERT INTO context_answers (response_id, question_id, value)
        SELECT marked.id, given.question_id, given.value
        FROM marked, unnest(CAST(:question_ids AS text[]), CAST(:question_values AS text[]))
            AS given (question_id, value)
        ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value
    )
    SELECT count(*) FROM marked
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


def _save_page_postgresql(
    connection: Connection, response_id: int, page_input: PageInput, now: datetime, page: int
) -> bool:
    marked = connection.execute(
        _SAVE_PAGE_POSTGRESQL,
        {
            "response_id": response_id,
            "page": page,
            "now": now,
            "item_ids": list(page_input.answers),
            "item_values": list(page_input.answers.values()),
            "question_ids": list(page_input.context),
            "question_values": list(page_input.context.values()),
        },
    ).scalar_one()
    return marked == 1


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
