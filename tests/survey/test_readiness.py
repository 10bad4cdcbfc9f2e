"""/readyz says ready only when the database is there and accepts writes."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from survey import database
from survey.extensions import db
from tests.conftest import make_app


def is_sqlite(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def test_ready_when_the_database_accepts_writes(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_missing_sqlite_file_is_not_ready_and_is_not_created(
    app: Flask, client: FlaskClient
) -> None:
    if not is_sqlite(app):
        pytest.skip("SQLite only")
    assert client.get("/readyz").status_code == 200  # a pooled connection is open now
    path = Path(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database or "")
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json() == {"status": "database file missing"}
    assert not path.exists(), "the probe must not create an empty database"


def test_unwritable_sqlite_file_or_folder_is_not_ready(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_sqlite(app):
        pytest.skip("SQLite only")
    path = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    # As root, chmod does not stop writes; ask the question the way a read-only mount answers.
    real_access = os.access
    monkeypatch.setattr(
        database.os, "access", lambda p, mode: False if p == path else real_access(p, mode)
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "database file read-only"}


def test_sqlite_opened_read_only_is_not_ready(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    writable = make_app(f"sqlite:///{path}", tmp_path)
    with writable.app_context():
        db.engine.dispose()
    app = make_app(f"sqlite:///file:{path}?mode=ro&uri=true", tmp_path)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "database unavailable or read-only"}
    with app.app_context():
        db.engine.dispose()


def test_sqlite_busy_with_a_long_write_is_still_ready(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not is_sqlite(app):
        pytest.skip("SQLite only")
    monkeypatch.setattr(database, "READY_PROBE_BUSY_MS", 50)
    path = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with app.app_context():  # the probe put the configured busy timeout back
        timeout = db.session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert timeout == app.config["SQLITE_BUSY_TIMEOUT_MS"]


def test_database_without_the_schema_is_not_ready(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path)
    with app.app_context():
        db.drop_all()
    assert app.test_client().get("/readyz").status_code == 503
    with app.app_context():
        db.engine.dispose()


def test_read_only_postgresql_is_not_ready(app: Flask, client: FlaskClient) -> None:
    if is_sqlite(app):
        pytest.skip("PostgreSQL only")
    assert client.get("/readyz").status_code == 200
    with app.app_context():
        name = db.engine.url.database
        with db.engine.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            conn.commit()
        db.engine.dispose()  # new connections pick the setting up, as after a failover
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "database unavailable or read-only"}
