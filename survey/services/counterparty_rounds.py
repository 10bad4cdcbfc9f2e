"""Counterparty rounds: a team rates one counterparty, and the released rating.

A counterparty round is a :class:`~survey.models.SurveyRound` with
``counterparty_id`` set, the counterparty instrument
(:data:`~survey.models.counterparty.COUNTERPARTY_INSTRUMENT_KEY`, stored from the
shipped file on first use) and one team. It is opened at once; members answer
through the normal invitation links, and releases work as in every round
(:mod:`survey.services.releases`). The normal round analysis
(:func:`survey.services.team_reports.round_analysis`) never runs on it: its
result is each released team's rating of the counterparty
(:func:`released_rating`, :func:`analytics.counterparty.rate_counterparty` on the
team's released answers only), cached per release snapshot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select

from analytics.counterparty import CounterpartyRating, TooFewRaters, rate_counterparty
from analytics.instrument import Instrument
from analytics.instrument_parser import default_instrument_paths, load_instrument
from analytics.language import current_language
from survey.extensions import db
from survey.models import (
    ROUND_MODES,
    Counterparty,
    InstrumentVersion,
    Participant,
    Response,
    SurveyRound,
    Team,
    TeamRelease,
    User,
    round_teams,
)
from survey.models.counterparty import COUNTERPARTY_INSTRUMENT_KEY
from survey.services import releases, rounds
from survey.services.datasets import round_frame
from survey.services.instruments import find_instrument, instrument_of, store_instrument

__all__ = [
    "RatingSuppressed",
    "RatingView",
    "counterparty_instrument",
    "counterparty_rounds_of_team",
    "latest_released_round",
    "open_counterparty_round",
    "released_rating",
]

_LOCK = threading.Lock()
_RATINGS: OrderedDict[tuple[object, ...], RatingView] = OrderedDict()
MAX_RATINGS = 256


@lru_cache(maxsize=1)
def _shipped() -> Instrument | None:
    """The newest shipped version of the counterparty instrument (files never change)."""
    shipped = [
        instrument
        for instrument in map(load_instrument, default_instrument_paths())
        if instrument.id == COUNTERPARTY_INSTRUMENT_KEY
    ]
    return max(shipped, key=lambda i: i.version, default=None)


def counterparty_instrument() -> InstrumentVersion:
    """The counterparty instrument's newest version, storing the shipped file when newer."""
    stored = find_instrument(COUNTERPARTY_INSTRUMENT_KEY)
    newest = _shipped()
    if newest is not None and (stored is None or stored.version < newest.version):
        stored, _ = store_instrument(newest)
    if stored is None:
        raise LookupError(f"the instrument {COUNTERPARTY_INSTRUMENT_KEY} is not shipped or stored")
    return stored


def open_counterparty_round(
    team: Team,
    counterparty: Counterparty,
    *,
    name: str,
    mode: str,
    closes_at: datetime,
    now: datetime,
    actor: User | None,
    threshold: int,
) -> SurveyRound:
    """Create and open a round in which ``team`` rates ``counterparty``; audited, flushes.

    Refused (:class:`~survey.services.rounds.InvalidRoundPlan`, 400) for another
    organization's counterparty, an archived team, a team with fewer members
    than ``threshold`` (its rating could never be shown), an unknown mode, a
    taken name or a closing date not in the future. The caller issues the links
    (:func:`survey.services.rounds.issue_links` or the emailing service).
    """
    if counterparty.organization_id != team.organization_id:
        raise rounds.InvalidRoundPlan("A team can only rate its organization's counterparties.")
    if team.archived_at is not None:
        raise rounds.InvalidRoundPlan(f"Team {team.name} is archived: it takes part in no round.")
    if mode not in ROUND_MODES:
        raise rounds.InvalidRoundPlan("Choose confidential or anonymous.")
    members = db.session.scalar(
        select(func.count()).where(Participant.team_id == team.id, Participant.erased_at.is_(None))
    )
    if int(members or 0) < threshold:
        raise rounds.InvalidRoundPlan(
            f"Team {team.name} has {members} member{'s' if members != 1 else ''}; a rating is"
            f" shown only once {threshold} have answered, so add members first."
        )
    survey_round = rounds.create_draft(
        team.organization,
        name,
        counterparty_instrument(),
        [team],
        mode=mode,
        opens_at=None,
        closes_at=closes_at,
        now=now,
        actor=actor,
        counterparty=counterparty,
    )
    rounds.open_round(survey_round, now, actor=actor)
    return survey_round


