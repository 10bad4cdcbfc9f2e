"""The coach's team dashboard, the PDF download, and `negoscope report`."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent
from tests.survey.accounts_helpers import build_access_world, log_in


def _coach(app):  # type: ignore[no-untyped-def]
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    return world, client


def test_dashboard_shows_findings_and_charts_for_the_coached_team(app):
    world, client = _coach(app)
    base = f"/coach/teams/{world.team_id}/rounds/{world.report_round_id}/"
    home = client.get("/coach/").get_data(as_text=True)
    assert base in home
    page = client.get(base)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Team One" in text and "6 respondents" in text
    assert "Download PDF report" in text and "never individual answers" in text
    chart = client.get(base + "charts/blockers.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert b"<script" not in chart.data and chart.headers["Cache-Control"] == "no-store"
    assert client.get(base + "charts/change.svg").status_code == 404  # no earlier round


def test_team_under_the_threshold_says_how_many_responses_are_missing(app):
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["admin"])
    base = f"/coach/teams/{world.other_team_id}/rounds/{world.report_round_id}/"
    page = client.get(base)
    assert page.status_code == 200
    assert "2 of the 5 responses needed" in page.get_data(as_text=True)
    assert client.get(base + "report.pdf").status_code == 409
    assert client.get(base + "charts/blockers.svg").status_code == 404


def test_pdf_download_is_a_report_of_the_team_and_is_audited(app):
    world, client = _coach(app)
    response = client.get(f"/coach/teams/{world.team_id}/rounds/{world.report_round_id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Team One" in text and "Summary" in text and "Method and privacy" in text
    with app.app_context():
        events = select(func.count()).select_from(AuditEvent).filter_by(action="report_downloaded")
        assert db.session.scalar(events) == 1


def test_a_coach_of_another_team_cannot_download_the_report(app):
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_other"])
    url = f"/coach/teams/{world.team_id}/rounds/{world.report_round_id}/report.pdf"
    assert client.get(url).status_code == 403


def test_report_cli_writes_one_team_or_every_eligible_team(app, runner, tmp_path: Path):
    world = build_access_world(app)
    out = tmp_path / "one.pdf"
    result = runner.invoke(
        args=["report", "--round", "R0", "--org", "Org A", "--team", "Team One", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Team One" in PdfReader(out).pages[0].extract_text()
    refused = runner.invoke(
        args=[
            "report",
            "--round",
            "R0",
            "--org",
            "Org A",
            "--team",
            "Team Two",
            "--out",
            str(tmp_path / "x.pdf"),
        ]
    )
    assert refused.exit_code != 0 and "2 of the 5 responses needed" in refused.output
    assert not (tmp_path / "x.pdf").exists()
    batch = runner.invoke(
        args=[
            "report",
            "--round",
            "R0",
            "--org",
            "Org A",
            "--all",
            "--out-dir",
            str(tmp_path / "all"),
            "--jobs",
            "2",
        ]
    )
    assert batch.exit_code == 0, batch.output
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["team-one.pdf"]
    assert "Team Two: 2 of the 5 responses needed" in batch.output
    assert world.report_round_id


def test_round_analysis_is_shared_through_the_database_and_moves_only_with_a_release(app):
    from datetime import UTC, datetime

    from analytics.code_version import code_version
    from survey.models import StoredAnalysis, SurveyRound
    from survey.services import releases, team_reports
    from survey.services.ingest import SubmittedRow, store_submitted

    world = build_access_world(app)
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.report_round_id)
        first = team_reports.round_analysis(survey_round, 5)
        db.session.commit()
        stored = db.session.get(StoredAnalysis, survey_round.id)
        assert stored is not None
        snapshot = team_reports.fingerprint(survey_round)
        assert stored.fingerprint == f"{code_version()[:16]}:snapshot:{snapshot}"
        team_reports.clear_caches()  # another worker: nothing in its memory
        again = team_reports.round_analysis(survey_round, 5)
        assert again.diagnosis.teams["Team One"].n == first.diagnosis.teams["Team One"].n == 6
        answers = {item: 3 for item in first.instrument.item_ids}

        def submit_one() -> None:
            row = SubmittedRow(
                team_id=world.team_id, answers=answers, context={}, submitted_at=datetime.now(UTC)
            )
            store_submitted(survey_round, [row])
            releases.refresh(survey_round, datetime.now(UTC))
            db.session.commit()

        for _ in range(2):  # one or two more answers: the published figures do not move
            submit_one()
            assert team_reports.fingerprint(survey_round) == snapshot
            assert team_reports.round_analysis(survey_round, 5).diagnosis.teams["Team One"].n == 6
        submit_one()  # the third: a new release
        assert team_reports.fingerprint(survey_round) > snapshot
        assert team_reports.round_analysis(survey_round, 5).diagnosis.teams["Team One"].n == 9


def test_a_stored_analysis_from_other_analytics_code_is_recomputed(app, monkeypatch):
    from survey.models import StoredAnalysis, SurveyRound
    from survey.services import team_reports

    world = build_access_world(app)
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.report_round_id)
        team_reports.round_analysis(survey_round, 5)
        db.session.commit()
        team_reports.clear_caches()
        monkeypatch.setattr(team_reports, "code_version", lambda: "f" * 64)  # an upgrade
        computed = []
        real_compute = team_reports._compute
        monkeypatch.setattr(
            team_reports, "_compute", lambda *a: computed.append(1) or real_compute(*a)
        )
        team_reports.round_analysis(survey_round, 5)
        assert computed == [1]
        db.session.commit()  # end the read snapshot: the analysis was stored on its own connection
        stored = db.session.get(StoredAnalysis, survey_round.id)
        assert stored is not None and stored.fingerprint.startswith("f" * 16 + ":snapshot:")
