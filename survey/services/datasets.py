"""The one bridge from database rows to tidy pandas frames for the analytics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Select, String, cast, func, select

from analytics.instrument import Instrument
from survey.extensions import db
from survey.models import (
    Answer,
    ContextAnswer,
    Invitation,
    Participant,
    Response,
    SurveyRound,
    Team,
)

#: Separator of the per-response lists of item ids and values aggregated in SQL
#: (item ids are identifiers and values numbers, so neither can contain it).
_SEP = ","
#: Responses whose answers are decoded at a time (bounds the per-answer arrays).
_CHUNK = 20_000


def round_frame(
    survey_round: SurveyRound,
    instrument: Instrument,
    where: tuple[ColumnElement[bool], ...] | None = None,
) -> pd.DataFrame:
    """Submitted responses of a round as a wide frame.

    ``where`` replaces the default selection (every submitted response of the
    round) with other conditions on :class:`Response`, e.g. a release snapshot's
    (:func:`survey.services.releases.snapshot_conditions`).

    Columns: ``team`` (name), ``respondent`` (the imported respondent id, else
    ``r<response id>``), one float column per item (NaN = blank), one string
    column per context question. Rows are ordered by response id.
    """
    submitted = where or (Response.round_id == survey_round.id, Response.status == "submitted")
    rows = _fetch(
        select(Response.id, Team.name, Response.external_id)
        .join(Team, Team.id == Response.team_id)
        .where(*submitted)
        .order_by(Response.id)
    )
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    position = pd.Index(ids)
    frame = pd.DataFrame(
        {
            "team": pd.array([r[1] for r in rows], dtype="str"),
            "respondent": pd.array([r[2] if r[2] else f"r{r[0]}" for r in rows], dtype="str"),
        }
    )
    del rows
    # Item-major, so that each item column is contiguous in the frame's block.
    items = np.full((len(instrument.item_ids), len(ids)), np.nan)
    _fill_answers(items, position, submitted, instrument.item_ids)
    frame = pd.concat(
        [frame, pd.DataFrame(items.T, columns=list(instrument.item_ids), copy=False)], axis=1
    )
    if instrument.context:
        context = _context_columns(position, submitted, instrument.context_ids)
        for question_id, values in context.items():
            frame[question_id] = pd.array(values, dtype="str")
    return frame


def _fetch(query: Select[Any]) -> list[tuple[Any, ...]]:
    """Every row of ``query`` as plain tuples (see :func:`_fetch_chunks`)."""
    return [row for chunk in _fetch_chunks(query) for row in chunk]


def _fetch_chunks(query: Select[Any], size: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``query`` as plain tuples, straight from the driver's cursor.

    Skips the per-row work of ORM or Core result objects (a round has up to
    millions of answers). All rows in one list, or lists of ``size`` rows.
    """
    connection = db.session.connection()
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    cursor = connection.connection.cursor()
    try:
        positional = compiled.positiontup or []
        params = (
            tuple(compiled.params[name] for name in positional) if positional else compiled.params
        )
        cursor.execute(str(compiled), params)
        if size is None:
            yield cursor.fetchall()
            return
        while chunk := cursor.fetchmany(size):
            yield chunk
    finally:
        cursor.close()


def _fill_answers(
    items: np.ndarray, position: pd.Index, submitted: tuple[Any, ...], item_ids: Sequence[str]
) -> None:
    """Write the answers of the responses at ``position`` into ``items`` (items x rows).

    The database aggregates each response's answers into two parallel lists,
    item ids and values, so that one row per response (not per answer) crosses
    into Python; both lists come from the same pass over the response's rows,
    so their orders match. Responses share few distinct lists of item ids, so
    those are decoded once each, and the values all at once by numpy, a chunk of
    responses at a time.
    """
    query = (
        select(
            Response.id,
            func.count(),
            func.aggregate_strings(Answer.item_id, _SEP),
            func.aggregate_strings(func.coalesce(cast(Answer.value, String), "nan"), _SEP),
        )
        .join(Answer, Answer.response_id == Response.id)
        .where(*submitted)
        .group_by(Response.id)
    )
    column_of = {item: j for j, item in enumerate(item_ids)}
    decoded: dict[str, np.ndarray] = {}  # item columns of each list of item ids seen
    for chunk in _fetch_chunks(query, _CHUNK):
        if len(decoded) > _CHUNK:  # nearly every response answered other items
            decoded.clear()
        _fill_chunk(items, position, chunk, column_of, decoded)


