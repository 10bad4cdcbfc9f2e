"""A staff session's idle timer is saved in a write of its own, never while a page renders.

Issue #15: the refresh used to be flushed into the request's transaction and
never committed, so every dashboard request past the touch interval held
SQLite's write lock while its charts rendered (``database is locked`` for the
others), then rolled back, and an active coach who only read was logged out
at the idle limit. The 503 page then failed too, reading the account from the
locked database.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from survey import create_app
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import AuthSession, ThrottleEvent
from survey.services import accounts, team_reports
from tests.conftest import backends, fresh_postgres_database, require_postgres
from tests.survey.accounts_helpers import PASSWORD, AccessWorld, build_access_world, log_in
from tests.survey.live_server import Browser, Gunicorn, Reply, expect, run_in_threads, serve

CHART_RE = re.compile(r"charts/(\w+)\.svg")


@dataclass
class Clock:
    """The ``AUTH_CLOCK`` of a test: time moves only when told."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _dashboard(world: AccessWorld) -> str:
    return f"/coach/teams/{world.team_id}/rounds/{world.report_round_id}/"


def _stored_last_seen(app: Flask) -> datetime:
    with app.app_context():
        return db.session.scalar(select(AuthSession.last_seen_at))  # type: ignore[return-value]


def _write_lock_is_free() -> bool:
    """Whether the request's database holds no write lock of this request (checked inside it)."""
    if db.engine.dialect.name == "sqlite":
        probe = sqlite3.connect(str(db.engine.url.database), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()
    # PostgreSQL gives a transaction an id at its first write.
    return db.session.scalar(text("SELECT txid_current_if_assigned()")) is None


def _load_dashboard_and_charts(client: FlaskClient, world: AccessWorld) -> None:
    base = _dashboard(world)
    page = client.get(base)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Team One" in html, page.status_code
    kinds = set(CHART_RE.findall(html))
    assert kinds == set(team_reports.CHART_KINDS) - {"change"}  # no earlier round
    for kind in team_reports.CHART_KINDS:
        chart = client.get(f"{base}charts/{kind}.svg")
        assert chart.status_code == (200 if kind in kinds else 404), (kind, chart.status_code)
        if kind in kinds:
            assert chart.mimetype == "image/svg+xml"


def test_an_active_coach_stays_logged_in_and_every_chart_loads_past_the_touch_interval(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(utcnow())
    app.config["AUTH_CLOCK"] = clock
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    idle = app.config["AUTH_IDLE_TIMEOUT"]
    step = idle / 3
    assert step > accounts.SessionPolicy(idle, idle).touch_every

    probes: list[bool] = []
    team_view = team_reports.team_view

    def probed_team_view(*args: Any, **kwargs: Any) -> team_reports.TeamView:
        probes.append(_write_lock_is_free())
        view = team_view(*args, **kwargs)
        probes.append(_write_lock_is_free())
        return view

    monkeypatch.setattr(team_reports, "team_view", probed_team_view)
    started = clock.now
    while clock.now - started <= idle + step:  # active for longer than the idle limit
        clock.advance(step)
        _load_dashboard_and_charts(client, world)
        assert _stored_last_seen(app) == clock.now  # saved, not rolled back
    assert probes and all(probes), probes  # no page rendered while holding a write lock

    within = clock.now
    clock.advance(timedelta(seconds=30))  # inside the touch interval: nothing written
    assert client.get(_dashboard(world)).status_code == 200
    assert _stored_last_seen(app) == within

    clock.advance(idle + timedelta(seconds=1))  # then idle: logged out, the session deleted
    response = client.get(_dashboard(world))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuthSession)) == 0