def counterparty_rounds_of_team(team: Team) -> list[SurveyRound]:
    """The team's counterparty rounds, newest first."""
    return list(
        db.session.scalars(
            select(SurveyRound)
            .join(round_teams, round_teams.c.round_id == SurveyRound.id)
            .where(round_teams.c.team_id == team.id, SurveyRound.counterparty_id.is_not(None))
            .order_by(SurveyRound.created_at.desc(), SurveyRound.id.desc())
        )
    )


def latest_released_round(team: Team) -> SurveyRound | None:
    """The team's newest counterparty round with a release for the team (the report's page)."""
    return db.session.scalars(
        select(SurveyRound)
        .join(TeamRelease, TeamRelease.round_id == SurveyRound.id)
        .where(TeamRelease.team_id == team.id, SurveyRound.counterparty_id.is_not(None))
        .order_by(SurveyRound.created_at.desc(), SurveyRound.id.desc())
        .limit(1)
    ).first()


class RatingSuppressed(Exception):
    """The team's rating cannot be shown: no release yet, or too few raters in it.

    ``submitted`` is the live completion count (completion counts are never
    results), ``threshold`` the anonymity threshold, ``reason`` one sentence.
    """

    def __init__(self, submitted: int, threshold: int, reason: str) -> None:
        super().__init__(reason)
        self.submitted = submitted
        self.threshold = threshold
        self.reason = reason


@dataclass(frozen=True)
class RatingView:
    """A team's released rating of the round's counterparty and the snapshot it comes from."""

    rating: CounterpartyRating
    snapshot_id: int
    key: tuple[object, ...]


def _database_key() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def released_rating(survey_round: SurveyRound, team: Team, threshold: int) -> RatingView:
    """The team's rating of the counterparty, from its released answers only.

    Computed once per release snapshot of the round (one cheap query checks
    it); between two releases every caller gets the same figures. Raises
    :class:`RatingSuppressed` while the team has no release, or when its
    release has fewer raters than the threshold.
    """
    if survey_round.counterparty_id is None:
        raise ValueError(f"round {survey_round.name} is not a counterparty round")
    snapshot = releases.current_snapshot(survey_round)
    # Its findings are worded in the current language (a French report's are French).
    key = (_database_key(), survey_round.id, snapshot.id, team.id, threshold, current_language())
    with _LOCK:
        cached = _RATINGS.get(key)
    if cached is not None:
        return cached
    released = snapshot.id != 0 and team.id not in snapshot.withheld_team_ids
    frame = None
    if released:
        conditions = releases.snapshot_conditions(survey_round, snapshot)
        frame = round_frame(
            survey_round,
            instrument_of(survey_round.instrument),
            (*conditions, Response.team_id == team.id),
        )
    if frame is None or frame.empty:
        raise _suppressed(survey_round, team, threshold)
    try:
        rating = rate_counterparty(frame, instrument_of(survey_round.instrument), threshold)
    except TooFewRaters as too_few:
        raise _suppressed(survey_round, team, threshold) from too_few
    view = RatingView(rating, snapshot.id, key)
    with _LOCK:
        _RATINGS[key] = view
        while len(_RATINGS) > MAX_RATINGS:
            _RATINGS.popitem(last=False)
    return view


def _suppressed(survey_round: SurveyRound, team: Team, threshold: int) -> RatingSuppressed:
    submitted = db.session.scalar(
        select(func.count()).where(
            Response.round_id == survey_round.id,
            Response.team_id == team.id,
            Response.status == "submitted",
        )
    )
    return RatingSuppressed(
        int(submitted or 0), threshold, releases.unreleased_reason(survey_round, team)
    )


def clear_cache() -> None:
    """Forget every cached rating (tests)."""
    with _LOCK:
        _RATINGS.clear()
