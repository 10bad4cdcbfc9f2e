"""Storing already-complete responses in bulk (demo data, CSV import)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, insert

from survey.extensions import db
from survey.models import Answer, ContextAnswer, Response, SurveyRound

BATCH_ROWS = 2_000


@dataclass(frozen=True)
class SubmittedRow:
    """One complete response to store: team, answers (None = blank), context."""

    team_id: int
    answers: Mapping[str, int | None]
    context: Mapping[str, str | None]
    submitted_at: datetime
    invitation_id: int | None = None
    external_id: str | None = None


def store_submitted(survey_round: SurveyRound, rows: Sequence[SubmittedRow]) -> int:
    """Insert submitted responses with their answers using batched Core inserts.

    Returns the number of responses stored. The caller commits; a failure part
    way leaves the transaction to be rolled back whole.
    """
    stored = 0
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        params = [
            {
                "round_id": survey_round.id,
                "team_id": row.team_id,
                "instrument_id": survey_round.instrument_id,
                "invitation_id": row.invitation_id,
                "external_id": row.external_id,
                "status": "submitted",
                "current_page": 0,
                "created_at": row.submitted_at,
                "updated_at": row.submitted_at,
                "submitted_at": row.submitted_at,
            }
            for row in batch
        ]
        ids = db.session.scalars(
            insert(Response).returning(Response.id, sort_by_parameter_order=True), params
        ).all()
        answers = [
            (rid, item, value)
            for rid, row in zip(ids, batch, strict=True)
            for item, value in row.answers.items()
        ]
        contexts = [
            (rid, qid, value)
            for rid, row in zip(ids, batch, strict=True)
            for qid, value in row.context.items()
        ]
        _insert_tuples(Answer.__table__, ("response_id", "item_id", "value"), answers)
        _insert_tuples(ContextAnswer.__table__, ("response_id", "question_id", "value"), contexts)
        stored += len(batch)
    return stored


def _insert_tuples(table: Table, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    """``executemany`` of plain tuples through the driver: millions of answers, little overhead.

    Only integers, strings and NULL go through here, which need no type processing.
    """
    if not rows:
        return
    connection = db.session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    connection.exec_driver_sql(sql, rows)
