"""Session-kit inputs for the report tests (#16): a counterparty rating, a trend, an agenda.

Everything is computed by the analytics functions from answers built here (the
counterparty's ratings item by item, the team's earlier rounds as score frames),
so the report tests check the pages against what the analytics found.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.counterparty import rate_counterparty
from analytics.gap import analyze_gap
from analytics.instrument import Instrument
from analytics.instrument_parser import load_instrument
from analytics.scoring import score_dimensions
from analytics.session_kit import (
    CommitmentRecord,
    build_agenda,
    build_worksheet,
    commitment_followup,
)
from analytics.synthetic import simulate_responses
from analytics.trend import TrendPoint, team_trend
from reports.context import CounterpartyContext, TeamReportContext

COUNTERPARTY_INSTRUMENT = (
    Path(__file__).resolve().parents[2]
    / "analytics"
    / "instruments"
    / "counterparty-blockers-v1.yaml"
)

#: Keyed answers (5 = much of the blocker) of seven raters per blocker: guarded and
#: fixed-pie with one voice, split on their internal misalignment (not shared).
RATINGS: dict[str, list[int]] = {
    "trust": [5, 4, 5, 4, 4, 5, 4],
    "time_pressure": [3, 3, 4, 3, 3, 4, 3],
    "fixed_pie": [4, 5, 4, 4, 5, 4, 4],
    "misalignment": [1, 5, 1, 5, 2, 5, 1],
    "power": [2, 2, 1, 2, 2, 1, 2],
}


def counterparty_instrument() -> Instrument:
    return load_instrument(COUNTERPARTY_INSTRUMENT)


def counterparty_answers(
    instrument: Instrument, ratings: dict[str, list[int]] = RATINGS
) -> pd.DataFrame:
    """One row per rater: every blocker item answered at the rater's keyed level
    (reverse items mirrored); plays answered "Agree"."""
    n = len(next(iter(ratings.values())))
    rng = np.random.default_rng(7)
    columns: dict[str, list[float]] = {}
    for dim in instrument.dimensions:
        scale = dim.response_scale or instrument.response_scale
        for item in dim.items:
            if dim.id in ratings:
                keyed = np.array(ratings[dim.id], dtype=float)
                # A little item-level noise keeps the items apart (the ICC's targets).
                keyed = np.clip(keyed + rng.choice([0, 0, 0, 1, -1], size=n), 1, 5)
            else:
                keyed = np.full(n, 4.0)
            raw = scale.min + scale.max - keyed if item.reverse else keyed
            columns[item.id] = list(raw)
    return pd.DataFrame(columns)


def team_scores(analysis, team: str) -> pd.DataFrame:
    """The team's members' blocker scores in the round (as the released snapshot gives them)."""
    labels = analysis.teams.astype(object).astype(str)
    return analysis.scores.loc[(labels == team).to_numpy()]


def counterparty_context(
    analysis, team: str, threshold: int = 5, ratings: dict[str, list[int]] = RATINGS
) -> CounterpartyContext:
    instrument = counterparty_instrument()
    rating = rate_counterparty(counterparty_answers(instrument, ratings), instrument, threshold)
    gap = analyze_gap(team_scores(analysis, team), rating, threshold=threshold)
    return CounterpartyContext(
        name="Borealis Logistics",
        gap=gap,
        rating=rating,
        kind="customer",
        deal="2026 freight renewal",
        round_name="Borealis rating, May 2025",
    )


def earlier_rounds(instrument: Instrument) -> list[tuple[str, pd.DataFrame]]:
    """Two earlier rounds of the team, with deadline pressure higher than now."""
    rounds = []
    for label, shift, seed in (("Spring 2024", 1.9, 21), ("Autumn 2024", 1.6, 22)):
        data = simulate_responses(
            instrument,
            n_respondents=14,
            teams={"deadline": 14},
            team_effects={"deadline": {"time_pressure": shift, "fixed_pie": 0.8}},
            random_state=seed,
        ).data
        rounds.append((label, score_dimensions(data, instrument)))
    return rounds


def trend_for(context: TeamReportContext, instrument: Instrument):
    """The team's trend: two earlier rounds (from scores) and the report's own round."""
    blockers = [d.id for d in context.blockers]
    points = []
    for label, scores in earlier_rounds(instrument):
        means, sds, ns = {}, {}, {}
        for b in blockers:
            values = scores[b].dropna()
            means[b], sds[b], ns[b] = float(values.mean()), float(values.std(ddof=1)), len(values)
        points.append(TrendPoint(label, None, len(scores), means, sds=sds, ns=ns))
    points.append(
        TrendPoint.from_findings(
            context.round_name, None, context.n, context.diagnosis.dimensions, blockers
        )
    )
    return team_trend(points, names={b: context.name_of(b) for b in blockers})


COMMITMENTS = (
    CommitmentRecord("objective_criteria", "account lead", date(2025, 3, 31), "Autumn 2024"),
    CommitmentRecord("meso", "deal desk", date(2025, 4, 15), "Autumn 2024"),
)


def full_context(context: TeamReportContext, analysis, instrument) -> TeamReportContext:
    """The report context with every optional section of #16 filled in."""
    import dataclasses

    counterparty = counterparty_context(analysis, context.team, context.threshold)
    trend = trend_for(context, instrument)
    agenda = build_agenda(
        context.diagnosis, counterparty.gap, COMMITMENTS, deal_name=counterparty.deal
    )
    followups = commitment_followup(COMMITMENTS, trend.last_changes)
    return dataclasses.replace(
        context, counterparty=counterparty, trend=trend, agenda=agenda, followups=followups
    )


def worksheet_for(context: TeamReportContext, counterparty: CounterpartyContext | None):
    return build_worksheet(
        context.diagnosis,
        counterparty.gap if counterparty is not None else None,
        "2026 freight renewal",
        counterparty.name if counterparty is not None else "Borealis Logistics",
        context.team,
    )
