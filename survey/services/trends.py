"""A team's blocker means across every round it was released in (the report's trend).

Each point is a figure that was already publishable on its own: the team's
mean on one blocker in one round's *released* analysis, exactly as that
round's dashboard shows it (:func:`survey.services.team_reports.round_analysis`
of the round's current release snapshot). A round where the team is under the
threshold, suppressed or not yet released gives no point, and a blocker the
diagnosis withholds gives no value there. Nothing is computed from live
answers, and no point combines two rounds, so comparing the trend with the
rounds' own dashboards reveals nothing they did not show already.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import func, select

from analytics.pipeline import RoundAnalysis
from analytics.trend import Trend, TrendPoint, team_trend
from survey.extensions import db
from survey.models import InstrumentVersion, SurveyRound, Team, TeamRelease, round_teams
from survey.services import organizations

__all__ = ["team_trend_of", "trend_key", "trend_rounds"]

AnalysisOf = Callable[[SurveyRound, int], RoundAnalysis]


def trend_rounds(survey_round: SurveyRound, team: Team) -> list[tuple[SurveyRound, int]]:
    """The rounds of the trend with each round's snapshot id, oldest first.

    Every round of the organization with the same instrument key (any version)
    that includes the team, was created no later than ``survey_round`` and has
    a release for the team. The snapshot id is the round's largest release id,
    the key its analysis is stored under.
    """
    key = db.session.scalar(
        select(InstrumentVersion.key).where(InstrumentVersion.id == survey_round.instrument_id)
    )
    released = (
        select(TeamRelease.round_id)
        .where(TeamRelease.team_id == team.id)
        .group_by(TeamRelease.round_id)
        .subquery()
    )
    snapshot = (
        select(TeamRelease.round_id, func.max(TeamRelease.id).label("snapshot_id"))
        .group_by(TeamRelease.round_id)
        .subquery()
    )
    rows = db.session.execute(
        select(SurveyRound, snapshot.c.snapshot_id)
        .join(round_teams, round_teams.c.round_id == SurveyRound.id)
        .join(InstrumentVersion, InstrumentVersion.id == SurveyRound.instrument_id)
        .join(released, released.c.round_id == SurveyRound.id)
        .join(snapshot, snapshot.c.round_id == SurveyRound.id)
        .where(
            round_teams.c.team_id == team.id,
            SurveyRound.organization_id == survey_round.organization_id,
            InstrumentVersion.key == key,
            SurveyRound.counterparty_id.is_(None),
            SurveyRound.created_at <= survey_round.created_at,
        )
        .order_by(SurveyRound.created_at, SurveyRound.id)
    ).all()
    return [(r, int(s)) for r, s in rows]


def trend_key(survey_round: SurveyRound, team: Team) -> tuple[tuple[int, int], ...]:
    """What the trend depends on: (round id, snapshot id) of every round in it."""
    return tuple((r.id, s) for r, s in trend_rounds(survey_round, team))


def team_trend_of(
    survey_round: SurveyRound,
    team: Team,
    threshold: int,
    analysis_of: AnalysisOf,
    names: Mapping[str, str] | None = None,
) -> Trend | None:
    """The team's blocker trend up to ``survey_round`` from released analyses only.

    ``analysis_of(round, snapshot_id)`` returns the round's released analysis
    (the one its dashboard shows); ``names`` are the blockers' names as the
    report words them. ``None`` when no round has a point.
    """
    zone = organizations.zone_of(team.organization)
    points: list[TrendPoint] = []
    for earlier, snapshot_id in trend_rounds(survey_round, team):
        finding = analysis_of(earlier, snapshot_id).diagnosis.teams.get(team.name)
        if finding is None or finding.suppressed or finding.n < threshold:
            continue
        closed_on = (
            organizations.closing_day(zone, earlier.closes_at)
            if earlier.status == "closed" and earlier.closes_at is not None
            else None
        )
        point = TrendPoint.from_findings(earlier.name, closed_on, finding.n, finding.dimensions)
        if point.means:
            points.append(point)
    if not points:
        return None
    return team_trend(points, names=names)
