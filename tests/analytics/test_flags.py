"""Tests for analytics.flags (the flag rule) and analytics.flag_simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analytics.diagnosis import diagnose_round
from analytics.flag_simulation import simulate_flags
from analytics.flags import (
    FLAG_FDR,
    BlockerReference,
    CellStats,
    benjamini_hochberg,
    flag_round,
)
from analytics.synthetic import simulate_responses
from tests.analytics.test_diagnosis import frame_from_scores

REF = BlockerReference(mean=3.0, median=3.0, n=200, sd=0.9, df=180, adjusted_sd=0.9)


def cell(n: int, mean: float, *, sd: float = 0.9, highest: float = 5.0, lowest: float = 1.0):
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return CellStats(
        n=n,
        mean=mean,
        ci_low=mean - half,
        ci_high=mean + half,
        highest=highest,
        lowest=lowest,
        adjusted=mean - REF.mean,
    )


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=80), rng.uniform(0, 0.002, size=20)])
    cut = benjamini_hochberg(list(p), FLAG_FDR)
    adjusted = stats.false_discovery_control(p, method="bh")
    assert set(np.flatnonzero(p <= cut)) == set(np.flatnonzero(adjusted <= FLAG_FDR))


def test_benjamini_hochberg_ignores_missing_and_finds_nothing_in_noise() -> None:
    assert benjamini_hochberg([math.nan, 0.5, 0.9], 0.1) == -math.inf
    assert benjamini_hochberg([math.nan, 0.01], 0.1) == pytest.approx(0.1)


def test_a_credible_difference_is_main_in_a_team_of_twelve_and_tentative_in_a_team_of_six():
    cells = {("big", "trust"): cell(12, 4.2), ("small", "trust"): cell(6, 4.2)}
    cells.update({(f"t{i}", "trust"): cell(12, 3.0) for i in range(8)})
    flags = flag_round(cells, {"trust": REF}, ["trust"])
    assert flags["big"].flags["trust"].level == "main"
    assert not flags["big"].flags["trust"].tentative
    assert flags["small"].flags["trust"].level == "tentative"
    assert flags["small"].flags["trust"].tentative
    assert all(flags[f"t{i}"].flags["trust"].level is None for i in range(8))


def test_a_flag_one_member_makes_is_tentative() -> None:
    # Ten members with one at 5: credible (z 2.9 against a BH cut-off near 2.6), but
    # without that member the team's z falls to 2.4.
    reference = BlockerReference(mean=3.0, median=3.0, n=240, sd=1.0, df=220, adjusted_sd=1.0)
    cells = {("red", "trust"): cell(10, 3.9, highest=5.0)}
    cells.update({(f"t{i}", "trust"): cell(10, 3.0) for i in range(19)})
    flag = flag_round(cells, {"trust": reference}, ["trust"])["red"].flags["trust"]
    assert flag.z == pytest.approx(0.9 / math.sqrt(1 / 10 - 1 / 240))
    assert flag.fragile and flag.level == "tentative" and flag.tentative
    # The same team without such an extreme member is a main blocker.
    cells[("red", "trust")] = cell(10, 3.9, highest=4.2)
    steady = flag_round(cells, {"trust": reference}, ["trust"])["red"].flags["trust"]
    assert not steady.fragile and steady.level == "main"


def test_no_flag_when_the_printed_interval_reaches_the_median_line() -> None:
    # Credible against the mean (3.0) but the interval, as printed, starts at the median.
    reference = BlockerReference(mean=3.0, median=3.5, n=400, sd=0.5, df=380, adjusted_sd=0.5)
    cells = {("red", "trust"): CellStats(40, 3.8, 3.46, 4.14, 5.0, 2.0, 0.8)}
    flags = flag_round(cells, {"trust": reference}, ["trust"])
    assert flags["red"].flags["trust"].p_above < 1e-6
    assert flags["red"].flags["trust"].level is None


def test_strengths_are_flagged_below_and_ordered_most_credible_first() -> None:
    cells = {
        ("red", "trust"): cell(15, 2.0),
        ("red", "power"): cell(15, 2.3),
        ("red", "misalignment"): cell(15, 3.0),
    }
    for i in range(6):
        cells.update({(f"t{i}", b): cell(15, 3.1) for b in ("trust", "power", "misalignment")})
    refs = {b: REF for b in ("trust", "power", "misalignment")}
    flags = flag_round(cells, refs, ["trust", "power", "misalignment"])["red"]
    assert flags.strengths == ("trust", "power")
    assert flags.above == ()
    assert flags.ranking[-2:] == ("power", "trust")  # below the org: named last


def test_ranking_puts_flags_first_then_the_adjusted_evidence() -> None:
    # power is flagged; misalignment is not but stands out beyond the profile mix more than
    # trust does, so it comes before trust although trust's plain difference is larger.
    cells = {
        ("red", "power"): cell(20, 4.0),
        ("red", "trust"): CellStats(20, 3.3, 2.9, 3.7, 5.0, 1.0, 0.05),
        ("red", "misalignment"): CellStats(20, 3.2, 2.8, 3.6, 5.0, 1.0, 0.3),
    }
    for i in range(6):
        cells.update({(f"t{i}", b): cell(20, 3.0) for b in ("trust", "power", "misalignment")})
    refs = {b: REF for b in ("trust", "power", "misalignment")}
    flags = flag_round(cells, refs, ["trust", "power", "misalignment"])["red"]
    assert flags.ranking == ("power", "misalignment", "trust")
    assert [flags.flags[b].rank for b in flags.ranking] == [0, 1, 2]


def test_teams_that_differ_only_by_chance_get_no_flag(default_instrument) -> None:
    sim = simulate_responses(default_instrument, n_respondents=240, teams=20, random_state=4)
    result = diagnose_round(sim.data, default_instrument)
    assert all(team.top_blockers == () for team in result.teams.values())
    assert all(pillar.level != "at risk" for t in result.teams.values() for pillar in t.pillars)


def test_uniform_teams_are_flagged_without_dividing_by_zero(default_instrument) -> None:
    rows = [("high", {"trust": 5.0})] * 10 + [("low", {"trust": 1.0})] * 10
    result = diagnose_round(frame_from_scores(default_instrument, rows), default_instrument)
    assert result.teams["high"].flags["trust"].level == "main"
    assert result.teams["low"].flags["trust"].level == "strength"
    assert result.teams["high"].flags["power"].level is None  # no difference at all


def test_flags_are_published_as_verdicts_only(default_instrument) -> None:
    sim = simulate_responses(default_instrument, n_respondents=60, teams=4, random_state=2)
    team = diagnose_round(sim.data, default_instrument).to_dict()["teams"]["team-01"]
    assert set(team["flags"]["trust"]) == {"level", "tentative", "rank"}
    assert sorted(team["ranking"]) == sorted(team["flags"])


def test_small_simulation_is_deterministic_and_in_range() -> None:
    first = simulate_flags(rounds=2, teams=10, shifted=3, random_state=7)
    assert first == simulate_flags(rounds=2, teams=10, shifted=3, random_state=7)
    assert first.shifted_teams == 6 and first.null_teams == 14
    for rate in (first.hit_rate, first.false_flag_rate, first.plain_hit_rate, first.flag_rate):
        assert 0.0 <= rate <= 1.0


def test_a_large_shift_is_found_and_flagged_and_noise_is_not() -> None:
    result = simulate_flags(rounds=2, teams=12, shifted=4, shift_sd=1.5, random_state=1)
    assert result.hit_rate >= 0.85
    assert result.flag_rate >= 0.6
    assert result.false_flag_rate <= 0.15
