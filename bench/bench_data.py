"""The benchmark data, built once and cached under ``bench/.data/`` (ignored by git).

* ``responses-100k.csv``: 100,000 respondents in 2,000 teams of 50, drawn by
  :func:`analytics.synthetic.simulate_responses` from
  :data:`~analytics.synthetic.DEFAULT_PROFILES` with the default instrument,
  seeded; imported through the real path (``negoscope import-responses``) into
  ``org-100k.sqlite3`` as round ``bench-100k`` of organization ``Bench Org``.
* ``responses-200-teams.csv``: a separate seeded round of 200 teams x 14
  people, imported the same way into ``teams-200.sqlite3`` (round
  ``bench-200-teams``), for the batch report benchmark.

The 100k round is then analysed once inside the app
(:func:`survey.services.team_reports.round_analysis`, which stores the result
in ``round_analyses``) so that dashboard and report benchmarks start from an
analysed round, as a server does after its first request. The data is rebuilt
when the generator, the instrument or the parameters change; the analysis when
the analytics code changes. ``manifest.json`` records the keys and how long
each build step took.

Run ``python -m bench.bench_data --prime DB ORG ROUND`` to analyse a round in a
process of its own (what the build does).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    DATA_DIR,
    PROJECT_ROOT,
    Context,
    cli_environment,
    hash_files,
    negoscope_command,
    run_process,
    sqlite_checkpoint,
    sqlite_url,
)

ORG = "Bench Org"
INSTRUMENT = "negotiation-blockers"
ROUND_100K = "bench-100k"
ROUND_200 = "bench-200-teams"
PARAMS = {
    "version": 1,
    "org_100k": {"n_respondents": 100_000, "teams": 2_000, "random_state": 20_260_801},
    "teams_200": {"n_respondents": 2_800, "teams": 200, "random_state": 20_260_802},
}
MANIFEST = DATA_DIR / "manifest.json"
IMPORT_TIMEOUT = 900.0
PRIME_TIMEOUT = 1_200.0


@dataclass
class DataSet:
    """Paths and names of the built data, and what building it cost."""

    csv_100k: Path
    db_100k: Path
    csv_200: Path
    db_200: Path
    org: str = ORG
    instrument: str = INSTRUMENT
    round_100k: str = ROUND_100K
    round_200: str = ROUND_200
    build_log: dict[str, float] = field(default_factory=dict)
    built_at: str = ""
    rebuilt_now: list[str] = field(default_factory=list)


def data_key() -> str:
    """Changes when the generator, the instrument file or the parameters change."""
    sources = [
        PROJECT_ROOT / "analytics" / "synthetic.py",
        *sorted((PROJECT_ROOT / "analytics" / "instruments").glob("*.yaml")),
    ]
    return hash_files(sources, json.dumps(PARAMS, sort_keys=True))


def analysis_key(key: str) -> str:
    """Changes when the data or the code behind a round's analysis changes.

    The code is every ``analytics`` module that the analysis pipeline imports
    (with the package data files), plus the app's analysis cache and data bridge.
    """
    import importlib

    importlib.import_module("analytics.pipeline")
    modules = [
        Path(module.__file__)
        for name, module in sorted(sys.modules.items())
        if name.split(".")[0] == "analytics" and getattr(module, "__file__", None)
    ]
    sources = [
        *modules,
        *(PROJECT_ROOT / "analytics").rglob("*.yaml"),
        PROJECT_ROOT / "survey" / "services" / "team_reports.py",
        PROJECT_ROOT / "survey" / "services" / "datasets.py",
    ]
    return hash_files(sorted(set(sources)), key)


def build(ctx: Context) -> DataSet:
    """The cached data set, built or brought up to date first when needed."""
    data = DataSet(
        csv_100k=DATA_DIR / "responses-100k.csv",
        db_100k=DATA_DIR / "org-100k.sqlite3",
        csv_200=DATA_DIR / "responses-200-teams.csv",
        db_200=DATA_DIR / "teams-200.sqlite3",
    )
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest()
    key = data_key()
    files = (data.csv_100k, data.db_100k, data.csv_200, data.db_200)
    if manifest.get("data_key") != key or not all(p.exists() for p in files):
        ctx.log("Building the benchmark data (first run: a few minutes) ...")
        manifest = {"data_key": key, "built_at": _now(), "build_log": {}}
        _build_data(ctx, data, manifest["build_log"])
        data.rebuilt_now.append("data")
        _write_manifest(manifest)
    else:
        for path in (data.db_100k, data.db_200):
            _migrate(path)  # brings a cached database to the current schema
    if manifest.get("analysis_key") != analysis_key(key) or not _analysis_stored(data):
        ctx.log("Analysing the 100k round once inside the app (cached until analytics change) ...")
        _forget_analyses(data.db_100k)  # made by other code: analyse again with this code
        run = _prime(data)
        manifest["build_log"]["analyse 100k round in the app (round_analysis)"] = run
        manifest["analysis_key"] = analysis_key(key)
        manifest["analysed_at"] = _now()
        data.rebuilt_now.append("analysis")
        _write_manifest(manifest)
    data.build_log = dict(manifest.get("build_log", {}))
    data.built_at = str(manifest.get("built_at", ""))
    return data


def _build_data(ctx: Context, data: DataSet, log: dict[str, float]) -> None:
    for path in (data.csv_100k, data.db_100k, data.csv_200, data.db_200):
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
    started = time.perf_counter()
    write_csv(data.csv_100k, **PARAMS["org_100k"])
    write_csv(data.csv_200, **PARAMS["teams_200"])
    log["simulate and write both CSV files"] = time.perf_counter() - started
    for csv, db, round_name, label in (
        (data.csv_100k, data.db_100k, ROUND_100K, "100k"),
        (data.csv_200, data.db_200, ROUND_200, "200 teams"),
    ):
        started = time.perf_counter()
        _migrate(db)
        log[f"migrate {label} database"] = time.perf_counter() - started
        ctx.log(f"  importing {csv.name} ...")
        run = import_csv(csv, sqlite_url(db), round_name).check()
        log[f"negoscope import-responses ({label})"] = run.seconds
        sqlite_checkpoint(db)


def write_csv(path: Path, *, n_respondents: int, teams: int, random_state: int) -> None:
    """Simulate a round and write it as the wide CSV that ``import-responses`` reads.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "r.csv"
    >>> write_csv(target, n_respondents=10, teams=2, random_state=0)
    >>> target.read_text().splitlines()[0][:25]
    'team,respondent,TR1,TR2,T'
    """
    from analytics.instrument_parser import load_default_instrument
    from analytics.synthetic import DEFAULT_PROFILES, simulate_responses

    simulated = simulate_responses(
        load_default_instrument(),
        n_respondents=n_respondents,
        teams=teams,
        profiles=DEFAULT_PROFILES,
        random_state=random_state,
    )
    simulated.data.to_csv(path, index=False, float_format="%.0f")


def import_csv(csv: Path, database_url: str, round_name: str, org: str = ORG):  # type: ignore[no-untyped-def]
    """``negoscope import-responses`` of ``csv`` into ``database_url``, measured."""
    command = [
        *negoscope_command(), "import-responses", str(csv),
        "--instrument", INSTRUMENT, "--round", round_name, "--org", org,
    ]  # fmt: skip
    return run_process(command, env=cli_environment(database_url), timeout=IMPORT_TIMEOUT)


def _migrate(path: Path) -> None:
    from tests.survey.live_server import migrate

    migrate(sqlite_url(path))


def _prime(data: DataSet) -> float:
    command = [sys.executable, "-m", "bench.bench_data", "--prime", str(data.db_100k)]
    command += [data.org, data.round_100k]
    run = run_process(command, env=cli_environment(sqlite_url(data.db_100k)), timeout=PRIME_TIMEOUT)
    run.check()
    sqlite_checkpoint(data.db_100k)
    if not _analysis_stored(data):
        raise RuntimeError(f"the analysis of {data.round_100k} was not stored:\n{run.output}")
    return run.seconds


def _forget_analyses(db_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(db_path) as conn, contextlib.suppress(sqlite3.OperationalError):
        conn.execute("DELETE FROM round_analyses")  # OperationalError: no such table yet


def _analysis_stored(data: DataSet) -> bool:
    """Whether ``round_analyses`` holds the 100k round's analysis for its current release."""
    import sqlite3

    if not data.db_100k.exists():
        return False
    with sqlite3.connect(data.db_100k) as conn:
        try:
            row = conn.execute(
                "SELECT a.fingerprint, (SELECT 'snapshot:' || coalesce(max(t.id), 0)"
                " FROM team_releases t WHERE t.round_id = s.id)"
                " FROM survey_rounds s JOIN round_analyses a ON a.round_id = s.id"
                " WHERE s.name = ?",
                (data.round_100k,),
            ).fetchone()
        except sqlite3.OperationalError:  # no round_analyses or team_releases (older schema)
            return False
    from analytics.code_version import code_version

    return row is not None and row[0] == f"{code_version()[:16]}:{row[1]}"


