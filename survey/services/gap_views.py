"""Us vs them: a team's own blocker profile paired with its rating of a counterparty.

Both sides come from release snapshots only: the team's rating of the
counterparty from the counterparty round's
(:func:`survey.services.counterparty_rounds.released_rating`), its own blocker
scores from a self round's analysis
(:func:`survey.services.team_reports.round_analysis`, the scores its dashboard
shows). So the gap view changes only when one of the two releases does.

Pairing
    The coach's gap page (:func:`gap_view`) pairs a counterparty round with the
    team's most recent self round that has a release for the team
    (:func:`self_round_of`). The team report of a self round carries the
    counterparty page of the team's newest counterparty round with a release
    for the team (:func:`report_counterparty`), paired with that report's round.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import select

from analytics.counterparty import CounterpartyRating
from analytics.gap import analyze_gap
from reports.charts import render_chart_svg
from reports.context import CounterpartyContext, TeamReportContext
from survey.extensions import db
from survey.models import SurveyRound, Team, TeamRelease, round_teams
from survey.services import counterparty_rounds, ledger, team_reports
from survey.services.counterparties import kind_label
from survey.services.counterparty_rounds import RatingSuppressed, RatingView

__all__ = [
    "GapView",
    "NoSelfResults",
    "RatingSuppressed",
    "counterparty_context",
    "counterparty_shown",
    "gap_svg",
    "gap_view",
    "report_counterparty",
    "report_counterparty_key",
    "report_disclosures",
    "self_round_of",
]

_LOCK = threading.Lock()
_VIEWS: OrderedDict[tuple[object, ...], GapView] = OrderedDict()
_SVGS: OrderedDict[tuple[object, ...], str] = OrderedDict()
MAX_VIEWS = 128
_KEY_TAG = "counterparty"


class NoSelfResults(Exception):
    """The team has no released results of its own to put beside the rating.

    ``rating`` is the released rating, which may still be described in words.
    """

    def __init__(self, rating: RatingView) -> None:
        super().__init__("no released self round for the team")
        self.rating = rating


def self_round_of(team: Team) -> SurveyRound | None:
    """The team's most recent self round (not a counterparty round) with a release for it."""
    return db.session.scalars(
        select(SurveyRound)
        .join(round_teams, round_teams.c.round_id == SurveyRound.id)
        .where(
            round_teams.c.team_id == team.id,
            SurveyRound.counterparty_id.is_(None),
            select(TeamRelease.id)
            .where(TeamRelease.round_id == SurveyRound.id, TeamRelease.team_id == team.id)
            .exists(),
        )
        .order_by(SurveyRound.created_at.desc(), SurveyRound.id.desc())
        .limit(1)
    ).first()


def _team_scores(self_round: SurveyRound, team: Team, threshold: int) -> pd.DataFrame | None:
    """The team members' blocker scores in the self round's released analysis, if shown there."""
    analysis = team_reports.round_analysis(self_round, threshold)
    finding = analysis.diagnosis.teams.get(team.name)
    if finding is None or finding.suppressed:
        return None
    rows = (analysis.teams == team.name).to_numpy()
    blockers = [d.id for d in analysis.instrument.blocker_dimensions if d.id in analysis.scores]
    return analysis.scores.loc[rows, blockers]


def counterparty_context(
    counterparty_round: SurveyRound, team: Team, self_round: SurveyRound, threshold: int
) -> CounterpartyContext:
    """The report's counterparty section: the released rating beside the self round's scores.

    Raises :class:`RatingSuppressed` (no release, too few raters) or
    :class:`NoSelfResults` (the team is not shown in ``self_round``).
    """
    rating = counterparty_rounds.released_rating(counterparty_round, team, threshold)
    scores = _team_scores(self_round, team, threshold)
    if scores is None:
        raise NoSelfResults(rating)
    gap = analyze_gap(scores, rating.rating, threshold=threshold)
    counterparty = counterparty_round.counterparty
    assert counterparty is not None
    return CounterpartyContext(
        name=counterparty.name,
        gap=gap,
        rating=rating.rating,
        kind=kind_label(counterparty.kind),
        deal=counterparty.deal_name,
        round_name=counterparty_round.name,
    )


