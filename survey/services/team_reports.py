"""Round analyses, team report contexts, PDFs and dashboard charts, with caching.

A round's analysis is keyed by a fingerprint of its submitted responses (how
many, and the newest id), checked with one cheap query on every use. It is
kept in the process and in the database (``round_analyses``), so a round is
analysed once for all workers and hosts; when a response arrives the
fingerprint changes and the next view recomputes: nothing serves a stale result.
The stored copy also records which analytics code computed it
(:func:`analytics.code_version.code_version`), so an upgrade recomputes too.
"""

from __future__ import annotations

import pickle
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from analytics.code_version import code_version
from analytics.pipeline import RoundAnalysis, analyze_round
from reports.charts import render_chart_svg
from reports.context import TeamReportContext, TeamSuppressed, build_team_context
from reports.team_report import render_team_report
from survey.database import IMMEDIATE_OPTION
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Response, StoredAnalysis, SurveyRound, Team, round_teams
from survey.services.datasets import invited_by_team, round_frame
from survey.services.instruments import instrument_of

CHART_KINDS = ("blockers", "spread", "pillars", "practices", "change")
_LOCK = threading.Lock()
_ANALYSES: OrderedDict[tuple[str, int, tuple[int, int]], RoundAnalysis] = OrderedDict()
_SVGS: OrderedDict[tuple[object, ...], str] = OrderedDict()
_CONTEXTS: OrderedDict[tuple[object, ...], TeamReportContext] = OrderedDict()
MAX_CONTEXTS = 256
MAX_ANALYSES = 8
MAX_SVGS = 512

__all__ = [
    "CHART_KINDS",
    "TeamSuppressed",
    "TeamView",
    "chart_svg",
    "round_analysis",
    "team_context",
    "team_view",
]


def fingerprint(survey_round: SurveyRound) -> tuple[int, int]:
    """(submitted responses, newest submitted response id) of a round.

    Two scalar subqueries, so each is answered from the (round_id, status)
    index alone: a count over the entries and a seek to the last one.
    """
    submitted = (Response.round_id == survey_round.id, Response.status == "submitted")
    count, newest = db.session.execute(
        select(
            select(func.count()).select_from(Response).where(*submitted).scalar_subquery(),
            select(func.max(Response.id)).where(*submitted).scalar_subquery(),
        )
    ).one()
    return int(count), int(newest or 0)


def round_analysis(
    survey_round: SurveyRound, threshold: int, value: tuple[int, int] | None = None
) -> RoundAnalysis:
    """The round's analysis, computed once per set of submitted responses.

    ``value`` is the round's :func:`fingerprint` when the caller has it already.
    """
    key = (_database_key(), survey_round.id, value or fingerprint(survey_round))
    with _LOCK:
        cached = _ANALYSES.get(key)
        if cached is not None:
            _ANALYSES.move_to_end(key)
            return cached
    analysis = _load_stored(survey_round.id, key[2]) or _compute(survey_round, threshold, key[2])
    with _LOCK:
        _ANALYSES[key] = analysis
        while len(_ANALYSES) > MAX_ANALYSES:
            _ANALYSES.popitem(last=False)
    return analysis


def _database_key() -> str:
    """Which database the cached objects came from (one process may serve several in tests)."""
    return db.engine.url.render_as_string(hide_password=True)


def _fingerprint_text(value: tuple[int, int]) -> str:
    """The stored key: the responses' fingerprint and the analytics code that ran."""
    return f"{code_version()[:16]}:{value[0]}:{value[1]}"


def _load_stored(round_id: int, value: tuple[int, int]) -> RoundAnalysis | None:
    row = db.session.get(StoredAnalysis, round_id)
    if row is None or row.fingerprint != _fingerprint_text(value):
        return None
    try:
        analysis = pickle.loads(zlib.decompress(row.payload))  # written only by this app
    except Exception:  # written by an older version of the code: recompute
        return None
    finally:
        db.session.expunge(row)
    return analysis if isinstance(analysis, RoundAnalysis) else None


def _compute(survey_round: SurveyRound, threshold: int, value: tuple[int, int]) -> RoundAnalysis:
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
    _store(survey_round.id, value, analysis)
    return analysis


def _store(round_id: int, value: tuple[int, int], analysis: RoundAnalysis) -> None:
    """Share the analysis with other workers in a short transaction of its own."""
    payload = zlib.compress(pickle.dumps(analysis, protocol=pickle.HIGHEST_PROTOCOL), 3)
    try:
        with db.engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE_OPTION: True})
            with conn.begin():
                conn.execute(delete(StoredAnalysis).where(StoredAnalysis.round_id == round_id))
                conn.execute(
                    insert(StoredAnalysis).values(
                        round_id=round_id,
                        fingerprint=_fingerprint_text(value),
                        created_at=utcnow(),
                        payload=payload,
                    )
                )
    except (IntegrityError, OperationalError):
        pass  # another worker stored it first, or the database is busy: it is only a cache


@dataclass(frozen=True)
class TeamView:
    """A team's report context and the cache key it is valid for."""

    context: TeamReportContext
    key: tuple[object, ...]


def team_view(survey_round: SurveyRound, team: Team, threshold: int, today: date) -> TeamView:
    """What the report and dashboard of one team in one round show.

    Raises :class:`TeamSuppressed` when the team is under the threshold. The
    round's fingerprint is read once; the context is cached with it, so a
    dashboard's page and charts build it once and later views cost one query.
    """
    key = (
        _database_key(),
        survey_round.id,
        fingerprint(survey_round),
        team.id,
        team.name,
        survey_round.name,
        survey_round.organization.name,
        today,
        threshold,
    )
    with _LOCK:
        cached = _CONTEXTS.get(key)
    if cached is not None:
        return TeamView(cached, key)
    analysis = round_analysis(survey_round, threshold, key[2])  # type: ignore[arg-type]
    if team.name not in analysis.diagnosis.teams:
        raise TeamSuppressed(team.name, 0, threshold)
    context = build_team_context(
        analysis,
        team.name,
        organization=survey_round.organization.name,
        round_name=survey_round.name,
        instrument=instrument_of(survey_round.instrument),
        report_date=today,
        previous=_previous(survey_round, team, threshold),
    )
    with _LOCK:
        _CONTEXTS[key] = context
        while len(_CONTEXTS) > MAX_CONTEXTS:
            _CONTEXTS.popitem(last=False)
    return TeamView(context, key)


def team_context(
    survey_round: SurveyRound, team: Team, threshold: int, today: date
) -> TeamReportContext:
    """The report context of :func:`team_view` (raises :class:`TeamSuppressed`)."""
    return team_view(survey_round, team, threshold, today).context


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


def chart_svg(view: TeamView, kind: str) -> str:
    """One dashboard chart as SVG, cached with the view's key (and so its fingerprint)."""
    key = (*view.key, kind)
    with _LOCK:
        cached = _SVGS.get(key)
        if cached is not None:
            return cached
    svg = render_chart_svg(kind, view.context)
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
        _CONTEXTS.clear()
