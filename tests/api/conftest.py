"""An organization for API tests: teams, members, a closed round with released results,
and API tokens (read, write, another organization's)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Organization
from survey.services import api_tokens
from tests.conftest import make_app
from tests.survey.accounts_helpers import AccessWorld, build_access_world


@dataclass
class ApiWorld:
    """The access world plus tokens (header values ready to send)."""

    world: AccessWorld
    read: str
    write: str
    other: str
    write_id: int

    def auth(self, which: str = "read") -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, which)}"}


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with jobs run at once (immediate queue) and loopback webhooks allowed."""
    application = make_app(
        database_url,
        tmp_path,
        JOBS_URL="immediate:",
        JOB_FILES_DIR=str(tmp_path / "job-files"),
        WEBHOOK_ALLOW_HTTP_LOOPBACK=True,
    )
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def make_tokens(app: Flask, world: AccessWorld) -> ApiWorld:
    with app.app_context():
        org = db.session.get(Organization, world.org_id)
        other = db.session.get(Organization, world.other_org_id)
        now = utcnow()
        _, read = api_tokens.create_token(org, "reader", "read", actor=None, now=now)
        write_token, write = api_tokens.create_token(org, "writer", "write", actor=None, now=now)
        _, foreign = api_tokens.create_token(other, "theirs", "write", actor=None, now=now)
        db.session.commit()
        return ApiWorld(world, read, write, foreign, write_token.id)


@pytest.fixture
def api_world(app: Flask) -> ApiWorld:
    return make_tokens(app, build_access_world(app))
