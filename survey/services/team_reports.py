"""Round analyses, team report contexts, PDFs and dashboard charts, with caching.

A round's analysis is computed from its current release snapshot
(:mod:`survey.services.releases`), never from live responses: it changes only
when some team's release does, so every view between two releases shows the
same figures. The snapshot id is checked with one cheap query on every use; the
analysis is kept in the process and in the database (``round_analyses``), so a
snapshot is analysed once for all workers and hosts. The stored copy also
records which analytics code computed it
(:func:`analytics.code_version.code_version`), so an upgrade recomputes too.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from functools import partial

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from analytics.code_version import code_version
from analytics.language import LANGUAGE_NAMES, check_language, use_language
from analytics.pipeline import RoundAnalysis, analyze_round
from reports.charts import render_chart_svg
from reports.context import TeamReportContext, TeamSuppressed, build_team_context
from reports.team_report import render_team_report
from survey.database import IMMEDIATE_OPTION
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import StoredAnalysis, SurveyRound, Team, TeamRelease, round_teams
from survey.services import ledger, releases, session_kit
from survey.services.datasets import invited_by_team, round_frame
from survey.services.instruments import instrument_of

CHART_KINDS = ("blockers", "spread", "pillars", "practices", "change")
_LOCK = threading.Lock()
_ANALYSES: OrderedDict[tuple[str, int, int], RoundAnalysis] = OrderedDict()
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


def fingerprint(survey_round: SurveyRound) -> int:
    """The round's snapshot id: the largest id of its team releases (0 when none)."""
    value = db.session.scalar(
        select(func.max(TeamRelease.id)).where(TeamRelease.round_id == survey_round.id)
    )
    return int(value or 0)


def round_analysis(
    survey_round: SurveyRound, threshold: int, value: int | None = None
) -> RoundAnalysis:
    """The round's analysis, computed once per release snapshot.

    ``value`` is the round's :func:`fingerprint` when the caller has it already.
    """
    if survey_round.counterparty_id is not None:
        raise CounterpartyRoundError(survey_round.name)
    key = (_database_key(), survey_round.id, fingerprint(survey_round) if value is None else value)
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


class CounterpartyRoundError(ValueError):
    """A counterparty round has no team profile: its results are ratings of the counterparty
    (:mod:`survey.services.counterparty_rounds`, :mod:`survey.services.gap_views`)."""

    def __init__(self, round_name: str) -> None:
        super().__init__(
            f"Round {round_name} rates a counterparty: its results are the team's rating of the"
            " counterparty (the coach's gap view), not a team profile."
        )


def _database_key() -> str:
    """Which database the cached objects came from (one process may serve several in tests)."""
    return db.engine.url.render_as_string(hide_password=True)


def _fingerprint_text(value: int) -> str:
    """The stored key: the release snapshot and the analytics code that ran."""
    return f"{code_version()[:16]}:snapshot:{value}"


def _load_stored(round_id: int, value: int) -> RoundAnalysis | None:
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


def _compute(survey_round: SurveyRound, threshold: int, value: int) -> RoundAnalysis:
    with use_language(None):  # stored for every language: its sentences are the file's own
        return _compute_in_english(survey_round, threshold, value)


def _compute_in_english(survey_round: SurveyRound, threshold: int, value: int) -> RoundAnalysis:
    instrument = instrument_of(survey_round.instrument)
    snapshot = releases.current_snapshot(survey_round)
    frame = round_frame(
        survey_round, instrument, releases.snapshot_conditions(survey_round, snapshot)
    )
    analysis = analyze_round(
        frame,
        instrument,
        round_name=survey_round.name,
        threshold=threshold,
        invited=invited_by_team(survey_round) or None,
        random_state=0,
    )
    _store(survey_round.id, snapshot.id, analysis)
    return analysis


def _store(round_id: int, value: int, analysis: RoundAnalysis) -> None:
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

    @property
    def snapshot_id(self) -> int:
        """The release snapshot the figures come from."""
        return int(self.key[2])  # type: ignore[call-overload]

    def shown(self, kind: str, survey_round: SurveyRound) -> ledger.Shown:
        """What the anonymity ledger records when these figures are shown."""
        return shown_context(kind, survey_round, self.snapshot_id, self.context)


