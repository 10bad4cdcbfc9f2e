"""Database engine settings: SQLite durability and write-transaction locking.

The embedded SQLite database runs in WAL mode with ``synchronous=FULL`` (every
commit is fsynced: durability first) and a busy timeout. SQLite's driver is put
in autocommit mode so SQLAlchemy emits ``BEGIN`` itself; a unit of work that
must serialize asks for ``BEGIN IMMEDIATE`` through :func:`begin_write`, which
takes the write lock up front instead of failing on a read-to-write upgrade.

Writers queue on a *write gate* first: an ``flock`` on a file beside the
database, held from ``BEGIN IMMEDIATE`` until the connection goes back to the
pool. SQLite itself makes a writer that finds the lock taken sleep in steps of
up to 100 ms before it tries again, which put a 100 ms+ tail on page saves
under load; waiting on the gate polls every millisecond or two instead. The
gate only orders the waiting: SQLite's own lock still guarantees exclusion, so
a writer that cannot get the gate within the busy timeout goes on to
``BEGIN IMMEDIATE`` and SQLite's rules apply.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from typing import Any, TextIO

from flask import Flask, current_app
from sqlalchemy import delete, event, false
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from survey.extensions import db

IMMEDIATE_OPTION = "negoscope_begin_immediate"
GATE_SUFFIX = "-writegate"
_GATE = "negoscope_write_gate"
_GATE_HELD = "negoscope_write_gate_held"
# How long the readiness probe waits for SQLite's write lock before calling it busy (ms).
READY_PROBE_BUSY_MS = 2_000

log = logging.getLogger(__name__)


def configure_engine(app: Flask) -> None:
    """Install SQLite pragmas and transaction handling on the app's engine."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy_timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    database = engine.url.database
    gate_path = f"{database}{GATE_SUFFIX}" if database not in (None, "", ":memory:") else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        if gate_path is not None:
            # In a folder it cannot write to, writers wait on SQLite's own lock alone.
            with contextlib.suppress(OSError):
                record.info[_GATE] = open(gate_path, "a")  # noqa: SIM115 - closed with the connection
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE_OPTION, False)
        if immediate:
            _enter_gate(connection.info, busy_timeout / 1000)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        _leave_gate(record.info)

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_connection: Any, record: Any) -> None:
        _leave_gate(record.info)
        gate: TextIO | None = record.info.pop(_GATE, None)
        if gate is not None:
            gate.close()


def _enter_gate(info: dict[str, Any], timeout: float) -> None:
    """Take the connection's write gate, polling briefly; go on without it after ``timeout``."""
    gate: TextIO | None = info.get(_GATE)
    if gate is None or info.get(_GATE_HELD):
        return
    deadline = time.monotonic() + timeout
    pause = 0.0002
    while True:
        try:
            fcntl.flock(gate.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return  # SQLite's busy timeout decides from here
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
        else:
            info[_GATE_HELD] = True
            return


def _leave_gate(info: dict[str, Any]) -> None:
    if info.pop(_GATE_HELD, False):
        fcntl.flock(info[_GATE].fileno(), fcntl.LOCK_UN)


def begin_write() -> None:
    """Start the session's transaction as a write transaction.

    On SQLite this is ``BEGIN IMMEDIATE``; elsewhere a normal transaction. Any
    read-only transaction already open is ended first (it holds no changes).
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called with unflushed changes pending")
        session.commit()
    session.connection(execution_options={IMMEDIATE_OPTION: True})


def is_unavailable(error: BaseException) -> bool:
    """Whether a database error means 'down or locked', worth a 503 and a retry."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def readiness_problem() -> str | None:
    """Why the app cannot serve writes now (a short phrase), or None when it can.

    The database must answer and accept a write: a statement that would delete
    rows of a real table but matches none (``DELETE ... WHERE false``) fails on
    a read-only database, a PostgreSQL standby or read-only transaction, and a
    database without the schema, and changes nothing; it is rolled back. For
    SQLite the file must also exist (connecting would otherwise create an empty
    one) and be writable with its folder (the WAL and lock files live there).
    A SQLite write lock held by another writer for longer than
    :data:`READY_PROBE_BUSY_MS` counts as ready: somebody is writing.
    """
    from survey.models import ThrottleEvent

    engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and (problem := _sqlite_file_problem(engine.url.database)):
        return problem
    session = db.session()
    try:
        if sqlite:
            session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {READY_PROBE_BUSY_MS}")
        try:
            session.execute(delete(ThrottleEvent).where(false()))
        finally:
            if sqlite:
                busy_timeout = int(current_app.config["SQLITE_BUSY_TIMEOUT_MS"])
                session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {busy_timeout}")
        return None
    except SQLAlchemyError as error:
        if sqlite and "database is locked" in str(error):
            return None
        detail = getattr(error, "orig", None) or error
        log.warning("not ready: %s", " ".join(str(detail).split())[:200])
        return "database unavailable or read-only"
    finally:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()


def _sqlite_file_problem(database: str | None) -> str | None:
    """A missing or unwritable SQLite file (None for in-memory and ``file:`` URI databases)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if not os.path.isfile(database):
        log.warning("not ready: the SQLite database file %s is missing", database)
        return "database file missing"
    folder = os.path.dirname(os.path.abspath(database))
    if not (os.access(database, os.W_OK) and os.access(folder, os.W_OK)):
        log.warning("not ready: the SQLite database file %s or its folder is read-only", database)
        return "database file read-only"
    return None
