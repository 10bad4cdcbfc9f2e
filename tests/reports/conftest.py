"""Shared fixtures: one analysed synthetic round of the default instrument.

Eight teams; ``deadline`` is shifted up on deadline pressure and fixed-pie
thinking, ``tiny`` has three respondents (under the anonymity threshold of 5).
``previous`` is an earlier round of the ``deadline`` team (its score frame).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics.instrument import Instrument
from analytics.instrument_parser import load_default_instrument
from analytics.pipeline import RoundAnalysis, analyze_round
from analytics.profiles import ProfileModel
from analytics.scoring import score_dimensions
from analytics.synthetic import simulate_responses
from reports.context import TeamReportContext, build_team_context

SIZES = {
    "north": 24,
    "south": 20,
    "east": 18,
    "west": 16,
    "deadline": 14,
    "delta": 12,
    "echo": 12,
    "tiny": 3,
}
REPORT_DATE = date(2025, 5, 1)


@pytest.fixture(scope="session")
def instrument() -> Instrument:
    return load_default_instrument()


@pytest.fixture(scope="session")
def round_data(instrument) -> pd.DataFrame:
    return simulate_responses(
        instrument,
        n_respondents=sum(SIZES.values()),
        teams=SIZES,
        team_effects={"deadline": {"time_pressure": 1.3, "fixed_pie": 0.8}},
        missing_rate=0.01,
        random_state=3,
    ).data


@pytest.fixture(scope="session")
def analysis(round_data, instrument) -> RoundAnalysis:
    # Four starts: with two, some seeds settle on a poorer two-profile optimum.
    model = ProfileModel(k_range=(1, 3), covariance_types=("diag",), n_init=4, random_state=0)
    return analyze_round(
        round_data,
        instrument,
        round_name="Spring 2025",
        invited={team: size + 2 for team, size in SIZES.items()},
        profile_model=model,
        stability_boot=3,
    )


@pytest.fixture(scope="session")
def previous(instrument) -> tuple[str, pd.DataFrame]:
    earlier = simulate_responses(instrument, n_respondents=11, teams=1, random_state=11).data
    return ("Autumn 2024", score_dimensions(earlier, instrument))


def make_context(analysis, instrument, team, previous=None, language="en") -> TeamReportContext:
    return build_team_context(
        analysis,
        team,
        organization="Acme Industrial Components",
        round_name="Spring 2025",
        instrument=instrument,
        report_date=REPORT_DATE,
        previous=previous,
        language=language,
    )


@pytest.fixture(scope="session")
def context(analysis, instrument, previous) -> TeamReportContext:
    """The deadline team, with change since the earlier round."""
    return make_context(analysis, instrument, "deadline", previous)