def _fill_chunk(
    items: np.ndarray,
    position: pd.Index,
    chunk: list[tuple[Any, ...]],
    column_of: dict[str, int],
    decoded: dict[str, np.ndarray],
) -> None:
    """:func:`_fill_answers` of one chunk of (response id, count, item ids, values) rows."""
    # Columns by list comprehensions: zip(*rows) would make one tracked iterator per
    # row, and the garbage collector's passes over them cost ten times the copying.
    counts = np.array([row[1] for row in chunk], dtype=np.int64)
    rows_at = position.get_indexer(np.array([row[0] for row in chunk], dtype=np.int64))
    pattern, lists = pd.factorize(pd.Index([row[2] for row in chunk], dtype=object))
    columns_of_list = []
    for text in lists:
        columns = decoded.get(text)
        if columns is None:
            columns = np.array([column_of.get(item, -1) for item in text.split(_SEP)])
            decoded[text] = columns
        columns_of_list.append(columns)
    lengths = np.array([len(columns) for columns in columns_of_list], dtype=np.int64)
    if not np.array_equal(lengths[pattern], counts):
        raise RuntimeError("answers of a response could not be decoded (separator in an item id)")
    # Item column of every answer, in answer order.
    flat = np.concatenate(columns_of_list).astype(np.int64, copy=False)
    list_start = np.cumsum(lengths) - lengths
    answer_start = np.cumsum(counts) - counts
    total = int(counts.sum())
    columns = flat[np.arange(total) + np.repeat(list_start[pattern] - answer_start, counts)]
    values = _parse_numbers([row[3] for row in chunk], total)
    target = np.repeat(rows_at, counts) + columns * items.shape[1]
    keep = (columns >= 0) & np.repeat(rows_at >= 0, counts)
    items.reshape(-1)[target[keep]] = values[keep]


def _parse_numbers(lists: Sequence[str], total: int) -> np.ndarray:
    """The ``total`` numbers (or "nan") of ``_SEP``-separated lists, as floats."""
    text = _SEP.join(lists)
    if len(text) == 2 * total - 1:
        # Most likely every value is one digit (the usual rating scale, no blanks).
        raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        digits = raw[::2]
        if (
            np.all(raw[1::2] == ord(_SEP))
            and digits.min(initial=ord("0")) >= ord("0")
            and digits.max(initial=ord("0")) <= ord("9")
        ):
            return digits.astype(float) - ord("0")
    values = np.fromstring(text, dtype=float, sep=_SEP)
    if len(values) != total:
        raise RuntimeError("answer values could not be decoded")
    return values


def _context_columns(
    position: pd.Index, submitted: tuple[Any, ...], question_ids: Sequence[str]
) -> dict[str, np.ndarray]:
    """One object array (None = unanswered) per context question, rows as ``position``."""
    context = {q: np.full(len(position), None, dtype=object) for q in question_ids}
    query = (
        select(ContextAnswer.response_id, ContextAnswer.question_id, ContextAnswer.value)
        .join(Response, Response.id == ContextAnswer.response_id)
        .where(*submitted)
    )
    questions = pd.Index(list(question_ids))
    for found in _fetch_chunks(query, 10 * _CHUNK):
        rows_at = position.get_indexer(np.array([row[0] for row in found], dtype=np.int64))
        questions_at = questions.get_indexer([row[1] for row in found])
        values = np.array([row[2] for row in found], dtype=object)
        for j, question_id in enumerate(question_ids):
            keep = (questions_at == j) & (rows_at >= 0)
            context[question_id][rows_at[keep]] = values[keep]
    return context


def invited_by_team(survey_round: SurveyRound) -> dict[str, int]:
    """Invitations (not revoked) per team name; empty for imported rounds."""
    return dict(
        db.session.execute(
            select(Team.name, func.count(Invitation.id))
            .join(Participant, Participant.team_id == Team.id)
            .join(Invitation, Invitation.participant_id == Participant.id)
            .where(Invitation.round_id == survey_round.id, Invitation.revoked_at.is_(None))
            .group_by(Team.name)
        ).all()
    )
