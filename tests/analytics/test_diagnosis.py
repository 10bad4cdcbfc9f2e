"""Tests for analytics.diagnosis."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from analytics.advice import load_advice
from analytics.diagnosis import (
    OTHER_PROFILES,
    diagnose_round,
)
from analytics.instrument import Instrument
from analytics.scoring import score_dimensions
from analytics.synthetic import DEFAULT_PROFILES, simulate_responses


def frame_from_scores(
    instrument: Instrument, rows: list[tuple[str, dict[str, float]]]
) -> pd.DataFrame:
    """A wide frame whose members score exactly the given values.

    Every item of a dimension gets the score (mirrored for reverse-keyed items);
    dimensions not given sit at the scale midpoint.
    """
    records = []
    for i, (team, given_scores) in enumerate(rows):
        record: dict[str, object] = {"team": team, "respondent": f"r{i}"}
        for dim in instrument.dimensions:
            scale = dim.response_scale or instrument.response_scale
            score = given_scores.get(dim.id, (scale.min + scale.max) / 2)
            for item in dim.items:
                record[item.id] = scale.reverse(score) if item.reverse else float(score)
        records.append(record)
    return pd.DataFrame(records)


def uniform_team(team: str, n: int, **scores: float) -> list[tuple[str, dict[str, float]]]:
    return [(team, dict(scores))] * n


# --- finding the blocker ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deadline_driven_team_has_time_pressure_as_top_blocker(default_instrument, seed) -> None:
    sim = simulate_responses(
        default_instrument,
        n_respondents=75,
        teams=5,
        team_effects={"team-03": {"time_pressure": 1.5, "objective_criteria": -1.0}},
        random_state=seed,
    )
    result = diagnose_round(sim.data, default_instrument)
    team = result.teams["team-03"]
    assert team.top_blockers[0] == "time_pressure"
    assert team.summary.startswith("Deadline pressure is your team's strongest blocker")
    assert "objective_criteria" in {p.id for p in team.recommended_plays}
    assert any(g.blocker == "time_pressure" for g in team.practice_gaps)
    for name, other in result.teams.items():
        if name != "team-03":
            assert "time_pressure" not in other.top_blockers


def test_team_of_the_deadline_driven_profile_is_flagged(default_instrument) -> None:
    others = {k: v for k, v in DEFAULT_PROFILES.items() if k != "deadline-driven"}
    org = simulate_responses(
        default_instrument, n_respondents=80, teams=4, profiles=others, random_state=0
    ).data
    deadline = simulate_responses(
        default_instrument,
        n_respondents=12,
        teams={"deadline": 12},
        profiles={"deadline-driven": DEFAULT_PROFILES["deadline-driven"]},
        random_state=100,
    ).data
    result = diagnose_round(pd.concat([org, deadline], ignore_index=True), default_instrument)
    team = result.teams["deadline"]
    # The profile is high on both deadline pressure (4.2) and fixed-pie thinking (4.0).
    assert set(team.top_blockers[:2]) == {"time_pressure", "fixed_pie"}
    assert team.plays_to_practise_first[0].id == "logrolling"  # counters both
    assert set(team.plays_to_practise_first[0].addresses) == {"time_pressure", "fixed_pie"}


# --- statistics checked against values computed here -------------------------------------------


def test_team_statistics_match_independent_computation(default_instrument) -> None:
    red = [1, 2, 4, 5, 4, 3]
    blue = [2, 2, 3, 1, 2]
    rows = [("red", {"time_pressure": v}) for v in red]
    rows += [("blue", {"time_pressure": v}) for v in blue]
    result = diagnose_round(frame_from_scores(default_instrument, rows), default_instrument)
    finding = result.teams["red"].dimensions["time_pressure"]

    values = np.array(red, dtype=float)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    org = np.array(red + blue, dtype=float)
    assert finding.mean == pytest.approx(values.mean())
    assert finding.sd == pytest.approx(values.std(ddof=1))
    assert (finding.ci_low, finding.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert finding.percentile == pytest.approx(
        stats.percentileofscore(org, values.mean(), kind="mean")
    )
    assert finding.n_prevalent == 3  # 4, 5, 4 are at or above "Agree"
    assert finding.prevalence == pytest.approx(3 / 6)
    assert finding.severity == pytest.approx((finding.percentile / 100 + 0.5) / 2)
    assert result.org["time_pressure"].mean == pytest.approx(org.mean())
    assert result.org["time_pressure"].prevalence_threshold == 4.0
    assert result.org["meso"].practice_gap_threshold == 2.5  # reads as "Rarely" or "Never"


def test_blocker_threshold_overrides_prevalence_cut(default_instrument) -> None:
    rows = [("red", {"trust": v}) for v in [2, 3, 3, 4, 5]]
    data = frame_from_scores(default_instrument, rows)
    assert (
        diagnose_round(data, default_instrument).teams["red"].dimensions["trust"].n_prevalent == 2
    )
    lowered = diagnose_round(data, default_instrument, blocker_threshold=3)
    assert lowered.teams["red"].dimensions["trust"].n_prevalent == 4
    assert lowered.org["trust"].prevalence_threshold == 3.0


def test_disagreeing_needs_four_teams_and_flags_the_widest_spread(default_instrument) -> None:
    rows = []
    for team, values in {
        "a": [3, 3, 3, 3, 3],
        "b": [2, 3, 3, 3, 4],
        "c": [2, 2, 3, 4, 4],
        "d": [1, 1, 3, 5, 5],
    }.items():
        rows += [(team, {"power": v}) for v in values]
    data = frame_from_scores(default_instrument, rows)
    result = diagnose_round(data, default_instrument)
    flags = {t: result.teams[t].dimensions["power"].disagreeing for t in "abcd"}
    assert flags == {"a": False, "b": False, "c": False, "d": True}
    sds = [np.std(v, ddof=1) for v in ([3] * 5, [2, 3, 3, 3, 4], [2, 2, 3, 4, 4], [1, 1, 3, 5, 5])]
    assert result.org["power"].spread_threshold == pytest.approx(np.quantile(sds, 0.75))

    three = diagnose_round(data[data["team"] != "a"], default_instrument)
    assert three.teams["d"].dimensions["power"].disagreeing is None


def test_top_blockers_strengths_and_pillars(default_instrument) -> None:
    high = {"trust": 5, "power": 4, "time_pressure": 1, "fixed_pie": 1, "misalignment": 3}
    low = {"trust": 1, "power": 1, "time_pressure": 3, "fixed_pie": 3, "misalignment": 3}
    rows = uniform_team("high", 6, **high) + uniform_team("low", 6, **low)
    result = diagnose_round(frame_from_scores(default_instrument, rows), default_instrument)
    team = result.teams["high"]
    assert team.top_blockers == ("trust", "power")
    # A team of 6 is under 10: its flags are tentative, and the summary says so.
    assert all(team.flags[b].level == "tentative" for b in team.top_blockers)
    assert team.summary.startswith("Guarded information may be holding your team back")
    assert "tentative: in a team of fewer than ten members" in team.summary
    assert set(team.strengths) == {"time_pressure", "fixed_pie"}
    pillars = {p.id: p for p in team.pillars}
    assert pillars["relationships"].level == "at risk"
    assert pillars["relationships"].tentative
    assert pillars["process"].level == "strong"
    assert pillars["process"].percentile == pytest.approx(25.0)  # 1 sits below half the org
    assert pillars["goals"].level == "mixed"
    advice = load_advice()
    assert [h for h, _ in team.checklist] == [t.heading for t in advice.checklist_topics]
    assert [line for _, line in team.checklist] == [
        line for _, line in advice.blocker("trust").checklist
    ]
    assert len(team.strength_sentences) == 2


def test_recommended_plays_are_ordered_and_deduplicated(default_instrument) -> None:
    scores = {"trust": 5, "fixed_pie": 5, "time_pressure": 1, "misalignment": 1, "power": 1}
    practice = {"joint_framing": 4, "meso": 2, "contingent": 2, "logrolling": 4}
    rows = uniform_team("t", 6, **scores, **practice)
    rows += uniform_team("u", 6, trust=1, fixed_pie=1, time_pressure=1, misalignment=1, power=1)
    team = diagnose_round(frame_from_scores(default_instrument, rows), default_instrument).teams[
        "t"
    ]
    assert set(team.top_blockers) == {"trust", "fixed_pie"}
    ids = [p.id for p in team.recommended_plays]
    assert len(ids) == len(set(ids))
    # meso and joint_framing counter both blockers; meso is rarely practised (2 < 3).
    assert ids[:2] == ["meso", "joint_framing"]
    # joint_framing is used "often" (4) already: it is not one to practise first.
    assert team.recommended_plays[1].in_regular_use
    assert [p.id for p in team.plays_to_practise_first] == ["meso", "contingent"]
    meso = team.recommended_plays[0]
    assert meso.practice_gap and meso.practice_mean == 2.0
    assert set(meso.addresses) == {"trust", "fixed_pie"}
    assert meso.rationale and len(meso.questions) >= 2
    assert {(g.blocker, g.play) for g in team.practice_gaps} == {
        ("trust", "meso"),
        ("trust", "contingent"),
        ("fixed_pie", "meso"),
    }


def test_a_calm_team_gets_no_blocker_and_generic_checklist(default_instrument) -> None:
    rows = uniform_team("calm", 5, trust=1, time_pressure=1, fixed_pie=1, misalignment=1, power=1)
    rows += uniform_team("tense", 5, trust=3, time_pressure=3, fixed_pie=3, misalignment=3, power=3)
    team = diagnose_round(frame_from_scores(default_instrument, rows), default_instrument).teams[
        "calm"
    ]
    assert team.top_blockers == () and team.recommended_plays == ()
    assert team.summary == load_advice().wording.no_blocker
    default_lines = [line for _, line in load_advice().default_blocker.checklist]
    assert [line for _, line in team.checklist] == default_lines


# --- anonymity ---------------------------------------------------------------------------------


def test_small_team_is_suppressed_and_invited_counts_give_response_rates(
    default_instrument,
) -> None:
    rows = uniform_team("big", 8, trust=4) + uniform_team("small", 4, trust=1)
    data = frame_from_scores(default_instrument, rows)
    result = diagnose_round(data, default_instrument, invited={"big": 10, "small": 9, "absent": 6})
    assert result.teams["small"].to_dict() == {"n": 4, "suppressed": True}
    assert result.teams["absent"].to_dict() == {"n": 0, "suppressed": True}
    small = result.teams["small"]
    assert small.dimensions == {} and small.response_rate is None and small.invited is None
    assert result.teams["big"].response_rate == pytest.approx(0.8)
    assert result.n_respondents == 12
    # The org reference leaves the 4 suppressed answers out: no differencing possible.
    assert result.org["trust"].mean == 4.0
    assert result.org["trust"].n_scored == 8
    assert not result.org["trust"].includes_unshown


def test_unshown_answers_join_the_org_when_they_reach_the_threshold(default_instrument) -> None:
    rows = uniform_team("big", 8, trust=4) + uniform_team("s1", 3, trust=1)
    rows += uniform_team("s2", 3, trust=2)
    result = diagnose_round(frame_from_scores(default_instrument, rows), default_instrument)
    assert result.org["trust"].n_scored == 14
    assert result.org["trust"].includes_unshown
    assert result.org["trust"].mean == pytest.approx((8 * 4 + 3 * 1 + 3 * 2) / 14)


def test_dimension_with_too_few_scores_is_withheld(default_instrument) -> None:
    data = frame_from_scores(default_instrument, uniform_team("red", 6, trust=4, power=2))
    trust_items = list(default_instrument.dimension("trust").item_ids)
    data.loc[data.index[:2], trust_items] = np.nan
    team = diagnose_round(data, default_instrument).teams["red"]
    assert team.dimensions["trust"].withheld
    assert team.dimensions["trust"].to_dict() == {"withheld": True}
    assert team.dimensions["trust"].mean is None
    assert not team.dimensions["power"].withheld
    assert "trust" not in team.top_blockers


answers = st.integers(min_value=1, max_value=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_hypothesis_small_teams_leak_nothing(default_instrument, sizes, seed) -> None:
    rng = np.random.default_rng(seed)
    rows = [
        (f"team{t}", {d.id: float(rng.integers(1, 6)) for d in default_instrument.dimensions})
        for t, size in enumerate(sizes)
        for _ in range(size)
    ]
    result = diagnose_round(frame_from_scores(default_instrument, rows), default_instrument)
    for t, size in enumerate(sizes):
        team = result.teams[f"team{t}"]
        assert team.to_dict() == {"n": size, "suppressed": True}
        assert team.dimensions == {} and team.top_blockers == () and team.profile_mix is None
        assert team.summary is None and team.recommended_plays == ()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    small_size=st.integers(min_value=1, max_value=4),
    first=st.lists(answers, min_size=4, max_size=4),
    second=st.lists(answers, min_size=4, max_size=4),
)
def test_hypothesis_output_does_not_depend_on_a_suppressed_teams_answers(
    default_instrument, small_size, first, second
) -> None:
    """Changing what a suppressed team answered must not change anything reported."""
    rng = np.random.default_rng(0)
    shown = [
        ("shown", {d.id: float(rng.integers(1, 6)) for d in default_instrument.dimensions})
        for _ in range(6)
    ]

    def report(values: list[int]) -> str:
        small = [
            ("small", {d.id: float(values[i % 4]) for d in default_instrument.dimensions})
            for i in range(small_size)
        ]
        data = frame_from_scores(default_instrument, shown + small)
        return json.dumps(diagnose_round(data, default_instrument).to_dict(), sort_keys=True)

    assert report(first) == report(second)


# --- profile mix -------------------------------------------------------------------------------


def mix_for(default_instrument, probabilities: list[list[float]], columns=("A", "B", "C")):
    n = len(probabilities)
    rows = uniform_team("t", n, trust=3) + uniform_team("u", 5, trust=3)
    data = frame_from_scores(default_instrument, rows)
    frame = pd.DataFrame(
        probabilities + [[1.0] + [0.0] * (len(columns) - 1)] * 5,
        index=data.index,
        columns=list(columns),
    )
    return diagnose_round(data, default_instrument, profiles=frame).teams["t"].profile_mix


def test_profile_mix_counts_from_summed_probabilities(default_instrument) -> None:
    probs = [[0.9, 0.1]] * 6 + [[0.2, 0.8]] * 6
    mix = mix_for(default_instrument, probs, columns=("A", "B"))
    assert mix.shown and mix.merged == ()
    assert mix.counts["A"] == pytest.approx(6 * 0.9 + 6 * 0.2)
    assert mix.counts["B"] == pytest.approx(6 * 0.1 + 6 * 0.8)
    assert mix.n_assigned == 12


def test_profile_mix_merges_small_groups_into_other(default_instrument) -> None:
    probs = [[1.0, 0.0, 0.0]] * 7 + [[0.0, 1.0, 0.0]] * 3 + [[0.0, 0.0, 1.0]] * 2
    mix = mix_for(default_instrument, probs)
    assert mix.shown
    assert dict(mix.counts) == {"A": 7.0, OTHER_PROFILES: 5.0}
    assert mix.merged == ("B", "C")


def test_profile_mix_withheld_when_merged_group_stays_small(default_instrument) -> None:
    probs = [[1.0, 0.0, 0.0]] * 8 + [[0.0, 1.0, 0.0]] * 2 + [[0.0, 0.0, 1.0]] * 1
    mix = mix_for(default_instrument, probs)
    assert not mix.shown and mix.counts == {}
    assert "smaller than 5" in mix.reason


def test_profile_mix_withheld_when_everyone_is_in_one_profile(default_instrument) -> None:
    probs = [[0.6, 0.4, 0.0]] * 12  # soft counts 7.2 / 4.8, but everyone's best guess is A
    mix = mix_for(default_instrument, probs)
    assert not mix.shown
    assert "same profile" in mix.reason


def test_profile_mix_withheld_when_too_few_are_assigned(default_instrument) -> None:
    probs = [[1.0, 0.0, 0.0]] * 2 + [[0.0, 1.0, 0.0]] * 2 + [[math.nan] * 3] * 4
    mix = mix_for(default_instrument, probs)
    assert not mix.shown and mix.n_assigned == 4
    assert "fewer than 5" in mix.reason


def test_profile_mix_merges_a_named_group_when_small_ones_are_not_enough(
    default_instrument,
) -> None:
    probs = [[1.0, 0.0, 0.0]] * 7 + [[0.0, 1.0, 0.0]] * 6 + [[0.0, 0.0, 1.0]] * 1
    mix = mix_for(default_instrument, probs)
    assert mix.shown
    assert dict(mix.counts) == {"A": 7.0, OTHER_PROFILES: 7.0}
    assert mix.merged == ("B", "C")


# --- other instruments and JSON -----------------------------------------------------------------


def test_instrument_without_advice_is_still_diagnosed(small_instrument) -> None:
    data = pd.DataFrame(
        {
            "team": ["x"] * 5 + ["y"] * 5,
            "A1": [5, 5, 5, 4, 5, 1, 1, 2, 1, 1],
            "A2": [5, 4, 5, 5, 5, 1, 2, 1, 1, 1],
            "A3": [1, 1, 1, 2, 1, 5, 5, 5, 4, 5],
            "B1": [1, 2, 1, 1, 2, 7, 6, 7, 7, 6],
            "B2": [7, 7, 6, 7, 7, 1, 1, 2, 1, 1],
        }
    )
    result = diagnose_round(data, small_instrument)
    team = result.teams["x"]
    assert team.top_blockers == ("alpha",)
    # A team of 5 gets the generic tentative sentence.
    assert team.summary.startswith("Alpha may be holding your team back")
    assert team.recommended_plays == () and team.practice_gaps == () and team.pillars == ()
    assert result.org["alpha"].name == "Alpha"
    assert result.org["beta"].practice_gap_threshold == 3.5  # reads below 4, the middle of 1-7
    json.dumps(result.to_dict(), allow_nan=False)


def test_round_to_dict_is_strict_json(default_instrument) -> None:
    sim = simulate_responses(
        default_instrument,
        n_respondents=50,
        teams={"a": 20, "b": 20, "c": 7, "d": 3},
        missing_rate=0.05,
        random_state=3,
    )
    result = diagnose_round(sim.data, default_instrument)
    text = json.dumps(result.to_dict(), allow_nan=False)
    loaded = json.loads(text)
    assert loaded["teams"]["d"] == {"n": 3, "suppressed": True}
    assert loaded["instrument"] == {"id": default_instrument.id, "version": 1}
    assert set(loaded["teams"]["a"]["dimensions"]) == {d.id for d in default_instrument.dimensions}


def test_bad_arguments_are_explained(default_instrument) -> None:
    data = frame_from_scores(default_instrument, uniform_team("a", 5))
    with pytest.raises(KeyError, match="no team column 'squad'"):
        diagnose_round(data, default_instrument, team_col="squad")
    with pytest.raises(ValueError, match="positive integer"):
        diagnose_round(data, default_instrument, threshold=0)


def test_numeric_team_ids_become_string_keys(default_instrument) -> None:
    data = frame_from_scores(default_instrument, uniform_team("x", 5) + uniform_team("y", 2))
    data["team"] = [7] * 5 + [8] * 2
    result = diagnose_round(data, default_instrument, invited={7: 10})
    assert set(result.teams) == {"7", "8"}
    assert result.teams["7"].response_rate == pytest.approx(0.5)
    assert result.teams["8"].suppressed


# --- grouped computation matches a per-team one ------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_team_statistics_match_a_per_team_computation(default_instrument, seed) -> None:
    rng = np.random.default_rng(seed)
    sizes = {f"t{i:02d}": int(rng.integers(1, 12)) for i in range(25)}
    sim = simulate_responses(
        default_instrument,
        n_respondents=sum(sizes.values()),
        teams=sizes,
        missing_rate=0.2,
        random_state=seed,
    )
    data = sim.data.sample(frac=1.0, random_state=seed)  # teams interleaved, index shuffled
    data.loc[data.index[:4], "team"] = None
    probabilities = pd.DataFrame(
        rng.dirichlet([0.5, 0.5, 0.5], size=len(data)), index=data.index, columns=["A", "B", "C"]
    )
    probabilities.iloc[rng.random(len(data)) < 0.1] = np.nan
    threshold = 3
    result = diagnose_round(data, default_instrument, threshold=threshold, profiles=probabilities)
    scores = score_dimensions(data, default_instrument)

    for dim in default_instrument.dimensions:
        at = result.org[dim.id].prevalence_threshold
        feeding = [
            t
            for t, team in result.teams.items()
            if not team.suppressed and not team.dimensions[dim.id].withheld
        ]
        in_shown = data["team"].isin(feeding)
        rest = scores.loc[~in_shown, dim.id].dropna()
        reference = scores.loc[in_shown | (len(rest) >= threshold), dim.id].dropna()
        assert result.org[dim.id].n_scored == len(reference)
        for name, team in result.teams.items():
            members = data["team"] == name
            assert team.n == members.sum()
            assert team.suppressed == (members.sum() < threshold)
            if team.suppressed:
                continue
            values = scores.loc[members, dim.id].dropna()
            finding = team.dimensions[dim.id]
            assert finding.n_scored == len(values)
            assert finding.withheld == (len(values) < threshold)
            if finding.withheld:
                continue
            half = stats.t.ppf(0.975, len(values) - 1) * stats.sem(values)
            assert finding.mean == pytest.approx(values.mean(), abs=1e-12)
            assert finding.sd == pytest.approx(values.std(ddof=1), abs=1e-12)
            assert (finding.ci_low, finding.ci_high) == pytest.approx(
                (values.mean() - half, values.mean() + half), abs=1e-9
            )
            assert finding.n_prevalent == (values >= at).sum()
            assert finding.percentile == pytest.approx(
                stats.percentileofscore(reference, finding.mean, kind="mean"), abs=1e-9
            )

    for name, team in result.teams.items():
        if team.suppressed or not team.profile_mix.shown:
            continue
        assigned = probabilities[data["team"] == name].dropna()
        assert team.profile_mix.n_assigned == len(assigned)
        expected = assigned.sum()
        for profile, count in team.profile_mix.counts.items():
            merged = list(team.profile_mix.merged) if profile == OTHER_PROFILES else [profile]
            assert count == pytest.approx(expected[merged].sum(), abs=1e-9)