@dataclass(frozen=True)
class GapView:
    """The coach's gap page of one team and counterparty round.

    ``context`` is the self round's report context with its ``counterparty``
    set to this round's; ``key`` the cache key (both snapshots in it).
    """

    context: TeamReportContext
    key: tuple[object, ...]
    self_round: SurveyRound
    self_view: team_reports.TeamView
    rating: RatingView

    def shown(self, kind: str, counterparty_round: SurveyRound) -> list[ledger.Shown]:
        """What the ledger records: the rating (counterparty round) and the team's own figures."""
        return [
            counterparty_shown(
                kind,
                counterparty_round,
                self.rating.rating,
                self.rating.snapshot_id,
                self.context.team,
            ),
            self.self_view.shown(kind, self.self_round),
        ]


def counterparty_shown(
    kind: str,
    counterparty_round: SurveyRound,
    rating: CounterpartyRating,
    snapshot_id: int,
    team_name: str,
) -> ledger.Shown:
    """A team's released rating as the anonymity ledger records it (same rating, same hash)."""
    figures = json.dumps(dataclasses.asdict(rating), sort_keys=True, default=str)
    return ledger.Shown(kind, counterparty_round, snapshot_id, team_name, rating.n, figures)


def gap_view(team: Team, counterparty_round: SurveyRound, threshold: int, today: date) -> GapView:
    """The gap page's figures; cached per pair of release snapshots.

    Raises :class:`RatingSuppressed` while the rating cannot be shown, and
    :class:`NoSelfResults` while the team has no released self round.
    """
    rating = counterparty_rounds.released_rating(counterparty_round, team, threshold)
    self_round = self_round_of(team)
    if self_round is None:
        raise NoSelfResults(rating)
    try:
        self_view = team_reports.team_view(self_round, team, threshold, today)
    except team_reports.TeamSuppressed as suppressed:
        raise NoSelfResults(rating) from suppressed
    key = (*self_view.key, _KEY_TAG, counterparty_round.id, rating.snapshot_id, "page")
    with _LOCK:
        cached = _VIEWS.get(key)
    if cached is not None:
        return cached
    section = counterparty_context(counterparty_round, team, self_round, threshold)
    view = GapView(
        dataclasses.replace(self_view.context, counterparty=section),
        key,
        self_round,
        self_view,
        rating,
    )
    with _LOCK:
        _VIEWS[key] = view
        while len(_VIEWS) > MAX_VIEWS:
            _VIEWS.popitem(last=False)
    return view


def gap_svg(view: GapView) -> str:
    """The gap chart as SVG, cached with the view's key."""
    with _LOCK:
        cached = _SVGS.get(view.key)
    if cached is not None:
        return cached
    svg = render_chart_svg("gap", view.context)
    with _LOCK:
        _SVGS[view.key] = svg
        while len(_SVGS) > MAX_VIEWS:
            _SVGS.popitem(last=False)
    return svg


def report_counterparty_key(team: Team) -> tuple[object, ...] | None:
    """What the report's counterparty page depends on: the newest released counterparty
    round of the team and its snapshot (part of the report context's cache key)."""
    counterparty_round = counterparty_rounds.latest_released_round(team)
    if counterparty_round is None:
        return None
    return (_KEY_TAG, counterparty_round.id, team_reports.fingerprint(counterparty_round))


def report_counterparty(
    survey_round: SurveyRound, team: Team, threshold: int
) -> CounterpartyContext | None:
    """The counterparty page of the team's report of ``survey_round`` (a self round).

    The team's newest counterparty round with a release for the team, paired with
    the report's own round; ``None`` when there is none, or its rating is
    suppressed.
    """
    if survey_round.counterparty_id is not None:
        return None
    counterparty_round = counterparty_rounds.latest_released_round(team)
    if counterparty_round is None:
        return None
    try:
        return counterparty_context(counterparty_round, team, survey_round, threshold)
    except (RatingSuppressed, NoSelfResults):
        return None


def report_disclosures(view: team_reports.TeamView, kind: str) -> list[ledger.Shown]:
    """The ledger entry of the counterparty page a report view carries (none without one)."""
    section = view.context.counterparty
    tagged = [i for i, part in enumerate(view.key) if part == _KEY_TAG]
    if section is None or not tagged:
        return []
    round_id, snapshot_id = view.key[tagged[0] + 1], view.key[tagged[0] + 2]
    counterparty_round = db.session.get(SurveyRound, round_id)
    if counterparty_round is None:
        return []
    return [
        counterparty_shown(
            kind, counterparty_round, section.rating, int(snapshot_id), view.context.team
        )
    ]


def clear_caches() -> None:
    """Forget cached views and charts (tests)."""
    with _LOCK:
        _VIEWS.clear()
        _SVGS.clear()
