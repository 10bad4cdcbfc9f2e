"""Faults: the database goes away, the app says 503 and keeps the answers; backups restore."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from survey.services import responses
from tests.survey.respond_helpers import PAGES, csrf_from, open_and_consent, page_values


def test_database_down_gives_503_that_keeps_the_typed_answers(app, client, make_world, monkeypatch):
    world = make_world()
    open_and_consent(client, world.tokens[0])
    shown = client.get("/survey/page/1")
    token = csrf_from(shown)

    def database_down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("could not connect to server"))

    monkeypatch.setattr(responses, "save_page", database_down)
    values = page_values(1, "2")
    response = client.post("/survey/page/1", data={"csrf_token": token, "nav": "next", **values})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    text = response.get_data(as_text=True)
    first = PAGES[0].items[0].item.id
    assert f'name="{first}" value="2"' in text and "Send my answers again" in text
    assert "Traceback" not in text

    monkeypatch.undo()  # the database is back: the same post succeeds
    retried = client.post("/survey/page/1", data={"csrf_token": token, "nav": "next", **values})
    assert retried.status_code == 302


def test_readyz_checks_the_database_and_healthz_does_not(app, client, monkeypatch):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    from survey.extensions import db

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("down"))

    with app.app_context():
        monkeypatch.setattr(type(db.session()), "execute", broken)
        response = client.get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert client.get("/healthz").status_code == 200


def test_unexpected_errors_show_a_page_without_a_trace(app, client, make_world, monkeypatch):
    world = make_world()

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    monkeypatch.setattr(responses, "check_access", boom)
    response = client.get(f"/s/{world.tokens[0]}")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text


def test_backup_while_serving_restores_a_complete_database(app, runner, tmp_path: Path, make_world):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("backup copies the embedded SQLite database")
    make_world(members=4)
    out = tmp_path / "copy.sqlite3"
    result = runner.invoke(args=["backup", str(out)])
    assert result.exit_code == 0, result.output
    assert "integrity check ok" in result.output
    with sqlite3.connect(out) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM invitations").fetchone()[0] == 4
    again = runner.invoke(args=["backup", str(out)])
    assert again.exit_code != 0 and "already exists" in again.output

    # Restore: the copy serves as the application's database.
    from survey import create_app

    restored = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{out}"}
    )
    with restored.app_context():
        from sqlalchemy import func, select

        from survey.extensions import db
        from survey.models import Invitation

        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 4
    assert restored.test_client().get("/readyz").status_code == 200


def test_sqlite_runs_in_wal_with_full_sync(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only")
    from survey.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_writers_queue_on_the_write_gate_until_their_connection_is_returned(app):
    """A write transaction holds the gate file's lock; commit or rollback hands it on."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only")
    import fcntl

    from survey.database import GATE_SUFFIX, begin_write
    from survey.extensions import db

    def gate_is_free(path: str) -> bool:
        with open(path) as other:  # another process's view: its own open file
            try:
                fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(other.fileno(), fcntl.LOCK_UN)
            return True

    with app.app_context():
        gate = f"{db.engine.url.database}{GATE_SUFFIX}"
        db.session.execute(sa.text("SELECT 1"))  # a read does not take the gate
        assert gate_is_free(gate)
        for end in (db.session.commit, db.session.rollback):
            begin_write()
            db.session.execute(sa.text("SELECT 1"))
            assert not gate_is_free(gate)
            end()
            assert gate_is_free(gate)
        db.session.remove()
