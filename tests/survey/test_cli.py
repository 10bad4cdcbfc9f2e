"""Command-line behaviour: instruments and demo data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from analytics.instrument_parser import DEFAULT_INSTRUMENT_FILE, default_instrument_paths
from survey.extensions import db
from survey.models import InstrumentVersion, Invitation, Organization, Response, Team

DEFAULT_FILE = str(next(p for p in default_instrument_paths() if p.name == DEFAULT_INSTRUMENT_FILE))


def test_instrument_validate_reports_ok(runner):
    result = runner.invoke(args=["instrument", "validate", DEFAULT_FILE])
    assert result.exit_code == 0, result.output
    assert "OK: negotiation-blockers v1" in result.output


def test_instrument_validate_names_file_field_and_problem(runner, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: x\nversion: 1\ntitle: X\n"
        "response_scale: {min: 1, max: 5, labels: [a, b, c, d, e]}\n"
        "dimensions:\n  - id: d\n    name: D\n    description: d\n"
        "    items:\n      - {id: I1, text: t, reverse: maybe}\n"
    )
    result = runner.invoke(args=["instrument", "validate", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml" in result.output and "reverse" in result.output
    assert "at least 2 items" in result.output or "2 items" in result.output


def test_instrument_load_is_idempotent_and_refuses_changed_content(app, runner, tmp_path: Path):
    first = runner.invoke(args=["instrument", "load", DEFAULT_FILE])
    assert first.exit_code == 0 and "stored" in first.output
    again = runner.invoke(args=["instrument", "load", DEFAULT_FILE])
    assert again.exit_code == 0 and "identical content" in again.output
    changed = tmp_path / "changed.yaml"
    changed.write_text(Path(DEFAULT_FILE).read_text().replace("title:", "title: Changed", 1))
    refused = runner.invoke(args=["instrument", "load", str(changed)])
    assert refused.exit_code != 0
    assert "different content" in refused.output
    listed = runner.invoke(args=["instrument", "list"])
    assert "negotiation-blockers\tv1" in listed.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InstrumentVersion)) == 1


def test_demo_creates_teams_responses_and_links_and_refuses_twice(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "http://localhost/s/" in result.output
    with app.app_context():
        teams = db.session.scalars(select(Team)).all()
        assert 6 <= len(teams) <= 10
        assert db.session.scalar(select(func.count()).select_from(Response)) > 50
        open_invitations = select(func.count()).where(Invitation.submitted_at.is_(None))
        assert db.session.scalar(open_invitations) > 0
    again = runner.invoke(args=["demo"])
    assert again.exit_code != 0 and "--reset" in again.output
    reset = runner.invoke(args=["demo", "--reset"])
    assert reset.exit_code == 0, reset.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 1


def test_demo_has_a_team_under_the_threshold_and_distinct_patterns(app, runner):
    runner.invoke(args=["demo"])
    with app.app_context():
        sizes = dict(
            db.session.execute(
                select(Team.name, func.count(Response.id))
                .join(Response, Response.team_id == Team.id)
                .group_by(Team.name)
            ).all()
        )
    assert min(sizes.values()) < 5
    assert max(sizes.values()) >= 10


def test_demo_if_empty_prints_fresh_links_without_reloading(app, runner):
    runner.invoke(args=["demo"])
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0
    assert "was not loaded again" in result.output
    assert result.output.count("http://localhost/s/") == 3


def test_console_script_is_the_flask_cli(tmp_path: Path):
    env = {"NEGOSCOPE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": "x"}
    negoscope = Path(sys.executable).with_name("negoscope")
    result = subprocess.run(
        [str(negoscope), "routes"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "respond.open_invitation" in result.stdout


def test_create_user_with_password_on_stdin_creates_org_and_assigns_teams(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "Coach@New.example",
            "--role",
            "coach",
            "--org",
            "New Co",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created organization 'New Co'" in result.output
    unknown_team = runner.invoke(
        args=[
            "create-user",
            "x@new.example",
            "--role",
            "coach",
            "--org",
            "New Co",
            "--team",
            "Ghost",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert unknown_team.exit_code != 0 and "Ghost" in unknown_team.output
    short = runner.invoke(
        args=[
            "create-user",
            "y@new.example",
            "--role",
            "admin",
            "--org",
            "New Co",
            "--password-stdin",
        ],
        input="short\n",
    )
    assert short.exit_code != 0 and "at least 12" in short.output
    client = app.test_client()
    from tests.survey.accounts_helpers import log_in

    log_in(client, "coach@new.example", "a long enough password")


def test_rounds_lists_one_line_per_round(runner):
    runner.invoke(args=["demo"])
    result = runner.invoke(args=["rounds", "--org", "Northwind Demo"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 2  # the survey round and the demo's counterparty rating round
    [line] = [x for x in lines if "\tSpring negotiation check\t" in x]
    assert line.startswith(
        "Northwind Demo\tSpring negotiation check\tnegotiation-blockers v1\topen\tinvited "
    )
    assert "submitted 78" in line
    assert runner.invoke(args=["rounds", "--org", "Nope"]).exit_code != 0


def test_demo_prints_admin_and_coach_logins_that_work(app, runner):
    result = runner.invoke(args=["demo"])
    logins = re.findall(r"(admin|coach)\s+(\S+@\S+)\s+password: (\S+)", result.output)
    assert {role for role, *_ in logins} == {"admin", "coach"}
    from tests.survey.accounts_helpers import log_in

    for _, email, password in logins:
        log_in(app.test_client(), email, password)
