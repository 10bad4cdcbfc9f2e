"""Benchmark of ``negoscope export`` on a round of 1,000,000 submitted responses.

Builds (once, cached under ``bench/.data/``) a SQLite database holding one
organization with one closed round of ``--responses`` simulated responses of
the default instrument, written straight with bulk inserts, then released as
the app would (one release per team of at least the anonymity threshold) and
analysed once (the stored round analysis, as after the first dashboard view or
``negoscope analyze``: the export takes its profiles from it). Then, each in a
fresh subprocess so that peak memory (its own ``VmHWM``: see
:func:`own_peak_rss_kib`) is measured per run, it times for every format:

* ``export``: the real export (two passes over the release snapshot, loading
  the stored round analysis, k-anonymity and l-diversity, scores, pseudonyms
  and their keyed order, codebook and manifest, zip/xlsx/parquet writer);
* ``pandas write``: pandas writing the *same* frame (the export's own rows,
  loaded before timing) with ``to_csv`` / ``to_parquet`` / ``to_excel``;
* ``load + pandas write``: the existing row->frame bridge
  (:func:`survey.services.datasets.round_frame`) followed by the pandas write,
  i.e. the naive way of producing the file from the database.

Prints a markdown table. Not run by pytest. Run from the project root::

    .venv/bin/python -m bench.bench_export
    .venv/bin/python -m bench.bench_export --responses 100000 --formats csv parquet
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / ".data"
ORG = "Bench Org"
ROUND = "Bench round"
BUILD_CHUNK = 100_000
FORMATS = ("csv", "parquet", "xlsx")


# --------------------------------------------------------------------------- data
def database_path(n: int) -> Path:
    """Where the cached database of ``n`` responses lives.

    The name carries the newest migration, so a schema change builds a new one
    (the database is made with ``create_all``, not migrated).
    """
    return DATA_DIR / f"export-{n}-schema{_schema_revision()}.sqlite3"


def _schema_revision() -> str:
    """The newest Alembic revision, from the migration files' names (``0008_...``)."""
    versions = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    return max(path.name.split("_", 1)[0] for path in versions.glob("[0-9]*_*.py"))


def _forget_older_databases(n: int) -> None:
    """Delete cached databases of ``n`` responses built for another schema (disk space)."""
    keep = database_path(n).name
    for old in DATA_DIR.glob(f"export-{n}*.sqlite3*"):
        if not old.name.startswith(keep):
            old.unlink(missing_ok=True)


def build_database(n: int, seed: int = 0) -> Path:
    """Create the benchmark database (once; reused while the file exists).

    A database cached before releases existed is brought up to date (releases,
    export key, stored analysis) the first time it is used.
    """
    path = database_path(n)
    if path.exists():
        _prepare(path)
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _forget_older_databases(n)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    app = _app(partial)
    from analytics.instrument_parser import load_default_instrument
    from survey.extensions import db
    from survey.services import organizations, rounds
    from survey.services.instruments import store_instrument

    instrument = load_default_instrument()
    rng = np.random.default_rng(seed)
    sizes = _team_sizes(n, rng)
    with app.app_context():
        db.create_all()
        row, _ = store_instrument(instrument)
        org, _ = organizations.get_or_create_organization(ORG)
        teams = [organizations.create_team(org, f"Team {i:05d}") for i in range(len(sizes))]
        survey_round = rounds.create_round(
            org, ROUND, row, teams, status="closed", closes_at=datetime.now(UTC)
        )
        db.session.commit()
        team_ids = np.array([t.id for t in teams], dtype=np.int64)
        round_id, instrument_id = survey_round.id, row.id
        db.session.remove()
        db.engine.dispose()
    _bulk_insert(partial, instrument, n, sizes, team_ids, round_id, instrument_id, rng)
    _prepare(partial)
    partial.rename(path)
    Path(f"{partial}-writegate").unlink(missing_ok=True)  # the app's write gate, unused now
    return path


