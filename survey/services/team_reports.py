"""Round analyses, team report contexts, PDFs and dashboard charts, with caching.

A round's analysis is cached per process under a fingerprint of its submitted
responses (how many, and the newest id), checked with one cheap query on every
use: when a response arrives the fingerprint changes and every worker
recomputes, so no worker serves a stale result.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date

from sqlalchemy import func, select

from analytics.pipeline import RoundAnalysis, analyze_round
from reports.charts import render_chart_svg
from reports.context import TeamReportContext, TeamSuppressed, build_team_context
from reports.team_report import render_team_report
from survey.extensions import db
from survey.models import Response, SurveyRound, Team, round_teams
from survey.services.datasets import invited_by_team, round_frame
from survey.services.instruments import instrument_of

CHART_KINDS = ("blockers", "spread", "pillars", "practices", "change")
_LOCK = threading.Lock()
_ANALYSES: OrderedDict[tuple[int, tuple[int, int]], RoundAnalysis] = OrderedDict()
_SVGS: OrderedDict[tuple[object, ...], str] = OrderedDict()
MAX_ANALYSES = 8
MAX_SVGS = 512

__all__ = ["CHART_KINDS", "TeamSuppressed", "chart_svg", "round_analysis", "team_context"]


def fingerprint(survey_round: SurveyRound) -> tuple[int, int]:
    """(submitted responses, newest submitted response id) of a round."""
    count, newest = db.session.execute(
        select(func.count(Response.id), func.coalesce(func.max(Response.id), 0)).where(
            Response.round_id == survey_round.id, Response.status == "submitted"
        )
    ).one()
    return int(count), int(newest)


def round_analysis(survey_round: SurveyRound, threshold: int) -> RoundAnalysis:
    """The round's analysis, computed once per set of submitted responses."""
    key = (survey_round.id, fingerprint(survey_round))
    with _LOCK:
        cached = _ANALYSES.get(key)
        if cached is not None:
            _ANALYSES.move_to_end(key)
            return cached
    instrument = instrument_of(survey_round.instrument)
    frame = round_frame(survey_round, instrument)
    analysis = analyze_round(
        frame,
        instrument,
        round_name=survey_round.name,
        threshold=threshold,
        invited=invited_by_team(survey_round) or None,
        random_state=0,
    )
    with _LOCK:
        _ANALYSES[key] = analysis
        while len(_ANALYSES) > MAX_ANALYSES:
            _ANALYSES.popitem(last=False)
    return analysis


def team_context(
    survey_round: SurveyRound, team: Team, threshold: int, today: date
) -> TeamReportContext:
    """What the report and dashboard of one team in one round show.

    Raises :class:`TeamSuppressed` when the team is under the threshold.
    """
    analysis = round_analysis(survey_round, threshold)
    if team.name not in analysis.diagnosis.teams:
        raise TeamSuppressed(team.name, 0, threshold)
    return build_team_context(
        analysis,
        team.name,
        organization=survey_round.organization.name,
        round_name=survey_round.name,
        instrument=instrument_of(survey_round.instrument),
        report_date=today,
        previous=_previous(survey_round, team, threshold),
    )


def _previous(survey_round: SurveyRound, team: Team, threshold: int):  # type: ignore[no-untyped-def]
    """The team's scores in its latest earlier round of the same instrument, if shown there."""
    earlier = db.session.scalars(
        select(SurveyRound)
        .join(round_teams, round_teams.c.round_id == SurveyRound.id)
        .where(
            round_teams.c.team_id == team.id,
            SurveyRound.organization_id == survey_round.organization_id,
            SurveyRound.instrument_id == survey_round.instrument_id,
            SurveyRound.id != survey_round.id,
            SurveyRound.created_at <= survey_round.created_at,
        )
        .order_by(SurveyRound.created_at.desc(), SurveyRound.id.desc())
    ).first()
    if earlier is None:
        return None
    analysis = round_analysis(earlier, threshold)
    finding = analysis.diagnosis.teams.get(team.name)
    if finding is None or finding.suppressed:
        return None
    rows = (analysis.teams == team.name).to_numpy()
    return earlier.name, analysis.scores.loc[rows]


def team_pdf(context: TeamReportContext) -> bytes:
    """The PDF team report."""
    return render_team_report(context)


def chart_svg(survey_round: SurveyRound, team: Team, kind: str, context: TeamReportContext) -> str:
    """One dashboard chart as SVG, cached with the round's fingerprint."""
    key = (survey_round.id, fingerprint(survey_round), team.id, kind, context.report_date)
    with _LOCK:
        cached = _SVGS.get(key)
        if cached is not None:
            return cached
    svg = render_chart_svg(kind, context)
    with _LOCK:
        _SVGS[key] = svg
        while len(_SVGS) > MAX_SVGS:
            _SVGS.popitem(last=False)
    return svg


def clear_caches() -> None:
    """Forget every cached analysis and chart (tests, memory pressure)."""
    with _LOCK:
        _ANALYSES.clear()
        _SVGS.clear()
