"""The one bridge from database rows to tidy pandas frames for the analytics."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, select

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


def round_frame(survey_round: SurveyRound, instrument: Instrument) -> pd.DataFrame:
    """Submitted responses of a round as a wide frame.

    Columns: ``team`` (name), ``respondent`` (the imported respondent id, else
    ``r<response id>``), one float column per item (NaN = blank), one string
    column per context question. Rows are ordered by response id.
    """
    rows = db.session.execute(
        select(Response.id, Team.name, Response.external_id)
        .join(Team, Team.id == Response.team_id)
        .where(Response.round_id == survey_round.id, Response.status == "submitted")
        .order_by(Response.id)
    ).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    position = pd.Index(ids)
    frame = pd.DataFrame(
        {
            "team": pd.array([r[1] for r in rows], dtype="str"),
            "respondent": pd.array([r[2] if r[2] else f"r{r[0]}" for r in rows], dtype="str"),
        }
    )
    items = np.full((len(rows), len(instrument.item_ids)), np.nan)
    answers = _answers_frame(survey_round)
    if len(answers):
        columns = pd.Categorical(answers["item_id"], categories=list(instrument.item_ids)).codes
        rows_at = position.get_indexer(answers["response_id"].to_numpy())
        keep = (columns >= 0) & (rows_at >= 0)
        items[rows_at[keep], columns[keep]] = answers["value"].to_numpy()[keep]
    del answers
    for i, item in enumerate(instrument.item_ids):
        frame[item] = items[:, i]
    if instrument.context:
        context = {q: np.full(len(rows), None, dtype=object) for q in instrument.context_ids}
        found = db.session.execute(
            select(ContextAnswer.response_id, ContextAnswer.question_id, ContextAnswer.value)
            .join(Response, Response.id == ContextAnswer.response_id)
            .where(Response.round_id == survey_round.id, Response.status == "submitted")
        )
        for response_id, question_id, value in found:
            if question_id in context:
                context[question_id][position.get_loc(response_id)] = value
        for question_id, values in context.items():
            frame[question_id] = pd.array(values, dtype="str")
    return frame


def _answers_frame(survey_round: SurveyRound) -> pd.DataFrame:
    """(response_id, item_id, value) of a round's submitted responses, read in bulk.

    Rows go straight from the driver's cursor into the frame, skipping the
    per-row work of ORM or Core result objects (millions of rows per round).
    """
    query = (
        select(Answer.response_id, Answer.item_id, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.round_id == survey_round.id, Response.status == "submitted")
    )
    connection = db.session.connection()
    compiled = query.compile(dialect=connection.dialect)
    cursor = connection.connection.cursor()
    try:
        positional = compiled.positiontup or []
        params = (
            tuple(compiled.params[name] for name in positional) if positional else compiled.params
        )
        cursor.execute(str(compiled), params)
        frames = []
        while chunk := cursor.fetchmany(500_000):
            frames.append(
                pd.DataFrame.from_records(chunk, columns=["response_id", "item_id", "value"])
            )
    finally:
        cursor.close()
    if not frames:
        return pd.DataFrame({"response_id": [], "item_id": [], "value": []})
    answers = pd.concat(frames, ignore_index=True)
    answers["value"] = answers["value"].astype("float64")
    return answers


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