def shown_context(
    kind: str, survey_round: SurveyRound, snapshot_id: int, context: TeamReportContext
) -> ledger.Shown:
    """A team's figures as the anonymity ledger records them (same figures, same hash)."""
    payload = {"team": context.team, "n": context.n, "diagnosis": context.diagnosis.to_dict()}
    if context.trend is not None:  # other rounds' released figures shown beside these (#16)
        payload["trend"] = [[p.round_label, p.n, dict(p.means)] for p in context.trend.points]
    figures = json.dumps(payload, sort_keys=True, default=str)
    return ledger.Shown(kind, survey_round, snapshot_id, context.team, context.n, figures)


def team_view(
    survey_round: SurveyRound, team: Team, threshold: int, today: date, language: str = "en"
) -> TeamView:
    """What the report and dashboard of one team in one round show.

    Raises :class:`TeamSuppressed` when the team is under the threshold. The
    round's fingerprint is read once; the context is cached with it, so a
    dashboard's page and charts build it once and later views cost one query.
    ``language`` words the report (:data:`analytics.language.LANGUAGES`; the
    analysis itself is the same in every language).
    """
    with use_language(language):
        return _team_view(survey_round, team, threshold, today, language)


def _team_view(
    survey_round: SurveyRound, team: Team, threshold: int, today: date, language: str
) -> TeamView:
    key = (
        _database_key(),
        survey_round.id,
        fingerprint(survey_round),
        team.id,
        team.name,
        survey_round.name,
        survey_round.organization.name,
        survey_round.mode,
        today,
        threshold,
        language,
    )
    earlier = previous_round(survey_round, team)
    key += (session_kit.kit_key(survey_round, team, earlier),)  # commitments and trend (#16)
    from survey.services import gap_views  # it builds on this module

    key += gap_views.report_counterparty_key(team) or ()  # the counterparty page (#16)
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
        previous=_previous(earlier, team, threshold),
        round_mode=survey_round.mode,
        release=releases.release_info(survey_round, team),
        language=language,
    )
    # The counterparty page: the team's newest released counterparty rating (#16).
    context = dataclasses.replace(
        context, counterparty=gap_views.report_counterparty(survey_round, team, threshold)
    )
    # The kit's agenda uses the counterparty gap: set the counterparty part before this.
    context = session_kit.with_session_kit(
        context, survey_round, team, earlier, threshold, partial(_analysis_at, threshold=threshold)
    )
    with _LOCK:
        _CONTEXTS[key] = context
        while len(_CONTEXTS) > MAX_CONTEXTS:
            _CONTEXTS.popitem(last=False)
    return TeamView(context, key)


def _analysis_at(survey_round: SurveyRound, value: int, *, threshold: int) -> RoundAnalysis:
    """The round's analysis at snapshot ``value`` (what the trend reads)."""
    return round_analysis(survey_round, threshold, value)


def team_context(
    survey_round: SurveyRound, team: Team, threshold: int, today: date, language: str = "en"
) -> TeamReportContext:
    """The report context of :func:`team_view` (raises :class:`TeamSuppressed`)."""
    return team_view(survey_round, team, threshold, today, language).context


def previous_round(survey_round: SurveyRound, team: Team) -> SurveyRound | None:
    """The team's latest earlier round of the same instrument with a release for the team.

    What "change since last round" compares with, and whose commitments the report
    follows up (#16): a round where the team was never released is skipped.
    """
    return db.session.scalars(
        select(SurveyRound)
        .join(round_teams, round_teams.c.round_id == SurveyRound.id)
        .where(
            round_teams.c.team_id == team.id,
            select(TeamRelease.id)
            .where(TeamRelease.round_id == SurveyRound.id, TeamRelease.team_id == team.id)
            .exists(),
            SurveyRound.organization_id == survey_round.organization_id,
            SurveyRound.instrument_id == survey_round.instrument_id,
            SurveyRound.id != survey_round.id,
            SurveyRound.created_at <= survey_round.created_at,
        )
        .order_by(SurveyRound.created_at.desc(), SurveyRound.id.desc())
    ).first()


def _previous(earlier: SurveyRound | None, team: Team, threshold: int):  # type: ignore[no-untyped-def]
    """The team's scores in the earlier round, if shown there."""
    if earlier is None:
        return None
    analysis = round_analysis(earlier, threshold)
    finding = analysis.diagnosis.teams.get(team.name)
    if finding is None or finding.suppressed:
        return None
    rows = (analysis.teams == team.name).to_numpy()
    return earlier.name, analysis.scores.loc[rows]


#: The languages a team report can be downloaded in, each named in itself.
REPORT_LANGUAGES = LANGUAGE_NAMES


def report_language(value: str | None) -> str:
    """The language asked for a report (``?lang=fr``), English when none.

    Raises ``ValueError`` naming the languages shipped for any other value.
    """
    return check_language(value or None)


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
