"""`negoscope import-responses` and `negoscope analyze` on demo and imported data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from analytics.instrument_parser import load_default_instrument
from analytics.synthetic import simulate_responses
from survey.extensions import db
from survey.models import Answer, Response, Team

INSTRUMENT = load_default_instrument()


def _csv(tmp_path: Path, n: int = 60, teams: dict[str, int] | None = None) -> Path:
    teams = teams or {"North": 25, "South": 32, "Tiny": 3}
    sim = simulate_responses(
        INSTRUMENT, n_respondents=n, teams=teams, random_state=3, missing_rate=0.02
    )
    path = tmp_path / "responses.csv"
    sim.data.to_csv(path, index=False)
    return path


def test_import_creates_what_it_needs_and_stores_every_row(app, runner, tmp_path):
    path = _csv(tmp_path)
    result = runner.invoke(
        args=[
            "import-responses",
            str(path),
            "--instrument",
            "negotiation-blockers:1",
            "--round",
            "Q1",
            "--org",
            "Acme",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created organization 'Acme'" in result.output
    assert "Created round 'Q1'" in result.output
    assert "Created 3 teams" in result.output and "Imported 60 responses" in result.output
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Response).filter_by(status="submitted")
            )
            == 60
        )
        assert db.session.scalar(select(func.count()).select_from(Team)) == 3
        expected = pd.read_csv(path)[list(INSTRUMENT.item_ids)].notna().sum().sum()
        stored = db.session.scalar(
            select(func.count()).select_from(Answer).where(Answer.value.is_not(None))
        )
        assert stored == expected
    again = runner.invoke(
        args=[
            "import-responses",
            str(path),
            "--instrument",
            "negotiation-blockers",
            "--round",
            "Q1",
            "--org",
            "Acme",
        ]
    )
    assert again.exit_code != 0 and "already holds respondents" in again.output


def test_a_bad_row_rejects_the_whole_file_with_row_and_column(app, runner, tmp_path):
    path = _csv(tmp_path)
    frame = pd.read_csv(path)
    frame.loc[11, "TR3"] = 7
    frame.to_csv(path, index=False)
    result = runner.invoke(
        args=[
            "import-responses",
            str(path),
            "--instrument",
            "negotiation-blockers",
            "--round",
            "Q1",
            "--org",
            "Acme",
        ]
    )
    assert result.exit_code != 0
    assert "row 13, column TR3" in result.output and "nothing was imported" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_unknown_instrument_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(
        args=["import-responses", str(_csv(tmp_path)), "--instrument", "nope", "--round", "Q1"]
    )
    assert result.exit_code != 0 and "Instrument nope is not stored" in result.output


def test_analyze_an_imported_round_writes_json_and_assignments(app, runner, tmp_path):
    path = _csv(tmp_path)
    runner.invoke(
        args=[
            "import-responses",
            str(path),
            "--instrument",
            "negotiation-blockers",
            "--round",
            "Q1",
            "--org",
            "Acme",
        ]
    )
    out, assignments = tmp_path / "out.json", tmp_path / "assign.csv"
    result = runner.invoke(
        args=["analyze", "--round", "Q1", "--json", str(out), "--assignments", str(assignments)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    # Only released teams are analysed: Tiny (3 members) is never released, so its
    # answers move no one else's figures either.
    assert payload["round"] == "Q1" and payload["n_respondents"] == 57
    assert payload["instrument"]["id"] == "negotiation-blockers"
    assert payload["instrument"]["version"] == 1
    assert payload["anonymity_threshold"] == 5
    assert set(payload["reliability"]) == {d.id for d in INSTRUMENT.dimensions}
    assert "Tiny" not in payload["teams"]
    north = payload["teams"]["North"]
    assert north["n"] == 25 and not north["suppressed"]
    assert set(north["dimensions"]) >= {"trust", "time_pressure"}
    table = pd.read_csv(assignments, dtype=str, keep_default_na=False)
    assert list(table.columns) == ["respondent", "team", "profile"] and len(table) == 57
    original = pd.read_csv(path, dtype=str)
    released = original.loc[original["team"] != "Tiny", "respondent"]
    assert set(table["respondent"]) == set(released)


def test_analyze_the_demo_round(runner, tmp_path):
    runner.invoke(args=["demo"])
    out = tmp_path / "demo.json"
    result = runner.invoke(
        args=["analyze", "--round", "Spring negotiation check", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    # 2 answered, none released (under the threshold): nothing of theirs is analysed.
    assert payload["teams"]["Strategy Office"] == {"n": 0, "suppressed": True}
    assert payload["teams"]["Key Accounts"]["top_blockers"][0] == "time_pressure"
    assert runner.invoke(args=["analyze", "--round", "Nope", "--json", str(out)]).exit_code != 0
