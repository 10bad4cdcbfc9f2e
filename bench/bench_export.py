"""Benchmark of ``negoscope export`` on a round of 1,000,000 submitted responses.

Builds (once, cached under ``bench/.data/``) a SQLite database holding one
organization with one closed round of ``--responses`` simulated responses of
the default instrument, written straight with bulk inserts. Then, each in a
fresh subprocess so that peak memory (``resource.getrusage``) is measured per
run, it times for every format:

* ``export``: the real export (two passes over the database, k-anonymity,
  profiles, pseudonyms, codebook and manifest, zip/xlsx/parquet writer);
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
    """Where the cached database of ``n`` responses lives."""
    return DATA_DIR / f"export-{n}.sqlite3"


def build_database(n: int, seed: int = 0) -> Path:
    """Create the benchmark database (once; reused while the file exists)."""
    path = database_path(n)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
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
    partial.rename(path)
    return path


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
