"""Database engine settings: SQLite durability and write-transaction locking.

The embedded SQLite database runs in WAL mode with ``synchronous=FULL`` (every
commit is fsynced: durability first) and a busy timeout. SQLite's driver is put
in autocommit mode so SQLAlchemy emits ``BEGIN`` itself; a unit of work that
must serialize asks for ``BEGIN IMMEDIATE`` through :func:`begin_write`, which
takes the write lock up front instead of failing on a read-to-write upgrade.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection

from survey.extensions import db

IMMEDIATE_OPTION = "negoscope_begin_immediate"


def configure_engine(app: Flask) -> None:
    """Install SQLite pragmas and transaction handling on the app's engine."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy_timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
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
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