def test_a_refresh_the_busy_database_refuses_does_not_fail_the_page(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(utcnow())
    app.config["AUTH_CLOCK"] = clock
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    clock.advance(timedelta(minutes=5))

    def locked(*_: object) -> bool:
        raise OperationalError("UPDATE auth_sessions", {}, Exception("database is locked"))

    monkeypatch.setattr(accounts, "touch_session", locked)
    with caplog.at_level(logging.WARNING):
        assert client.get(_dashboard(world)).status_code == 200
    assert "login session not refreshed" in caplog.text
    assert _stored_last_seen(app) == clock.now - timedelta(minutes=5)


@contextlib.contextmanager
def _locked_database(app: Flask) -> Iterator[dict[str, int]]:
    """While ``state["locked"]`` is set, every statement fails as on a locked database."""
    state = {"locked": 0, "attempts": 0}

    def fail(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if state["locked"]:
            state["attempts"] += 1
            raise OperationalError(statement, params, Exception("database is locked"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield state
    finally:
        event.remove(engine, "before_cursor_execute", fail)


@pytest.mark.parametrize("where", ["request start", "while rendering"])
def test_the_503_page_renders_without_the_database_when_it_is_locked(
    app: Flask, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    app.config["AUTH_CLOCK"] = Clock(utcnow() + timedelta(minutes=5))  # a refresh is due
    with _locked_database(app) as state:
        team_view = team_reports.team_view

        def locking_team_view(*args: Any, **kwargs: Any) -> team_reports.TeamView:
            team_view(*args, **kwargs)
            state["locked"] = 1
            raise OperationalError("SELECT", {}, Exception("database is locked"))

        monkeypatch.setattr(team_reports, "team_view", locking_team_view)
        state["locked"] = int(where == "request start")
        response = client.get(_dashboard(world))
        after_failure = state["attempts"]
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html
    assert "Temporarily unavailable" in html and response.headers["Retry-After"] == "5"
    assert world.emails["coach_team"] not in html  # the account was not read for the page
    # Once failed, the handler sent nothing more to the database.
    assert after_failure == (1 if where == "request start" else 0)


def test_login_prunes_ended_sessions_and_old_throttle_events(app: Flask) -> None:
    world = build_access_world(app)
    now = utcnow()
    idle, absolute = app.config["AUTH_IDLE_TIMEOUT"], app.config["AUTH_ABSOLUTE_TIMEOUT"]
    rows = {
        "idle": (now - timedelta(hours=1), now - idle - timedelta(seconds=5)),
        "absolute": (now - absolute - timedelta(seconds=5), now),
        "live": (now - timedelta(hours=1), now - timedelta(minutes=1)),
    }
    with app.app_context():
        for name, (created, seen) in rows.items():
            db.session.add(
                AuthSession(
                    id_hash=f"{name:0>64}", user_id=world.coach_id, created_at=created,
                    last_seen_at=seen,
                )
            )  # fmt: skip
        db.session.add(ThrottleEvent(key="login:addr:198.51.100.7", at=now - timedelta(days=2)))
        db.session.add(ThrottleEvent(key="login:addr:198.51.100.8", at=now - timedelta(hours=1)))
        db.session.commit()
    log_in(app.test_client(), world.emails["admin"])
    with app.app_context():
        kept = set(db.session.scalars(select(AuthSession.id_hash)))
        keys = set(db.session.scalars(select(ThrottleEvent.key)))
    assert f"{'live':0>64}" in kept and len(kept) == 2  # the live one and the new login
    assert keys == {"login:addr:198.51.100.8"}


# --------------------------------------------------------------------------- several workers


@dataclass
class Served:
    """A gunicorn server with four workers on a database holding the access world."""

    database_url: str
    server: Gunicorn
    world: AccessWorld


@pytest.fixture(scope="module", params=backends())
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{Path(tmp_path_factory.mktemp('touch')) / 'live.sqlite3'}"
        else:
            fresh = contextlib.contextmanager(fresh_postgres_database)
            url = stack.enter_context(fresh(require_postgres()))
        server = stack.enter_context(serve(url))
        seeder = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": uuid.uuid4().hex})
        try:
            world = build_access_world(seeder)
        finally:
            with seeder.app_context():
                db.session.remove()
                db.engine.dispose()
        yield Served(url, server, world)


def _set_last_seen(database_url: str, value: datetime) -> None:
    engine = sa.create_engine(database_url)
    try:
        with Session(engine) as session:
            session.execute(sa.update(AuthSession).values(last_seen_at=value))
            session.commit()
    finally:
        engine.dispose()


def _last_seen(database_url: str) -> datetime:
    engine = sa.create_engine(database_url)
    try:
        with Session(engine) as session:
            return session.scalars(select(AuthSession.last_seen_at)).one()
    finally:
        engine.dispose()


def test_parallel_chart_loads_past_the_touch_interval_all_succeed(served: Served) -> None:
    """Four workers render one coach's dashboard and charts at once, three times over."""
    log_start = len(served.server.log_text())
    browser = Browser(served.server.base_url)
    login = expect(browser.get("/login"), 200)
    data = {"csrf_token": login.csrf(), "email": served.world.emails["coach_team"]}
    expect(browser.post("/login", {**data, "password": PASSWORD}), 302)
    base = _dashboard(served.world)
    kinds = sorted(set(CHART_RE.findall(expect(browser.get(base), 200).text)))
    assert kinds
    paths = [base] + [f"{base}charts/{kind}.svg" for kind in kinds]
    cookie = browser.cookie_header()
    idle = timedelta(minutes=30)  # AUTH_IDLE_TIMEOUT's default, which the server runs with

    def load(index: int) -> Reply:
        return Browser(served.server.base_url).send_once(
            "GET", paths[index % len(paths)], None, cookie
        )

    for _ in range(3):
        # Seen 29.5 minutes ago: the refresh is due, and without it the next step logs out.
        stale = utcnow() - idle + timedelta(seconds=30)
        _set_last_seen(served.database_url, stale)
        replies = run_in_threads(3 * len(paths), load, timeout=120)
        errors = [r for r in replies if isinstance(r, BaseException)]
        assert not errors, errors
        statuses = [r.status for r in replies if isinstance(r, Reply)]
        assert statuses == [200] * len(statuses), statuses
        assert utcnow() - _last_seen(served.database_url) < timedelta(minutes=1)
    log = served.server.log_text()[log_start:]
    for marker in (
        "Traceback",
        "unhandled error",
        "database error",
        "database unavailable",
        "not refreshed",
    ):
        assert marker not in log, log
