"""Baseline routes for ``make bench``; registered only when ``BENCH_ROUTES`` is true.

``POST /bench/insert`` is the page-save benchmark's baseline: the least a
write request can do on the same server, with the same engine settings
(SQLite WAL with ``synchronous=FULL`` and ``BEGIN IMMEDIATE``, or PostgreSQL):
one single-row insert into ``bench_rows`` and one commit. It has no session,
no form and no CSRF check, so it measures the server, the framework and the
database commit alone.

While the blueprint is registered every response also carries a
``Server-Timing: app;dur=<ms>, gc;dur=<ms>`` header: the time from Flask's
``request_started`` signal (before every ``before_request`` hook) to its
``request_finished`` signal (after every ``after_request`` hook), and how
much of it Python's cyclic garbage collector ran (``gc.callbacks``), so
benchmarks can tell server time from time on the wire and in the WSGI server.

``bench_rows`` is not part of the application's schema (its table object lives
on a metadata of its own, so migrations never see it); the benchmark creates it
with :func:`create_table` before starting the server.
"""

from __future__ import annotations

import gc
import time

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, g, request_finished, request_started
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy.engine import Engine

from survey.database import begin_write
from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import csrf, db

bp = Blueprint("bench", __name__, url_prefix="/bench")

bench_rows = sa.Table(
    "bench_rows",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("payload", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


def create_table(engine: Engine) -> None:
    """Create ``bench_rows`` on ``engine`` unless it exists (call before serving).

    Examples
    --------
    >>> engine = sa.create_engine("sqlite://")
    >>> create_table(engine)
    >>> sa.inspect(engine).has_table("bench_rows")
    True
    """
    bench_rows.create(engine, checkfirst=True)


@bp.post("/insert")
@csrf.exempt
def insert_row() -> ResponseReturnValue:
    """Insert one row and commit; 204."""
    begin_write()
    db.session.execute(sa.insert(bench_rows).values(payload="baseline", created_at=utcnow()))
    db.session.commit()
    return "", 204


_GC = {"started": 0.0, "total": 0.0}  # per process: sync workers serve one request at a time


def _gc_timer(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _GC["started"] = time.perf_counter()
    elif _GC["started"]:
        _GC["total"] += time.perf_counter() - _GC["started"]
        _GC["started"] = 0.0


@bp.record_once
def _install_timing(state: BlueprintSetupState) -> None:
    request_started.connect(_start_timer, state.app)
    request_finished.connect(_server_timing, state.app)
    if _gc_timer not in gc.callbacks:
        gc.callbacks.append(_gc_timer)


def _start_timer(sender: Flask, **extra: object) -> None:
    g.bench_started = time.perf_counter()
    g.bench_gc = _GC["total"]


def _server_timing(sender: Flask, response: Response, **extra: object) -> None:
    started = g.get("bench_started")
    if started is not None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        gc_ms = (_GC["total"] - g.get("bench_gc", _GC["total"])) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.2f}, gc;dur={gc_ms:.2f}"
