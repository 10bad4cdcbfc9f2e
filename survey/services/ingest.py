"""Storing already-complete responses in bulk (demo data, CSV import)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert

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
            {"response_id": rid, "item_id": item, "value": value}
            for rid, row in zip(ids, batch, strict=True)
            for item, value in row.answers.items()
        ]
        contexts = [
            {"response_id": rid, "question_id": qid, "value": value}
            for rid, row in zip(ids, batch, strict=True)
            for qid, value in row.context.items()
        ]
        if answers:
            db.session.execute(insert(Answer), answers)
        if contexts:
            db.session.execute(insert(ContextAnswer), contexts)
        stored += len(batch)
    return stored
