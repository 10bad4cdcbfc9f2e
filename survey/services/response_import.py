"""Importing a validated wide frame of responses into a round, all or nothing."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import select

from analytics.instrument import Instrument
from survey.extensions import db
from survey.models import InstrumentVersion, Response, SurveyRound
from survey.services import organizations, releases, rounds
from survey.services.ingest import BATCH_ROWS, SubmittedRow, store_submitted


class ImportConflict(ValueError):
    """The file cannot go into this round (other instrument, respondents already there)."""


@dataclass
class ImportReport:
    """What an import created and stored."""

    organization_created: bool = False
    round_created: bool = False
    teams_created: list[str] = field(default_factory=list)
    stored: int = 0


def import_frame(
    org_name: str,
    round_name: str,
    instrument_row: InstrumentVersion,
    instrument: Instrument,
    frame: pd.DataFrame,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Store every row of ``frame`` as a submitted response; the caller commits.

    Creates the organization, the teams and the round (closed, confidential)
    when they do not exist. Raises :class:`ImportConflict` before storing
    anything when the round uses another instrument or already holds one of
    the file's respondent ids. The teams' results are then released as the
    release rule allows (:func:`survey.services.releases.refresh`).
    """
    report = ImportReport()
    org, report.organization_created = organizations.get_or_create_organization(org_name)
    survey_round = rounds.find_round(org, round_name)
    if survey_round is not None and survey_round.instrument_id != instrument_row.id:
        raise ImportConflict(
            f"Round {round_name!r} uses {survey_round.instrument.label}, "
            f"not {instrument_row.label}."
        )
    if survey_round is not None and "respondent" in frame.columns:
        _refuse_known_respondents(survey_round, frame)
    teams = {}
    for name in pd.unique(frame["team"]):
        team, created = organizations.get_or_create_team(org, str(name))
        teams[str(name)] = team
        if created:
            report.teams_created.append(str(name))
    if survey_round is None:
        survey_round = rounds.create_round(
            org, round_name, instrument_row, teams.values(), status="closed", closes_at=now
        )
        report.round_created = True
    else:
        for team in teams.values():
            if team not in survey_round.teams:
                survey_round.teams.append(team)
    report.stored = _store(survey_round, instrument, frame, teams, now, progress)
    releases.refresh(survey_round, now, {team.id for team in teams.values()})
    return report


def _refuse_known_respondents(survey_round: SurveyRound, frame: pd.DataFrame) -> None:
    known = set(
        db.session.scalars(
            select(Response.external_id).where(
                Response.round_id == survey_round.id, Response.external_id.is_not(None)
            )
        )
    )
    clash = sorted(known.intersection(frame["respondent"].dropna().astype(str)))
    if clash:
        shown = ", ".join(clash[:5]) + (f" and {len(clash) - 5} more" if len(clash) > 5 else "")
        raise ImportConflict(f"Round {survey_round.name!r} already holds respondents {shown}.")


def _store(
    survey_round: SurveyRound,
    instrument: Instrument,
    frame: pd.DataFrame,
    teams: dict,  # type: ignore[type-arg]
    now: datetime,
    progress: Callable[[int], None] | None,
) -> int:
    item_ids = list(instrument.item_ids)
    context_ids = [q for q in instrument.context_ids if q in frame.columns]
    team_ids = frame["team"].map(lambda name: teams[str(name)].id).to_numpy()
    values = frame[item_ids].to_numpy(dtype=float)
    contexts = {q: frame[q].to_numpy(dtype=object) for q in context_ids}
    respondents = frame["respondent"].to_numpy(dtype=object) if "respondent" in frame else None
    stored = 0
    for start in range(0, len(frame), BATCH_ROWS):
        stop = min(start + BATCH_ROWS, len(frame))
        batch = [
            SubmittedRow(
                team_id=int(team_ids[i]),
                answers={
                    item: None if math.isnan(v) else int(v)
                    for item, v in zip(item_ids, values[i], strict=True)
                },
                context={q: _text(contexts[q][i]) for q in context_ids},
                submitted_at=now,
                external_id=_text(respondents[i]) if respondents is not None else None,
            )
            for i in range(start, stop)
        ]
        stored += store_submitted(survey_round, batch)
        if progress is not None:
            progress(stop - start)
    return stored


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    return text or None
