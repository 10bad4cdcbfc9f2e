"""Shared fixtures: an app on a fresh database (SQLite, and PostgreSQL when available),
a test client, a CLI runner, and factories for rounds and invitations.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from survey import create_app
from survey.dbtypes import utcnow
from survey.extensions import db

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("NEGOSCOPE_TEST_DATABASE_URL", "")


def backends() -> list[object]:
    """SQLite always; PostgreSQL when a server is configured (required in CI)."""
    marks = [pytest.mark.postgres]
    if not POSTGRES_URL and not IN_CI:
        marks.append(pytest.mark.skip(reason="NEGOSCOPE_TEST_DATABASE_URL not set (no PostgreSQL)"))
    return ["sqlite", pytest.param("postgresql", marks=marks)]


def require_postgres() -> str:
    """The PostgreSQL URL, failing in CI when it is missing."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI=true but NEGOSCOPE_TEST_DATABASE_URL is not set")
        pytest.skip("NEGOSCOPE_TEST_DATABASE_URL not set (no PostgreSQL)")
    return POSTGRES_URL


@pytest.fixture(params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    yield from fresh_postgres_database(require_postgres())


def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """Create a throw-away database on the server and drop it afterwards."""
    from tests.survey.live_server import scratch_postgres_database

    with scratch_postgres_database(admin_url, "negoscope_t") as url:
        yield url


def make_app(database_url: str, instance_path: Path, **overrides: object) -> Flask:
    """An app in testing mode on ``database_url`` with the schema created."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-only-" + uuid.uuid4().hex,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_BASE_URL": "http://localhost",
        "WTF_CSRF_ENABLED": True,
        # Background jobs run at once, in the request that queues them (survey.jobs.queue).
        "JOBS_URL": "immediate:",
    }
    settings.update(overrides)
    app = create_app(settings)
    app.instance_path = str(instance_path)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The application on a fresh database (CSRF enforced, as in production)."""
    application = make_app(database_url, tmp_path)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@dataclass
class RoundWorld:
    """A small organization with one open round and a token per member."""

    app: Flask
    round_id: int
    tokens: list[str]
    team_name: str

    def set_round(self, **values: object) -> None:
        """Change the round's columns (status, closes_at, mode...)."""
        from survey.models import SurveyRound

        with self.app.app_context():
            survey_round = db.session.get(SurveyRound, self.round_id)
            for key, value in values.items():
                setattr(survey_round, key, value)
            db.session.commit()


@pytest.fixture
def make_world(app: Flask):  # type: ignore[no-untyped-def]
    """Factory: ``make_world(members=3, mode="confidential")`` -> RoundWorld."""
    from analytics.instrument_parser import load_default_instrument
    from survey.services import organizations, rounds
    from survey.services.instruments import store_instrument

    def build(members: int = 3, mode: str = "confidential", org_name: str = "Acme") -> RoundWorld:
        with app.app_context():
            instrument_row, _ = store_instrument(load_default_instrument())
            org, _ = organizations.get_or_create_organization(org_name)
            team, _ = organizations.get_or_create_team(org, "Deal Desk")
            survey_round = rounds.create_round(
                org, f"Round {uuid.uuid4().hex[:6]}", instrument_row, [team], mode=mode,
                status="open", opens_at=utcnow() - timedelta(days=1),
                closes_at=utcnow() + timedelta(days=10),
            )  # fmt: skip
            tokens = []
            for index in range(members):
                person = organizations.add_participant(
                    team, name=f"Member {index}", email=f"member{index}@acme.example"
                )
                _, token = rounds.issue_invitation(
                    survey_round, person, utcnow(), timedelta(days=30)
                )
                tokens.append(token)
            db.session.commit()
            return RoundWorld(app, survey_round.id, tokens, team.name)

    return build