def _prepare(path: Path) -> None:
    """Releases, the organization's export key and the stored round analysis (once)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(responses)")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "release_id" not in columns:  # cached before releases existed
            conn.execute("ALTER TABLE responses ADD COLUMN release_id INTEGER")
    finally:
        conn.close()
    app = _app(path)
    with app.app_context():
        from survey.extensions import db

        db.create_all()  # team_releases, disclosures
        db.session.remove()
        db.engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if (
            "team_releases" not in tables
            or not conn.execute("SELECT 1 FROM team_releases LIMIT 1").fetchone()
        ):
            _release(conn)
    finally:
        conn.close()
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_export", "--child", "prepare", str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"preparing {path}: {completed.stderr[-2000:]}")


def _release(conn: sqlite3.Connection, threshold: int = 5) -> None:
    """One release per team of at least ``threshold`` responses, as the app makes them."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.000000")
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO team_releases"
        " (round_id, team_id, n, added, removed, reason, created_at, members)"
        " SELECT round_id, team_id, COUNT(*), COUNT(*), 0, 'first', ?, group_concat(id, ',')"
        " FROM responses WHERE status = 'submitted' GROUP BY round_id, team_id"
        " HAVING COUNT(*) >= ?",
        (now, threshold),
    )
    conn.execute(
        "UPDATE responses SET release_id = (SELECT team_releases.id FROM team_releases"
        " WHERE team_releases.round_id = responses.round_id"
        " AND team_releases.team_id = responses.team_id) WHERE status = 'submitted'"
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")


def _child_prepare(db_path: Path) -> dict[str, object]:
    """The export key and the stored round analysis of the snapshot (what a dashboard makes)."""
    app = _app(db_path)
    with app.app_context():
        from survey.extensions import db
        from survey.models import SurveyRound
        from survey.services import team_reports
        from survey.services.export import stable_export_key

        survey_round = db.session.query(SurveyRound).filter_by(name=ROUND).one()
        stable_export_key(survey_round.organization)
        db.session.commit()
        start = time.perf_counter()
        team_reports.round_analysis(survey_round, 5)  # stored: the first call computes it
        seconds = time.perf_counter() - start
    return {"seconds": seconds}


def _team_sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mostly teams of 200-2000, plus a few under the anonymity threshold."""
    sizes: list[int] = [2, 3, 4, 1]
    left = n - sum(sizes)
    while left > 0:
        size = int(min(left, rng.integers(200, 2000)))
        sizes.append(size)
        left -= size
    return np.array(sizes, dtype=np.int64)


def _bulk_insert(
    path: Path,
    instrument,  # type: ignore[no-untyped-def]
    n: int,
    sizes: np.ndarray,
    team_ids: np.ndarray,
    round_id: int,
    instrument_id: int,
    rng: np.random.Generator,
) -> None:
    from analytics.synthetic import simulate_responses

    team_of_row = np.repeat(team_ids, sizes)
    rng.shuffle(team_of_row)  # responses arrive interleaved across teams
    start_day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    items = instrument.item_ids
    next_id = 1
    for offset in range(0, n, BUILD_CHUNK):
        m = min(BUILD_CHUNK, n - offset)
        sim = simulate_responses(
            instrument, n_respondents=m, teams=1, missing_rate=0.02, random_state=rng
        )
        minutes = rng.integers(0, 21 * 24 * 60, size=m)
        stamps = [
            (start_day + timedelta(minutes=int(x))).strftime("%Y-%m-%d %H:%M:%S.000000")
            for x in minutes
        ]
        ids = range(next_id, next_id + m)
        conn.executemany(
            "INSERT INTO responses (id, round_id, team_id, instrument_id, status, current_page,"
            " created_at, updated_at, submitted_at) VALUES (?, ?, ?, ?, 'submitted', 0, ?, ?, ?)",
            (
                (rid, round_id, int(team), instrument_id, s, s, s)
                for rid, team, s in zip(ids, team_of_row[offset : offset + m], stamps, strict=True)
            ),
        )
        values = sim.data[list(items)].to_numpy()
        conn.executemany(
            "INSERT INTO answers (response_id, item_id, value) VALUES (?, ?, ?)",
            (
                (rid, item, None if np.isnan(v) else int(v))
                for rid, row in zip(ids, values, strict=True)
                for item, v in zip(items, row, strict=True)
            ),
        )
        skip = rng.random((m, len(instrument.context))) < 0.05
        conn.executemany(
            "INSERT INTO context_answers (response_id, question_id, value) VALUES (?, ?, ?)",
            (
                (rid, q.id, None if skip[i, j] else str(sim.data[q.id].iloc[i]))
                for i, rid in enumerate(ids)
                for j, q in enumerate(instrument.context)
            ),
        )
        next_id += m
        print(f"  inserted {next_id - 1:,} of {n:,} responses", file=sys.stderr, flush=True)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def _app(path: Path):  # type: ignore[no-untyped-def]
    from survey import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SECRET_KEY": "bench-only",
            "TESTING": True,
        }
    )


# --------------------------------------------------------------------------- runs
def _child_export(db_path: Path, fmt: str, out: Path) -> dict[str, object]:
    """The real export, as ``negoscope export`` runs it (an app, a round, a file)."""
    app = _app(db_path)
    with app.app_context():
        from survey.extensions import db
        from survey.models import SurveyRound
        from survey.services.export import export_round

        survey_round = db.session.query(SurveyRound).filter_by(name=ROUND).one()
        start = time.perf_counter()
        result = export_round(survey_round, out, fmt=fmt, k=5)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": result.rows, "k_reached": result.k_reached}


def _exported_frame(parquet: Path, rows: int | None = None):  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    if rows is not None:
        table = table.slice(0, rows)
    return table.to_pandas()


def _pandas_write(frame, fmt: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    if fmt == "csv":
        frame.to_csv(out, index=False)
    elif fmt == "parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_excel(out, index=False, engine="xlsxwriter")


def _child_pandas(parquet: Path, fmt: str, out: Path, rows: int | None) -> dict[str, object]:
    """pandas writing the same frame (the export's rows, loaded before timing)."""
    frame = _exported_frame(parquet, rows)
    start = time.perf_counter()
    _pandas_write(frame, fmt, out)
    return {"seconds": time.perf_counter() - start, "rows": len(frame)}


def _child_load(db_path: Path) -> dict[str, object]:
    """The existing row->frame bridge, i.e. loading the round into pandas first."""
    app = _app(db_path)
    with app.app_context():
        from survey.extensions import db
        from survey.models import SurveyRound
        from survey.services.datasets import round_frame
        from survey.services.instruments import instrument_of

        survey_round = db.session.query(SurveyRound).filter_by(name=ROUND).one()
        start = time.perf_counter()
        frame = round_frame(survey_round, instrument_of(survey_round.instrument))
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": len(frame)}


def _run_child(*args: str) -> dict[str, object]:
    """Run one measurement in a fresh interpreter; add its peak memory."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_export", "--child", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{args}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def own_peak_rss_kib() -> int:
    """This process's own peak resident set size in KiB (``VmHWM``).

    Not ``getrusage``: Linux carries the parent's high-water mark into a child
    at ``exec``, so a child of a big process would report the parent's size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child_main(args: list[str]) -> None:
    kind, *rest = args
    if kind == "export":
        db_path, fmt, out = rest
        result = _child_export(Path(db_path), fmt, Path(out))
    elif kind == "pandas":
        parquet, fmt, out, rows = rest
        result = _child_pandas(Path(parquet), fmt, Path(out), int(rows) or None)
    elif kind == "load":
        result = _child_load(Path(rest[0]))
    elif kind == "prepare":
        result = _child_prepare(Path(rest[0]))
    else:
        raise SystemExit(f"unknown child {kind}")
    result["peak_mb"] = own_peak_rss_kib() / 1024
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    """Build (once) and measure; print a markdown table."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument(
        "--xlsx-baseline-rows",
        type=int,
        default=100_000,
        help="pandas.to_excel holds every cell in memory: time it on this many rows and"
        " scale linearly (0 = all rows)",
    )
    args = parser.parse_args(argv)
    print(f"Database: {build_database(args.responses)}", file=sys.stderr)
    db_path = database_path(args.responses)
    formats = sorted(args.formats, key=lambda f: f != "parquet")  # parquet first: the frame
    rows_out: list[str] = []
    with tempfile.TemporaryDirectory(dir=DATA_DIR, prefix="bench-") as folder:
        tmp = Path(folder)
        parquet = tmp / "export.parquet"
        load = _run_child("load", str(db_path))
        print(f"round_frame: {load['seconds']:.1f} s", file=sys.stderr)
        if "parquet" not in formats:
            _run_child("export", str(db_path), "parquet", str(parquet))
        for fmt in formats:
            out = parquet if fmt == "parquet" else tmp / f"export.{fmt}"
            export = _run_child("export", str(db_path), fmt, str(out))
            print(f"export {fmt}: {export}", file=sys.stderr)
            sample = args.xlsx_baseline_rows if fmt == "xlsx" else 0
            pandas = _run_child(
                "pandas", str(parquet), fmt, str(tmp / f"pandas.{fmt}"), str(sample)
            )
            print(f"pandas {fmt}: {pandas}", file=sys.stderr)
            scale = int(export["rows"]) / int(pandas["rows"]) if sample else 1.0
            pandas_s = float(pandas["seconds"]) * scale
            naive_s = float(load["seconds"]) + pandas_s
            export_s = float(export["seconds"])
            note = f" (timed on {int(pandas['rows']):,} rows, scaled)" if sample else ""
            rows_out.append(
                f"| {fmt} | {int(export['rows']):,} | {export_s:.1f} | {export['peak_mb']:.0f} |"
                f" {pandas_s:.1f}{note} | {pandas['peak_mb']:.0f} | {export_s / pandas_s:.1f}x |"
                f" {naive_s:.1f} | {export_s / naive_s:.2f}x |"
            )
    print(
        f"\n### negoscope export, {args.responses:,} responses (SQLite, {os.cpu_count()} cores)\n"
    )
    print(
        "| format | rows | export s | export peak MB | pandas write s | pandas peak MB |"
        " export / pandas | round_frame + pandas write s | export / that |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for line in rows_out:
        print(line)
    print(
        f"\nround_frame (load the round into pandas): {float(load['seconds']):.1f} s,"
        f" peak {float(load['peak_mb']):.0f} MB. Peak memory is the high-water mark (VmHWM) of"
        " a fresh process per run, imports included."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
