"""The Alembic history builds the schema, and agrees with the models."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from survey import create_app
from survey.extensions import db, render_migration_item


@pytest.fixture
def migrated_app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_upgrade_creates_every_table(migrated_app):
    tables = set(sa.inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(migrated_app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_item": render_migration_item},
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_to_base_and_back(migrated_app):
    downgrade(revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert set(db.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())


def test_db_upgrade_command_on_an_empty_sqlite_file(tmp_path: Path, monkeypatch):
    database = tmp_path / "fresh.sqlite3"
    monkeypatch.setenv("NEGOSCOPE_DATABASE_URL", f"sqlite:///{database}")
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert "responses" in sa.inspect(conn).get_table_names()
    engine.dispose()


def test_existing_answers_become_one_release_per_team(database_url: str):
    """Upgrading a database with answers keeps every team's results as they were shown."""
    from datetime import timedelta

    from sqlalchemy.orm import load_only

    from analytics.instrument_parser import load_default_instrument
    from survey.dbtypes import utcnow
    from survey.models import Organization, Response, TeamRelease
    from survey.services import organizations
    from survey.services.instruments import store_instrument

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        downgrade(revision="0005")
        instrument_row, _ = store_instrument(load_default_instrument())
        # Written as at 0005: later columns of organizations (0008: timezone) do not exist yet.
        db.session.execute(
            sa.text("INSERT INTO organizations (name, created_at) VALUES ('Old', :now)"),
            {"now": utcnow().replace(tzinfo=None)},
        )
        org = db.session.scalar(
            sa.select(Organization).options(load_only(Organization.id, Organization.name))
        )
        team = organizations.create_team(org, "Legacy")
        # Written as at 0005 too: later columns of survey_rounds (0009: counterparty_id) neither.
        now = utcnow().replace(tzinfo=None)
        db.session.execute(
            sa.text(
                "INSERT INTO survey_rounds (organization_id, instrument_id, name, status, mode,"
                " closes_at, created_at) VALUES (:o, :i, 'Before', 'closed', 'confidential',"
                " :now, :now)"
            ),
            {"o": org.id, "i": instrument_row.id, "now": now},
        )
        round_id = db.session.scalar(sa.text("SELECT id FROM survey_rounds"))
        db.session.execute(
            sa.text("INSERT INTO round_teams (round_id, team_id) VALUES (:r, :t)"),
            {"r": round_id, "t": team.id},
        )
        db.session.commit()
        team_id, instrument_id = team.id, instrument_row.id
        db.session.remove()
        with db.engine.begin() as connection:
            for index in range(6):
                connection.execute(
                    sa.text(
                        "INSERT INTO responses (round_id, team_id, instrument_id, status,"
                        " current_page, created_at, updated_at, submitted_at)"
                        " VALUES (:r, :t, :i, 'submitted', 0, :now, :now, :now)"
                    ),
                    {"r": round_id, "t": team_id, "i": instrument_id,
                     "now": (utcnow() - timedelta(days=index)).replace(tzinfo=None)},
                )  # fmt: skip
            response_ids = connection.execute(sa.text("SELECT id FROM responses")).scalars().all()
            for response_id in response_ids:
                for item in ("TR1", "TR2"):
                    connection.execute(
                        sa.text(
                            "INSERT INTO answers (response_id, item_id, value) VALUES (:r, :i, 4)"
                        ),
                        {"r": response_id, "i": item},
                    )
        upgrade()
        db.session.remove()
        # Rebuilding tables on SQLite must not cascade to the answers (foreign keys are
        # switched off while migrations run).
        assert db.session.scalar(sa.text("SELECT count(*) FROM answers")) == 12
        [release] = db.session.scalars(sa.select(TeamRelease)).all()
        assert (release.round_id, release.team_id, release.n, release.reason) == (
            round_id,
            team_id,
            6,
            "migration",
        )
        released = db.session.scalars(sa.select(Response.release_id)).all()
        assert released == [release.id] * 6 and len(release.member_ids) == 6
        db.session.remove()
        db.engine.dispose()
