"""Bulk reads of a round's rows for the export (:mod:`survey.services.export`).

Two passes, both run by the export inside one transaction, over the responses
selected by ``where`` (SQL conditions on :class:`~survey.models.Response`: the
export passes those of the round's release snapshot,
:func:`survey.services.releases.snapshot_conditions`):

1. :func:`read_round_rows` - the quasi-identifiers of every selected response
   (team, submission week, context answers) and the release that published
   it, as numpy arrays in id order;
2. :func:`read_answers` - the item answers, a chunk of responses by id at a
   time, into an :class:`AnswerMatrix` (``int8`` per answer, ``MISSING`` when
   unanswered; memory-mapped on disk beyond ``IN_MEMORY_BYTES``).

Rows come straight from the database driver as plain tuples (on PostgreSQL a
server-side cursor) and become numpy arrays column by column; Python does no
work per answer. On SQLite each response's answers arrive packed in one row
(``group_concat`` of the values as fixed-width digits, constants inlined in
the SQL); elsewhere, or with ``PACKED_READS`` off, answers are read one row
per answer, joined with the responses. A packed response whose item list is
irregular is unpacked item by item, and one whose values cannot be decoded is
read again row by row (``MALFORMED_BATCH`` responses per query). When an id
range is dense - at most ``DENSE_SPAN`` ids per selected response - the join
on the responses is skipped and the rows of other responses (drafts,
unreleased ones, other rounds) are dropped in numpy instead.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Integer, Select, cast, func, literal_column, select

from analytics.instrument import Instrument
from survey.extensions import db
from survey.models import Answer, ContextAnswer, Response, SurveyRound

__all__ = [
    "DENSE_SPAN",
    "FETCH_ROWS",
    "IN_MEMORY_BYTES",
    "MALFORMED_BATCH",
    "MISSING",
    "PACKED_READS",
    "AnswerMatrix",
    "Conditions",
    "RoundRows",
    "read_answers",
    "read_round_rows",
    "submitted",
]

FETCH_ROWS = 50_000
IN_MEMORY_BYTES = 64 * 1024 * 1024
MISSING = -128  # an unanswered item in the answer matrix (int8)
#: Answers of SQLite are read packed, one row per response (see :func:`_read_packed`).
PACKED_READS = True
#: Read without a join on the responses when an id range holds at most this many ids
#: per submitted response of the round (the rows of the others are read and dropped).
DENSE_SPAN = 1.25
#: Responses per query when packed answers that could not be decoded are read again.
MALFORMED_BATCH = 500


def _stream(statement: Select[Any], batch: int = FETCH_ROWS) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of a select as plain driver tuples, ``batch`` at a time."""
    connection = db.session.connection()
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if dialect.positional:
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    raw = connection.connection.dbapi_connection
    assert raw is not None
    if dialect.name == "postgresql":  # server-side cursor: rows arrive as they are fetched
        cursor = raw.cursor(name=f"negoscope_export_{secrets.token_hex(6)}")
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


def _columns(rows: Sequence[Sequence[Any]], count: int) -> list[list[Any]]:
    """Rows as lists of column values (``zip(*rows)`` is far slower on many rows)."""
    return [list(map(itemgetter(i), rows)) for i in range(count)]


#: SQL conditions on :class:`Response` selecting the responses to read.
Conditions = tuple[ColumnElement[bool], ...]


def submitted(survey_round: SurveyRound) -> Conditions:
    """Every submitted response of the round (the default selection)."""
    return (Response.round_id == survey_round.id, Response.status == "submitted")


@dataclass(frozen=True, eq=False)
class RoundRows:
    """Pass 1: the quasi-identifiers of every selected response, by response id.

    ``releases`` is the id of the team release that published each response
    (0 when none has).
    """

    ids: np.ndarray
    teams: np.ndarray
    weeks: np.ndarray
    week_labels: tuple[str, ...]
    context: list[np.ndarray]
    unknown_context: int
    releases: np.ndarray

    @property
    def n(self) -> int:
        return int(self.ids.size)


