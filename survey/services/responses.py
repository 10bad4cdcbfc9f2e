"""A respondent's way through a round: access, drafts, page saves, submission."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache

from sqlalchemy import (
    CTE,
    Connection,
    Executable,
    Integer,
    Table,
    Text,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

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
from survey.services import releases
from survey.services.instruments import instrument_by_hash
from survey.services.questionnaire import Page, PageInput, build_pages


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


_PAGES: dict[tuple[str, str | None], tuple[Page, ...]] = {}  # per content hash and language
_PAGES_MAX = 64


def pages_of(
    instrument_id: int, instrument_hash: str, language: str | None = None
) -> tuple[Page, ...]:
    """The questionnaire pages of an instrument version (built once per process and language).

    The texts are in ``language`` when the instrument is written in it (see
    :func:`content_language`), else in the instrument file's own language; the
    fields and stored values are the same in every language.
    """
    key = (instrument_hash, language)
    pages = _PAGES.get(key)
    if pages is None:
        instrument = instrument_by_hash(instrument_id, instrument_hash)
        pages = build_pages(instrument.localized(content_language(instrument, language)))
        if len(_PAGES) >= _PAGES_MAX:
            _PAGES.pop(next(iter(_PAGES)))
        _PAGES[key] = pages
    return pages


def pages_for(access: Access, language: str | None = None) -> tuple[Page, ...]:
    """The questionnaire pages the invitation's round asks, in ``language`` when it can."""
    assert access.instrument_id is not None and access.instrument_hash is not None
    return pages_of(access.instrument_id, access.instrument_hash, language)


def content_language(instrument: Instrument, wanted: str | None) -> str:
    """The language the instrument's texts are shown in: ``wanted`` if it is written in it."""
    return wanted if wanted in instrument.languages else instrument.source_language


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


_NOW = bindparam("now", type_=UTCDateTime())
_NEXT_PAGE = bindparam("next_page", type_=Integer())
# The invitation that may answer now: check_access's OK, as SQL (tested to agree).
_ANSWERING_INVITATION = (
    select(_INVITATIONS.id)
    .join(SurveyRound.__table__, _ROUNDS.id == _INVITATIONS.round_id)
    .where(
        _INVITATIONS.token_hash == bindparam("token_hash"),
        _INVITATIONS.submitted_at.is_(None),
        _INVITATIONS.revoked_at.is_(None),
        _INVITATIONS.expires_at > _NOW,
        _ROUNDS.status == "open",
        or_(_ROUNDS.opens_at.is_(None), _ROUNDS.opens_at <= _NOW),
        or_(_ROUNDS.closes_at.is_(None), _ROUNDS.closes_at > _NOW),
        _ROUNDS.instrument_id == bindparam("round_instrument_id", type_=Integer()),
    )
    .scalar_subquery()
)
_MARK_DRAFT = (  # Core, not ORM: nothing in the session needs to follow it
    update(Response.__table__)
    .where(
        _RESPONSES.invitation_id == _ANSWERING_INVITATION,
        _RESPONSES.status == "draft",
        _RESPONSES.current_page >= bindparam("page_number", type_=Integer()),
    )
    .values(
        current_page=case(
            (_RESPONSES.current_page < _NEXT_PAGE, _NEXT_PAGE), else_=_RESPONSES.current_page
        ),
        updated_at=_NOW,
    )
    .returning(_RESPONSES.id)
)


def save_page(
    token_hash: str,
    instrument_id: int,
    page_number: int,
    page_input: PageInput,
    now: datetime,
    *,
    next_page: int,
) -> bool:
    """Store page ``page_number``'s answers in the draft of the invitation with ``token_hash``.

    The statement checks access itself, so a save needs no read before it:
    it writes only while :func:`check_access` would say OK at ``now``, the
    round still asks instrument ``instrument_id``, the response is a draft
    and has reached ``page_number``. Then it raises the furthest page reached
    to ``next_page`` and upserts the page's item and context answers (one
    statement on PostgreSQL, three on SQLite) inside the caller's write
    transaction. Returns False, having changed nothing, when any condition
    fails (:func:`check_access` tells which). The caller commits.
    """
    connection = db.session.connection()
    params = {
        "token_hash": token_hash,
        "round_instrument_id": instrument_id,
        "page_number": page_number,
        "next_page": next_page,
        "now": now,
    }
    if connection.dialect.name == "postgresql":
        return _save_page_postgresql(connection, params, page_input)
    response_id = connection.execute(_MARK_DRAFT, params).scalar()
    if response_id is None:
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


def _postgresql_upsert_from(marked: CTE, table: Table, key: str, value_type: TypeEngine) -> CTE:
    """``INSERT ... SELECT`` of the page's (key, value) arrays into the marked draft."""
    given = (
        func.unnest(
            bindparam(f"{key}s", type_=postgresql.ARRAY(Text())),
            bindparam(f"{key}_values", type_=postgresql.ARRAY(value_type)),
        )
        .table_valued(key, "value")
        .render_derived(name="given")
    )
    insert = postgresql.insert(table).from_select(
        ["response_id", key, "value"],
        select(marked.c.id, given.c[key], given.c.value).select_from(
            marked.join(given, true())  # the one marked draft with every given pair
        ),
    )
    upsert = insert.on_conflict_do_update(
        index_elements=["response_id", key], set_={"value": insert.excluded.value}
    )
    return upsert.cte(f"{table.name}_saved")


# PostgreSQL: the same three writes as one statement (data-modifying CTEs always run
# to completion; both inserts take their rows only from a draft the UPDATE matched).
_MARKED = _MARK_DRAFT.cte("marked")
_SAVE_PAGE_POSTGRESQL = (
    select(func.count())
    .select_from(_MARKED)
    .add_cte(
        _postgresql_upsert_from(_MARKED, Answer.__table__, "item_id", Integer()),
        _postgresql_upsert_from(_MARKED, ContextAnswer.__table__, "question_id", Text()),
    )
)


def _save_page_postgresql(
    connection: Connection, params: dict[str, object], page_input: PageInput
) -> bool:
    marked = connection.execute(
        _SAVE_PAGE_POSTGRESQL,
        {
            **params,
            "item_ids": list(page_input.answers),
            "item_id_values": list(page_input.answers.values()),
            "question_ids": list(page_input.context),
            "question_id_values": list(page_input.context.values()),
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
    to the day. The team's results are then released if the release rule
    allows (:func:`survey.services.releases.refresh`). The caller commits.
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
    team_id = db.session.scalar(
        select(Response.team_id).where(
            Response.invitation_id == invitation_id, Response.status == "draft"
        )
    )
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
    assert team_id is not None  # the draft the update just marked
    releases.refresh(invitation.survey_round, now, {team_id})
    db.session.expire_all()
    return SubmitOutcome.SUBMITTED


def _start_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time.min, tzinfo=moment.tzinfo)
