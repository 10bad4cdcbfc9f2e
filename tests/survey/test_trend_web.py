"""The trend across all rounds: released figures only, on the dashboard and in the PDF (#16)."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import SurveyRound, Team
from survey.services import releases, team_reports, trends
from survey.services.ingest import SubmittedRow, store_submitted
from tests.survey.kit_helpers import base_url, coach_of_team_one, released_round, text_of


def _context(app, team_id: int, round_id: int):  # type: ignore[no-untyped-def]
    with app.app_context():
        team = db.session.get(Team, team_id)
        survey_round = db.session.get(SurveyRound, round_id)
        return team_reports.team_context(survey_round, team, 5, date.today())


def _dashboard_means(app, team_id: int, round_id: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The blocker means the round's own dashboard shows (its released diagnosis)."""
    context = _context(app, team_id, round_id)
    return {
        dim_id: finding.mean
        for dim_id, finding in context.diagnosis.dimensions.items()
        if finding.kind == "blocker" and not finding.withheld
    }


def test_every_point_is_a_rounds_own_released_figure_and_a_small_round_has_none(app):
    world, client = coach_of_team_one(app)
    # "Small": Team One has 3 answers (under the threshold): never released, so no point
    small = released_round(app, world.org_id, "Small", {world.team_id: 3}, seed=3)
    later = released_round(app, world.org_id, "R2", {world.team_id: 8}, seed=4, shift=-1)
    context = _context(app, world.team_id, later)
    trend = context.trend
    assert trend is not None and trend.round_labels == ("R0", "R2")
    for point, round_id in zip(trend.points, (world.report_round_id, later), strict=True):
        assert dict(point.means) == _dashboard_means(app, world.team_id, round_id)
    with app.app_context():
        survey_round = db.session.get(SurveyRound, later)
        team = db.session.get(Team, world.team_id)
        assert small not in [r.id for r, _ in trends.trend_rounds(survey_round, team)]
    page = text_of(client.get(base_url(world.team_id, later)).get_data(as_text=True))
    assert "Across all rounds" in page and trend.summary in page
    assert "Since R0:" in page  # the change in the summary
    chart = client.get(base_url(world.team_id, later) + "charts/trend.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    pdf = client.get(base_url(world.team_id, later) + "report.pdf")
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split()
    )
    assert "Across all rounds" in text and "Since R0:" in text


def test_the_trend_moves_only_with_a_release(app):
    """Two answers more in an earlier round (fewer than the release step) change no point:
    comparing the trend before and after them reveals nothing about those two people."""
    world, client = coach_of_team_one(app)
    later = released_round(app, world.org_id, "R2", {world.team_id: 6}, seed=4)
    before = _context(app, world.team_id, later).trend
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.report_round_id)
        answers = {
            item: 5 for item in team_reports.round_analysis(survey_round, 5).instrument.item_ids
        }
        rows = [
            SubmittedRow(team_id=world.team_id, answers=answers, context={}, submitted_at=utcnow())
            for _ in range(2)
        ]
        store_submitted(survey_round, rows)
        releases.refresh(survey_round, utcnow())
        db.session.commit()
    after = _context(app, world.team_id, later).trend
    assert before is not None and after is not None
    assert [dict(p.means) for p in after.points] == [dict(p.means) for p in before.points]
    assert [p.n for p in after.points] == [6, 6]
    assert client.get(base_url(world.team_id, later)).status_code == 200


def test_a_first_round_has_a_one_round_trend_and_no_trend_chart(app):
    world, client = coach_of_team_one(app)
    context = _context(app, world.team_id, world.report_round_id)
    assert context.trend is not None and context.trend.round_labels == ("R0",)
    assert "Since" not in context.trend.summary
    chart = client.get(base_url(world.team_id, world.report_round_id) + "charts/trend.svg")
    assert chart.status_code == 404
    page = text_of(
        client.get(base_url(world.team_id, world.report_round_id)).get_data(as_text=True)
    )
    assert context.trend.summary in page


def test_a_round_withheld_after_an_erasure_gives_no_point(app):
    """A team whose released answers changed (an erasure) is left out of a recomputed
    analysis until its next release; the trend then has no point for that round."""
    from survey.models import Response

    world, _ = coach_of_team_one(app)
    later = released_round(app, world.org_id, "R2", {world.team_id: 6}, seed=4)
    with app.app_context():
        team_reports.clear_caches()
        response = db.session.scalars(
            db.select(Response).where(
                Response.round_id == world.report_round_id, Response.team_id == world.team_id
            )
        ).first()
        db.session.delete(response)
        db.session.commit()
        db.session.execute(db.delete(team_reports.StoredAnalysis))
        db.session.commit()
    trend = _context(app, world.team_id, later).trend
    assert trend is not None and trend.round_labels == ("R2",)


def test_a_team_never_released_in_the_later_round_has_no_trend_there(app):
    world, client = coach_of_team_one(app)
    later = released_round(
        app, world.org_id, "R2", {world.team_id: 2, world.other_team_id: 6}, seed=6
    )
    response = client.get(base_url(world.team_id, later))
    assert "2 of the 5 responses needed" in response.get_data(as_text=True)
    assert client.get(base_url(world.team_id, later) + "charts/trend.svg").status_code == 404
