"""``negoscope import-responses`` of the 100,000-row CSV, against ``pandas.read_csv``.

Each run migrates a new SQLite database (untimed), then times the command as a
subprocess (start-up, validation, storing, commit). The baseline is
``pandas.read_csv`` of the same file in this process.

To show what bounds the import, one run of the *storage floor* is measured
too: the same number of response, answer and context rows inserted with plain
``sqlite3.executemany`` in one transaction (WAL, ``synchronous=FULL``), the
tuples built from the CSV's values in Python: what any import written in
Python on this database pays before any validation or ORM work.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bench.bench_data import import_csv
from bench.common import (
    Context,
    ProcessRun,
    Result,
    Section,
    median,
    phase_table,
    phases,
    repeat,
    sqlite_url,
    work_dir,
)
from tests.survey.live_server import migrate

TARGET_S = 30.0
BUDGET_SECONDS = 100.0


def read_csv_seconds(path: Path) -> float:
    import pandas as pd

    started = time.perf_counter()
    pd.read_csv(path)
    return time.perf_counter() - started


def storage_floor(csv: Path, folder: Path) -> tuple[float, int]:
    """Seconds to insert the file's rows with plain sqlite3, and the rows inserted."""
    import pandas as pd

    frame = pd.read_csv(csv)
    items = [c for c in frame.columns if c not in ("team", "respondent", "role", "tenure")]
    context = [c for c in ("role", "tenure") if c in frame.columns]
    values = frame[items].to_numpy(dtype=float)
    contexts = frame[context].astype(object).to_numpy()
    path = folder / "floor.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE responses (id INTEGER PRIMARY KEY, team TEXT, external_id TEXT)")
        conn.execute(
            "CREATE TABLE answers (response_id INTEGER, item_id TEXT, value INTEGER,"
            " PRIMARY KEY (response_id, item_id))"
        )
        conn.execute(
            "CREATE TABLE context_answers (response_id INTEGER, question_id TEXT, value TEXT,"
            " PRIMARY KEY (response_id, question_id))"
        )
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO responses VALUES (?, ?, ?)",
            zip(range(1, len(frame) + 1), frame["team"], frame["respondent"], strict=True),
        )
        conn.executemany(
            "INSERT INTO answers VALUES (?, ?, ?)",
            (
                (row + 1, item, None if v != v else int(v))
                for row in range(len(frame))
                for item, v in zip(items, values[row], strict=True)
            ),
        )
        conn.executemany(
            "INSERT INTO context_answers VALUES (?, ?, ?)",
            (
                (row + 1, question, value)
                for row in range(len(frame))
                for question, value in zip(context, contexts[row], strict=True)
            ),
        )
        conn.execute("COMMIT")
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return seconds, len(frame) * (1 + len(items) + len(context))


def run(ctx: Context) -> Section:
    data = ctx.data
    section = Section("negoscope import-responses of 100,000 rows")

    def one(index: int) -> tuple[ProcessRun, float]:
        ctx.log(f"  import run {index + 1} ...")
        baseline = read_csv_seconds(data.csv_100k)
        with work_dir("import") as folder:
            url = sqlite_url(folder / "import.sqlite3")
            migrate(url)
            return import_csv(data.csv_100k, url, f"import-{index}").check(), baseline

    runs = repeat(one, runs=ctx.runs, budget=ctx.budget(BUDGET_SECONDS), log=ctx.log)
    with work_dir("floor") as folder:
        floor, rows = storage_floor(data.csv_100k, folder)
    seconds = [r.seconds for r, _ in runs]
    section.results.append(
        Result(
            "negoscope import-responses, 100,000 rows",
            "wall time",
            "s",
            seconds,
            "pandas read_csv of the file (in process)",
            [b for _, b in runs],
            target=f"< {TARGET_S:.0f} s",
            met=median(seconds) < TARGET_S,
        )
    )
    slowest = max((r for r, _ in runs), key=lambda r: r.seconds)
    storing = next((sec for label, sec in phases(slowest) if label.startswith("Storing")), None)
    storing_text = (
        f"The import spent {storing:.1f} s in the `Storing responses` step, "
        f"{storing - floor:.1f} s more than the floor: that time goes to work outside SQLite "
        "itself (per-row Python objects and parameter dicts for SQLAlchemy's executemany). "
        if storing is not None
        else ""
    )
    section.notes += [
        f"Storage floor: {rows:,} rows (responses, answers, context answers) inserted with plain "
        f"sqlite3.executemany in one transaction in {floor:.1f} s. "
        + storing_text
        + slowest.cpu_line()
        + f" Peak RSS of the import {slowest.peak_rss_bytes / 1024**2:.0f} MB. "
        "Steps of the slowest run:",
        "",
        *phase_table(slowest),
        "",
    ]
    return section
