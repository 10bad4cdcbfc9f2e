"""Rendering every team's report of a round on all cores."""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import date
from pathlib import Path

from reports.context import TeamReportContext
from reports.team_report import render_team_report
from survey.models import SurveyRound
from survey.services import releases, team_reports

# Filled before the pool forks, read by the workers: contexts need not be pickled.
_CONTEXTS: list[TeamReportContext] = []


def contexts_for_round(
    survey_round: SurveyRound, threshold: int, today: date, language: str = "en"
) -> tuple[list[TeamReportContext], list[tuple[str, str]]]:
    """Report contexts of every eligible team, and (team, reason) for the others."""
    contexts, skipped = [], []
    for team in survey_round.teams:
        try:
            contexts.append(
                team_reports.team_context(survey_round, team, threshold, today, language)
            )
        except team_reports.TeamSuppressed:
            skipped.append((team.name, releases.unreleased_reason(survey_round, team).rstrip(".")))
    return contexts, skipped


def record_reports(
    survey_round: SurveyRound, snapshot_id: int, contexts: list[TeamReportContext], actor: str
) -> None:
    """Record the reports written in the anonymity ledger (a write transaction; caller commits)."""
    from survey.database import begin_write
    from survey.services import ledger

    begin_write()
    for context in contexts:
        shown = team_reports.shown_context("report", survey_round, snapshot_id, context)
        ledger.record(shown, actor=actor)


def file_name(team: str) -> str:
    """A safe, readable file name for a team's report."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", team).strip("-").lower() or "team"
    return f"{stem}.pdf"


def render_all(
    contexts: list[TeamReportContext],
    out_dir: Path,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Render each context to ``out_dir`` using ``jobs`` processes (all cores by default)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = _unique_names([c.team for c in contexts])
    workers = max(1, min(jobs or os.cpu_count() or 1, len(contexts) or 1))
    written = []
    if workers == 1:
        for context, name in zip(contexts, names, strict=True):
            written.append(_write(out_dir / name, render_team_report(context)))
            if progress:
                progress(1)
        return written
    # The first report is rendered here, before the pool forks, so that every worker
    # inherits what it loaded and cached (fonts, the text and font subsets of the
    # round's reports) instead of paying for it again.
    written.append(_write(out_dir / names[0], render_team_report(contexts[0])))
    if progress:
        progress(1)
    _CONTEXTS[:] = contexts
    # Objects that exist now (the app, the round's analysis, the contexts) are left
    # out of the workers' garbage collections, and their memory pages stay shared.
    # (A process that froze its objects itself is left as it is.)
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.collect()
        gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {pool.submit(_render, i): i for i in range(1, len(contexts))}
            for future in as_completed(futures):
                index = futures[future]
                written.append(_write(out_dir / names[index], future.result()))
                if progress:
                    progress(1)
    finally:
        if freeze:
            gc.unfreeze()
        _CONTEXTS.clear()
    return sorted(written)


def _render(index: int) -> bytes:
    return render_team_report(_CONTEXTS[index])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _unique_names(teams: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for team in teams:
        name = file_name(team)
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else name.replace(".pdf", f"-{count + 1}.pdf"))
    return names
