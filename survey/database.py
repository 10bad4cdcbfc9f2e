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
import time
from typing import Any, TextIO

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection

from survey.extensions import db

IMMEDIATE_OPTION = "negoscope_begin_immediate"
GATE_SUFFIX = "-writegate"
_GATE = "negoscope_write_gate"
_GATE_HELD = "negoscope_write_gate_held"


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