def read_round_rows(
    survey_round: SurveyRound, instrument: Instrument, where: Conditions | None = None
) -> RoundRows:
    """Pass 1: team, submission week, release and context answers of the selected responses.

    ``where`` selects the responses (default: every submitted response of the
    round). Responses are in id order; a context value that is not one of the
    question's options is left unanswered and counted in ``unknown_context``.
    """
    where = submitted(survey_round) if where is None else where
    ids_parts, team_parts, day_parts, release_parts = [], [], [], []
    day_index: dict[Any, int] = {}  # submission day (text or date) -> index
    statement = (
        select(Response.id, Response.team_id, Response.submitted_at, Response.release_id)
        .where(*where)
        .order_by(Response.id)
    )
    for rows in _stream(statement):
        id_column, team_column, time_column, release_column = _columns(rows, 4)
        ids_parts.append(np.array(id_column, dtype=np.int64))
        team_parts.append(np.array(team_column, dtype=np.int64))
        release_parts.append(
            np.array([0 if r is None else r for r in release_column], dtype=np.int64)
        )
        days = np.array(
            [value[:10] if isinstance(value, str) else value.date() for value in time_column],
            dtype=object,
        )
        codes, distinct = pd.factorize(days)
        index = [day_index.setdefault(day, len(day_index)) for day in distinct]
        day_parts.append(np.array(index, dtype=np.int32)[codes])
    ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int64)
    teams = np.concatenate(team_parts) if team_parts else np.zeros(0, np.int64)
    released = np.concatenate(release_parts) if release_parts else np.zeros(0, np.int64)
    day_labels = [_iso_week(day) for day in day_index]
    labels = sorted(set(day_labels))  # ISO weeks sort as text
    rank = {label: i for i, label in enumerate(labels)}
    week_of_day = np.array([rank[label] for label in day_labels], dtype=np.int16)
    weeks = week_of_day[np.concatenate(day_parts)] if day_parts else np.zeros(0, np.int16)

    context = [np.full(ids.size, -1, dtype=np.int16) for _ in instrument.context]
    known = {q.id for q in instrument.context}
    lookup = {
        (q.id, option): (j, i)
        for j, q in enumerate(instrument.context)
        for i, option in enumerate(q.options)
    }
    unknown = 0
    if instrument.context and ids.size:
        first, last = int(ids[0]), int(ids[-1])
        statement = select(
            ContextAnswer.response_id, ContextAnswer.question_id, ContextAnswer.value
        ).where(ContextAnswer.response_id >= first, ContextAnswer.response_id <= last)
        if last - first + 1 > ids.size * DENSE_SPAN:  # else other responses are dropped below
            statement = statement.join(Response, Response.id == ContextAnswer.response_id).where(
                *where
            )
        for rows in _stream(statement):
            id_column, question_column, value_column = _columns(rows, 3)
            response_ids = np.array(id_column, dtype=np.int64)
            # (question, value) pairs are few: look each distinct pair up once
            questions, question_names = pd.factorize(np.array(question_column, dtype=object))
            values, value_names = pd.factorize(np.array(value_column, dtype=object))  # None: -1
            width = len(value_names) + 1
            pair_codes, distinct = pd.factorize(questions.astype(np.int64) * width + values + 1)
            value_of = [None, *value_names]
            pairs = [(question_names[c // width], value_of[c % width]) for c in distinct.tolist()]
            table = np.array([lookup.get(pair, (-1, -1)) for pair in pairs], dtype=np.int64)
            # a value that is not one of the options could be free text: never exported
            strange = np.array(
                [v is not None and q in known and (q, v) not in lookup for q, v in pairs], bool
            )
            found = table[pair_codes]
            at = np.clip(np.searchsorted(ids, response_ids), 0, ids.size - 1)
            member = ids[at] == response_ids
            unknown += int(np.count_nonzero(strange[pair_codes] & member))
            ok = member & (found[:, 0] >= 0)
            for j in range(len(context)):
                mine = ok & (found[:, 0] == j)
                context[j][at[mine]] = found[mine, 1]
    return RoundRows(ids, teams, weeks, tuple(labels), context, unknown, released)


def _iso_week(day: Any) -> str:
    """ISO 8601 week label (``2026-W09``) of a day given as ``YYYY-MM-DD`` text or a date."""
    parsed = date.fromisoformat(day) if isinstance(day, str) else day
    year, week, _ = parsed.isocalendar()
    return f"{year}-W{week:02d}"


class AnswerMatrix:
    """Pass 2: item answers as a (responses x items) int8 matrix, on disk when large."""

    def __init__(self, n: int, items: Sequence[str], folder: Path) -> None:
        shape = (n, len(items))
        if n * len(items) <= IN_MEMORY_BYTES or n == 0:
            self.values = np.full(shape, MISSING, dtype=np.int8)
        else:
            self.values = np.lib.format.open_memmap(
                folder / "answers.npy", mode="w+", dtype=np.int8, shape=shape
            )
            self.values[:] = MISSING
        self.items = list(items)


def read_answers(
    survey_round: SurveyRound,
    instrument: Instrument,
    ids: np.ndarray,
    matrix: AnswerMatrix,
    chunk: int,
    progress: Callable[[str], None],
    where: Conditions | None = None,
) -> None:
    """Pass 2: fill ``matrix`` with the item answers of the responses ``ids`` (sorted).

    ``ids`` are those :func:`read_round_rows` read with the same ``where``.
    Reads ``chunk`` responses at a time by id range: packed on SQLite (see
    :func:`_read_packed`), one row per answer elsewhere or when
    ``PACKED_READS`` is off. Answers of other responses and items are ignored.
    """
    where = submitted(survey_round) if where is None else where
    packed = PACKED_READS and db.session.connection().dialect.name == "sqlite"
    for start in range(0, ids.size, chunk):
        stop = min(start + chunk, ids.size)
        progress(f"Reading answers of responses {start + 1:,}-{stop:,} of {ids.size:,}")
        first, last = int(ids[start]), int(ids[stop - 1])
        if packed:
            dense = last - first + 1 <= (stop - start) * DENSE_SPAN
            _read_packed(instrument, ids, matrix, first, last, dense=dense, where=where)
        else:
            chunk_where = (*where, Answer.response_id >= first, Answer.response_id <= last)
            _read_rows(instrument, ids, matrix, chunk_where)


def _read_rows(
    instrument: Instrument, ids: np.ndarray, matrix: AnswerMatrix, where: tuple[Any, ...]
) -> None:
    """One row per answer: portable (PostgreSQL, SQLite)."""
    statement = (
        select(Answer.response_id, Answer.item_id, _integer_or_missing())
        .join(Response, Response.id == Answer.response_id)
        .where(*where)
    )
    for rows in _stream(statement):
        _place_rows(instrument, ids, matrix, rows)


def _integer_or_missing() -> Any:
    """The stored value as an integer (as a packed read decodes it), ``MISSING`` if null."""
    return func.coalesce(cast(Answer.value, Integer), MISSING)


def _place_rows(
    instrument: Instrument, ids: np.ndarray, matrix: AnswerMatrix, rows: Sequence[Any]
) -> None:
    """Put (response id, item id, value) rows in the matrix (other responses, items: ignored)."""
    items = np.array(instrument.item_ids)
    order = np.argsort(items)
    sorted_items = items[order]
    width = max((len(i) for i in instrument.item_ids), default=1)
    record = np.dtype([("r", np.int64), ("i", f"U{width + 1}"), ("v", np.int64)])
    data = np.fromiter(rows, dtype=record, count=len(rows))
    at = np.clip(np.searchsorted(sorted_items, data["i"]), 0, items.size - 1)
    row = np.clip(np.searchsorted(ids, data["r"]), 0, ids.size - 1)
    ok = (sorted_items[at] == data["i"]) & (ids[row] == data["r"])
    values = np.clip(data["v"][ok], -127, 127)
    values[data["v"][ok] == MISSING] = MISSING
    matrix.values[row[ok], order[at[ok]]] = values.astype(np.int8)


@dataclass(frozen=True)
class _Packing:
    """How :func:`_read_packed` writes answers: ``width`` decimal digits of value + offset.

    An unanswered item is ``width`` dots. Every value of the instrument's scales
    takes exactly ``width`` digits, so that a response's answers are one string
    of ``items x width`` characters.
    """

    offset: int
    width: int

    @classmethod
    def of(cls, instrument: Instrument) -> _Packing:
        scales = [instrument.scale_for(item) for item in instrument.item_ids]
        low = min((s.min for s in scales), default=0)
        high = max((s.max for s in scales), default=0)
        if low >= 0 and high <= 9:
            return cls(0, 1)
        width = 2 if high - low <= 89 else 3  # scales lie within -127..127
        return cls(10 ** (width - 1) - low, width)

    @property
    def blank(self) -> str:
        return "." * self.width

    def decode(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ASCII codes (rows x items x width) -> int8 answers and which rows are well formed."""
        blank = (codes == ord(".")).all(axis=2)
        digits = (codes >= ord("0")) & (codes <= ord("9"))
        number = np.zeros(codes.shape[:2], dtype=np.int32)
        for place in range(self.width):
            number = number * 10 + codes[:, :, place].astype(np.int32) - ord("0")
        values = np.where(blank, MISSING, np.clip(number - self.offset, -127, 127))
        return values.astype(np.int8), (blank | digits.all(axis=2)).all(axis=1)


def _read_packed(
    instrument: Instrument,
    ids: np.ndarray,
    matrix: AnswerMatrix,
    first: int,
    last: int,
    *,
    dense: bool,
    where: Conditions,
) -> None:
    """SQLite: one row per response, its item ids and its values packed in two strings.

    This moves the per-answer work into SQLite: it reads about twice as fast as
    one row per answer. ``group_concat`` follows the scan of the answers'
    primary key (response, item), i.e. items in sorted order; a response whose
    item list differs (an answer row missing or unknown, another order) is
    unpacked item by item, and one holding a value that is not written in
    ``width`` digits (outside the scales, not an integer) is read again row by
    row. Without ``dense``, a join keeps the rows of the responses ``where``
    selects; with it, the answers of every response in the id range are read
    and those of others (drafts, unreleased, other rounds) dropped here.
    """
    items = list(instrument.item_ids)
    position = {item: i for i, item in enumerate(items)}
    sorted_items = sorted(items)
    expected = ",".join(sorted_items)
    to_instrument = np.array([position[item] for item in sorted_items], dtype=np.int64)
    packing = _Packing.of(instrument)
    # constants written into the SQL: as parameters SQLite reads them again for
    # every answer row, which costs a quarter of the query
    value = Answer.value
    if packing.offset:
        value = value + literal_column(str(packing.offset), Integer)
    statement = select(
        Answer.response_id,
        func.group_concat(Answer.item_id, literal_column("','")),
        func.group_concat(
            func.coalesce(value, literal_column(f"'{packing.blank}'")), literal_column("''")
        ),
    )
    if not dense:
        statement = statement.join(Response, Response.id == Answer.response_id).where(*where)
    statement = statement.where(Answer.response_id >= first, Answer.response_id <= last).group_by(
        Answer.response_id
    )
    size = len(items) * packing.width
    malformed: list[int] = []
    for rows in _stream(statement):
        m = len(rows)
        id_column, item_column, value_column = _columns(rows, 3)
        response_ids = np.array(id_column, dtype=np.int64)
        at = np.clip(np.searchsorted(ids, response_ids), 0, ids.size - 1)
        known = ids[at] == response_ids
        regular = known & np.fromiter((text == expected for text in item_column), bool, m)
        regular &= np.fromiter(map(len, value_column), np.int64, m) == size
        packed = "".join(itertools.compress(value_column, regular))
        codes = np.frombuffer(packed.encode("ascii", "replace"), dtype=np.uint8)
        block, ok = packing.decode(codes.reshape(-1, len(items), packing.width))
        target = np.empty_like(block)
        target[:, to_instrument] = block
        matrix.values[at[regular][ok]] = target[ok]
        malformed.extend(response_ids[regular][~ok].tolist())
        for index in np.flatnonzero(known & ~regular):
            cells = _unpack(item_column[index], value_column[index], packing)
            if cells is None:
                malformed.append(int(response_ids[index]))
                continue
            for item, number in cells:
                column = position.get(item)
                if column is not None:
                    matrix.values[at[index], column] = number
    for start in range(0, len(malformed), MALFORMED_BATCH):
        chosen = malformed[start : start + MALFORMED_BATCH]
        statement = select(Answer.response_id, Answer.item_id, _integer_or_missing()).where(
            Answer.response_id.in_(chosen)
        )
        for rows in _stream(statement):
            _place_rows(instrument, ids, matrix, rows)


def _unpack(item_text: str, value_text: str, packing: _Packing) -> list[tuple[str, int]] | None:
    """The (item, int8 value) pairs of one packed response; ``None`` if not well formed."""
    row_items = item_text.split(",")
    width = packing.width
    if len(value_text) != len(row_items) * width:
        return None
    codes = np.frombuffer(value_text.encode("ascii", "replace"), dtype=np.uint8)
    values, ok = packing.decode(codes.reshape(1, len(row_items), width))
    if not ok.all():
        return None
    return list(zip(row_items, values[0].tolist(), strict=True))
