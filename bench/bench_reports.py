"""PDF team reports: one report, and ``negoscope report --all`` for 200 teams.

* **One report**, in this process: the context of one team of the analysed
  100k round (:func:`survey.services.team_reports.team_context`, analysis
  loaded from the database), rendered by
  :func:`survey.services.team_reports.team_pdf`, after one untimed warm-up
  render (fonts, first imports). Baseline: one empty A4 matplotlib figure
  saved as PDF, timed the same way. The time to build the team's context is
  reported too: the dashboard builds it on every request.
* **200-team batch**: ``negoscope report --round bench-200-teams --all
  --out-dir DIR`` as a subprocess on a fresh copy of the 200-team database (so
  every run analyses the round, then renders on all cores with a fork pool).
  Baseline: one report of that round rendered in this process (median of a
  few), times 200.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from bench.common import (
    Context,
    ProcessRun,
    Result,
    Section,
    cli_environment,
    median,
    negoscope_command,
    phase_table,
    repeat,
    run_process,
    sqlite_checkpoint,
    sqlite_url,
    work_dir,
)

SINGLE_TARGET_S = 1.5
BATCH_TARGET_S = 120.0
BATCH_TEAMS = 200
SINGLE_BUDGET = 30.0
BATCH_BUDGET = 260.0
BATCH_TIMEOUT = 900.0


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def empty_a4_pdf() -> bytes:
    """The baseline: one empty A4 portrait page rendered to PDF by matplotlib."""
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    Figure(figsize=(8.27, 11.69)).savefig(buffer, format="pdf")
    return buffer.getvalue()


@contextmanager
def team_contexts(
    db_path: Path, org: str, round_name: str, team_indexes: list[int]
) -> Iterator[list]:  # type: ignore[type-arg]
    """Report contexts of some teams of a round, built inside the app on ``db_path``."""
    from sqlalchemy import select

    from survey import create_app
    from survey.extensions import db
    from survey.models import Organization, SurveyRound
    from survey.services import team_reports

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": sqlite_url(db_path), "SECRET_KEY": uuid.uuid4().hex}
    )
    with app.app_context():
        try:
            survey_round = db.session.scalars(
                select(SurveyRound)
                .join(Organization)
                .where(SurveyRound.name == round_name, Organization.name == org)
            ).one()
            teams = sorted(survey_round.teams, key=lambda t: t.name)
            threshold = app.config["ANONYMITY_THRESHOLD"]
            yield [
                (
                    lambda team=teams[i]: team_reports.team_context(
                        survey_round, team, threshold, date.today()
                    )
                )
                for i in team_indexes
            ]
        finally:
            db.session.remove()
            db.engine.dispose()
            team_reports.clear_caches()


def run(ctx: Context) -> Section:
    section = Section("PDF team reports")
    _single(ctx, section)
    _batch(ctx, section)
    return section


def _single(ctx: Context, section: Section) -> None:
    from survey.services.team_reports import team_pdf

    data = ctx.data
    with team_contexts(data.db_100k, data.org, data.round_100k, [0, 1, 2, 3]) as builders:
        load = timed(builders[0])  # loads the stored analysis into this process
        context_times = [timed(build) for build in builders[1:]]
        context = builders[0]()
        cold = timed(lambda: team_pdf(context))
        cold_base = timed(empty_a4_pdf)
        pairs = repeat(
            lambda _: (timed(lambda: team_pdf(context)), timed(empty_a4_pdf)),
            runs=max(ctx.runs, 5),
            budget=ctx.budget(SINGLE_BUDGET),
        )
    report_s = [p[0] for p in pairs]
    section.results.append(
        Result(
            f"one PDF team report (100k round, team of {context.n})",
            "render time",
            "s",
            report_s,
            "one empty A4 matplotlib page to PDF",
            [p[1] for p in pairs],
            target=f"< {SINGLE_TARGET_S} s",
            met=median(report_s) < SINGLE_TARGET_S,
        )
    )
    section.notes += [
        f"One report: first (cold) render {cold:.2f} s, empty page {cold_base:.3f} s; "
        f"team context built from the in-memory 100k analysis in "
        f"{median(context_times) * 1000:.0f} ms (median of {len(context_times)} teams; "
        f"the first, loading the stored analysis from the database: {load * 1000:.0f} ms).",
        "",
    ]


def _batch(ctx: Context, section: Section) -> None:
    data = ctx.data
    sqlite_checkpoint(data.db_200)
    per_report: list[float] = []

    def batch(index: int) -> ProcessRun:
        ctx.log(f"  report --all run {index + 1} ...")
        with work_dir("reports") as folder:
            db_path = folder / "teams-200.sqlite3"
            shutil.copyfile(data.db_200, db_path)
            out = folder / "out"
            command = [*negoscope_command(), "report", "--round", data.round_200]
            command += ["--org", data.org, "--all", "--out-dir", str(out)]
            run = run_process(
                command, env=cli_environment(sqlite_url(db_path)), timeout=BATCH_TIMEOUT
            )
            run.check()
            written = len(list(out.glob("*.pdf")))
            if written != BATCH_TEAMS:
                raise RuntimeError(f"report --all wrote {written} PDFs, not {BATCH_TEAMS}")
            if not per_report:  # the round is analysed and stored in this copy now
                from survey.services.team_reports import team_pdf

                with team_contexts(db_path, data.org, data.round_200, [0]) as builders:
                    context = builders[0]()
                    team_pdf(context)
                    per_report.extend(timed(lambda: team_pdf(context)) for _ in range(3))
        return run

    runs = repeat(batch, runs=ctx.runs, budget=ctx.budget(BATCH_BUDGET), log=ctx.log)
    seconds = [r.seconds for r in runs]
    one = median(per_report)
    section.results.append(
        Result(
            f"negoscope report --all, {BATCH_TEAMS} teams x 14 ({os.cpu_count()} cores)",
            "wall time",
            "s",
            seconds,
            f"one report of that round (in process, {one:.2f} s) x {BATCH_TEAMS}",
            [one * BATCH_TEAMS],
            target=f"< {BATCH_TARGET_S / 60:.0f} min",
            met=median(seconds) < BATCH_TARGET_S,
        )
    )
    slowest = max(runs, key=lambda r: r.seconds)
    section.notes += [
        f"Batch: {BATCH_TEAMS} reports x {one:.2f} s / {os.cpu_count()} cores = "
        f"{one * BATCH_TEAMS / (os.cpu_count() or 1):.0f} s is the rendering time with every "
        f"core busy and nothing else running. {slowest.cpu_line()} Peak RSS "
        f"{slowest.peak_rss_bytes / 1024**2:.0f} MB (largest process). Steps of the slowest run:",
        "",
        *phase_table(slowest),
        "",
    ]
