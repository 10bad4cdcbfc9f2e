"""``negoscope analyze`` on the 100k round, against pandas reading the same answers.

Both run as subprocesses of their own, so wall time and peak memory (``wait4``
in a small launcher, :mod:`bench.peak_rss`) are measured the same way,
interpreter start-up included:

* ``negoscope analyze --round bench-100k --org 'Bench Org' --json FILE``;
* the baseline, ``python -m bench.bench_analyze --read-answers DB ROUND``:
  ``pandas.read_sql_query`` of the round's submitted answers (one row per
  answer) from the same SQLite file, pivoted to one row per respondent.

The analyze command prints a line before each step; the time between lines
gives the steps' durations, which shows what bounds the total.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
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
    phases,
    repeat,
    run_process,
    sqlite_url,
    work_dir,
)

TIME_TARGET_S = 15.0
MEMORY_TARGET_BYTES = 2 * 1024**3
BASELINE_BUDGET = 40.0
ANALYZE_BUDGET = 220.0
ANALYZE_TIMEOUT = 900.0

ANSWERS_SQL = (
    "SELECT a.response_id, a.item_id, a.value FROM answers a"
    " JOIN responses r ON r.id = a.response_id"
    " JOIN survey_rounds s ON s.id = r.round_id"
    " WHERE s.name = ? AND r.status = 'submitted'"
)


def read_answers(db_path: Path, round_name: str) -> tuple[int, int]:
    """Read the round's answers with pandas and pivot them wide: (answers, respondents)."""
    import pandas as pd

    with sqlite3.connect(db_path) as conn:
        long = pd.read_sql_query(ANSWERS_SQL, conn, params=(round_name,))
    wide = long.pivot(index="response_id", columns="item_id", values="value")
    return len(long), len(wide)


def run(ctx: Context) -> Section:
    data = ctx.data
    section = Section("negoscope analyze on the 100k round")
    baseline_cmd = [sys.executable, "-m", "bench.bench_analyze", "--read-answers"]
    baseline_cmd += [str(data.db_100k), data.round_100k]
    env = cli_environment(sqlite_url(data.db_100k))

    def baseline(_: int) -> ProcessRun:
        return run_process(baseline_cmd, env=env, timeout=300).check()

    with work_dir("analyze") as folder:
        command = [*negoscope_command(), "analyze", "--round", data.round_100k]
        command += ["--org", data.org, "--json", str(folder / "analysis.json")]
        # --seed 1: compute the analysis (seed 0 reuses the stored one the dashboards show).
        command += ["--seed", "1"]

        def analyze(index: int) -> ProcessRun:
            ctx.log(f"  analyze run {index + 1} ...")
            return run_process(command, env=env, timeout=ANALYZE_TIMEOUT).check()

        base_runs = repeat(baseline, runs=ctx.runs, budget=ctx.budget(BASELINE_BUDGET))
        runs = repeat(analyze, runs=ctx.runs, budget=ctx.budget(ANALYZE_BUDGET), log=ctx.log)
    seconds = [r.seconds for r in runs]
    peaks = [r.peak_rss_bytes / 1024**2 for r in runs]
    baseline_name = "pandas read_sql of the same answers + pivot (subprocess)"
    section.results += [
        Result(
            "negoscope analyze, 100k round",
            "wall time",
            "s",
            seconds,
            baseline_name,
            [r.seconds for r in base_runs],
            target=f"< {TIME_TARGET_S:.0f} s",
            met=median(seconds) < TIME_TARGET_S,
        ),
        Result(
            "negoscope analyze, 100k round",
            "peak RSS",
            "MB",
            peaks,
            baseline_name,
            [r.peak_rss_bytes / 1024**2 for r in base_runs],
            target="< 2 GB",
            met=max(peaks) * 1024**2 < MEMORY_TARGET_BYTES,
        ),
    ]
    slowest = max(runs, key=lambda r: r.seconds)
    base_line = base_runs[0].output.strip().splitlines()[-1] if base_runs[0].output else ""
    step, step_s = max(phases(slowest), key=lambda phase: phase[1])
    loading = next((sec for label, sec in phases(slowest) if label.startswith("Loading")), None)
    loading_text = (
        f" Loading the round's answers from the database into a frame (the `Loading` step, "
        f"`survey.services.datasets.round_frame`) took {loading:.1f} s, "
        f"{loading / median([r.seconds for r in base_runs]):.1f} times the whole pandas "
        "baseline (interpreter start-up included)."
        if loading is not None
        else ""
    )
    section.notes += [
        f"The longest step is `{step}`: {step_s:.1f} s of {slowest.seconds:.1f} s."
        + loading_text
        + " "
        + slowest.cpu_line(),
        "",
        f"Baseline output: `{base_line}`. Steps of the slowest analyze run "
        f"({slowest.seconds:.1f} s; time between the command's progress lines):",
        "",
        *phase_table(slowest),
        "",
    ]
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The pandas baseline of the analyze benchmark.")
    parser.add_argument("--read-answers", nargs=2, metavar=("DB", "ROUND"), required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    answers, respondents = read_answers(Path(args.read_answers[0]), args.read_answers[1])
    print(
        f"{answers} answers of {respondents} respondents in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