def _read_manifest() -> dict:  # type: ignore[type-arg]
    try:
        return json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(manifest: dict) -> None:  # type: ignore[type-arg]
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def prime(db_path: Path, org: str, round_name: str) -> float:
    """Analyse a round inside the app (stored in ``round_analyses``); returns seconds."""
    from sqlalchemy import select

    from survey import create_app
    from survey.extensions import db
    from survey.models import Organization, SurveyRound
    from survey.services import team_reports

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": sqlite_url(db_path), "SECRET_KEY": uuid.uuid4().hex}
    )
    with app.app_context():
        survey_round = db.session.scalars(
            select(SurveyRound)
            .join(Organization)
            .where(SurveyRound.name == round_name, Organization.name == org)
        ).one()
        started = time.perf_counter()
        team_reports.round_analysis(survey_round, app.config["ANONYMITY_THRESHOLD"])
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the benchmark data, or prime a round.")
    parser.add_argument("--prime", nargs=3, metavar=("DB", "ORG", "ROUND"))
    args = parser.parse_args(argv)
    if args.prime:
        db_path, org, round_name = args.prime
        print(f"analysed in {prime(Path(db_path), org, round_name):.1f} s")
        return 0
    data = build(Context())
    print(json.dumps(asdict(data), default=str, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
