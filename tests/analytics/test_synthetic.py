"""Tests for analytics.synthetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.scoring import score_dimensions
from analytics.synthetic import DEFAULT_PROFILES, SyntheticData, simulate_responses


@pytest.fixture(scope="module")
def default_sim(default_instrument) -> SyntheticData:
    return simulate_responses(default_instrument, n_respondents=4000, random_state=42)


def test_frame_layout(default_instrument, default_sim: SyntheticData) -> None:
    data = default_sim.data
    expected = ["team", "respondent", *default_instrument.item_ids, *default_instrument.context_ids]
    assert list(data.columns) == expected
    assert len(data) == 4000
    assert data["respondent"].is_unique
    assert pd.api.types.is_string_dtype(data["team"])
    assert all(data[i].dtype == np.float64 for i in default_instrument.item_ids)
    assert default_sim.truth.index.equals(data.index)
    assert default_sim.truth.name == "profile"
    for question in default_instrument.context:
        assert set(data[question.id]) <= set(question.options)


def test_answers_are_on_each_items_scale(default_instrument, default_sim: SyntheticData) -> None:
    for item_id in default_instrument.item_ids:
        scale = default_instrument.scale_for(item_id)
        assert set(default_sim.data[item_id].unique()) <= set(map(float, scale.points))


def test_default_profiles_cover_the_default_instrument(default_instrument) -> None:
    dims = {dim.id for dim in default_instrument.dimensions}
    assert set(DEFAULT_PROFILES) == {"collaborative", "deadline-driven", "guarded", "misaligned"}
    for means in DEFAULT_PROFILES.values():
        assert set(means) == dims
    blockers = [dim.id for dim in default_instrument.blocker_dimensions]
    practices = [dim.id for dim in default_instrument.practice_dimensions]
    collaborative = DEFAULT_PROFILES["collaborative"]
    for name, means in DEFAULT_PROFILES.items():
        if name != "collaborative":
            assert np.mean([means[d] for d in blockers]) > np.mean(
                [collaborative[d] for d in blockers]
            )
            assert np.mean([means[d] for d in practices]) < np.mean(
                [collaborative[d] for d in practices]
            )
    assert max(DEFAULT_PROFILES["guarded"], key=DEFAULT_PROFILES["guarded"].get) == "trust"
    assert DEFAULT_PROFILES["misaligned"]["misalignment"] == max(
        means["misalignment"] for means in DEFAULT_PROFILES.values()
    )
    assert DEFAULT_PROFILES["deadline-driven"]["time_pressure"] == max(
        means["time_pressure"] for means in DEFAULT_PROFILES.values()
    )


def test_scoring_recovers_profile_means(default_instrument, default_sim: SyntheticData) -> None:
    scores = score_dimensions(default_sim.data, default_instrument)
    recovered = scores.groupby(default_sim.truth).mean()
    expected = default_sim.profiles.loc[recovered.index, recovered.columns]
    # Clipping and rounding at the scale ends bias means by < 0.1; sampling error ~0.02.
    assert (recovered - expected).abs().to_numpy().max() < 0.15
    assert set(recovered.index) == set(DEFAULT_PROFILES)


def test_reverse_keyed_items_are_mirrored_without_noise(small_instrument) -> None:
    sim = simulate_responses(
        small_instrument,
        n_respondents=5,
        teams=1,
        profiles={"p": {"alpha": 4.0, "beta": 2.0}},
        noise=0.0,
        latent_sd=0.0,
        random_state=0,
    )
    data = sim.data
    assert data["A1"].tolist() == [4.0] * 5
    assert data["A3"].tolist() == [2.0] * 5  # 1 + 5 - 4
    assert data["B1"].tolist() == [2.0] * 5
    assert data["B2"].tolist() == [6.0] * 5  # 1 + 7 - 2
    scores = score_dimensions(data, small_instrument)
    assert scores["alpha"].tolist() == [4.0] * 5
    assert scores["beta"].tolist() == [2.0] * 5


def test_unnamed_dimensions_default_to_midpoint(small_instrument) -> None:
    sim = simulate_responses(
        small_instrument, n_respondents=10, teams=2, profiles={"p": {"alpha": 2.0}}
    )
    assert sim.profiles.loc["p", "alpha"] == 2.0
    assert sim.profiles.loc["p", "beta"] == 4.0  # midpoint of 1-7


def test_non_default_instrument_gets_a_neutral_profile(small_instrument) -> None:
    sim = simulate_responses(small_instrument, n_respondents=20, teams=2, random_state=0)
    assert sim.profiles.index.tolist() == ["neutral"]
    assert sim.profiles.loc["neutral"].tolist() == [3.0, 4.0]
    assert set(sim.truth) == {"neutral"}


def test_reproducible_with_random_state(default_instrument) -> None:
    first = simulate_responses(default_instrument, n_respondents=300, random_state=7)
    second = simulate_responses(default_instrument, n_respondents=300, random_state=7)
    other = simulate_responses(default_instrument, n_respondents=300, random_state=8)
    pd.testing.assert_frame_equal(first.data, second.data)
    pd.testing.assert_series_equal(first.truth, second.truth)
    assert not first.data.equals(other.data)


def test_generator_is_accepted(small_instrument) -> None:
    rng = np.random.default_rng(3)
    sim = simulate_responses(small_instrument, n_respondents=10, teams=2, random_state=rng)
    assert len(sim.data) == 10


def test_integer_teams_are_as_equal_as_possible(small_instrument) -> None:
    sim = simulate_responses(small_instrument, n_respondents=103, teams=10, random_state=0)
    sizes = sim.data["team"].value_counts().sort_index()
    assert sizes.index.tolist() == [f"team-{i:02d}" for i in range(1, 11)]
    assert sorted(sizes.tolist()) == [10] * 7 + [11] * 3


def test_team_sizes_mapping_is_honoured(small_instrument) -> None:
    teams = {"sales": 7, "legal": 3, "ops": 0, "eng": 12}
    sim = simulate_responses(small_instrument, n_respondents=22, teams=teams, random_state=0)
    counts = sim.data["team"].value_counts()
    assert {team: int(counts.get(team, 0)) for team in teams} == teams


@pytest.mark.parametrize(
    "teams",
    [{"a": 5, "b": 4}, {"a": 11, "b": -1}, 0, 11],
)
def test_bad_teams_are_rejected(small_instrument, teams) -> None:
    with pytest.raises(ValueError, match="team"):
        simulate_responses(small_instrument, n_respondents=10, teams=teams)


def test_team_effects_shift_team_means(small_instrument) -> None:
    sim = simulate_responses(
        small_instrument,
        n_respondents=2000,
        teams={"calm": 1000, "tense": 1000},
        profiles={"p": {"alpha": 2.5}},
        team_effects={"tense": {"alpha": 1.0}},
        random_state=1,
    )
    means = score_dimensions(sim.data, small_instrument).groupby(sim.data["team"]).mean()
    assert means.loc["tense", "alpha"] - means.loc["calm", "alpha"] == pytest.approx(1.0, abs=0.1)
    assert means.loc["tense", "beta"] == pytest.approx(means.loc["calm", "beta"], abs=0.1)


def test_weights_set_profile_frequencies(small_instrument) -> None:
    sim = simulate_responses(
        small_instrument,
        n_respondents=4000,
        teams=4,
        profiles={"low": {"alpha": 2.0}, "high": {"alpha": 4.0}, "never": {}},
        weights={"low": 3, "high": 1},
        random_state=2,
    )
    shares = sim.truth.value_counts(normalize=True)
    assert "never" not in shares.index
    assert shares["low"] == pytest.approx(0.75, abs=0.03)


def test_missing_rate(default_instrument) -> None:
    sim = simulate_responses(
        default_instrument, n_respondents=2000, missing_rate=0.2, random_state=3
    )
    items = sim.data[list(default_instrument.item_ids)]
    assert items.isna().to_numpy().mean() == pytest.approx(0.2, abs=0.01)
    assert sim.data["team"].notna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"profiles": {"p": {"gamma": 3.0}}}, "gamma"),
        ({"profiles": {"p": {"alpha": 42.0}}}, "outside"),
        ({"profiles": {}}, "at least one"),
        ({"weights": {"nobody": 1.0}}, "nobody"),
        ({"team_effects": {"team-99": {"alpha": 1.0}}}, "team-99"),
        ({"team_effects": {"team-01": {"gamma": 1.0}}}, "gamma"),
        ({"missing_rate": 1.0}, "missing_rate"),
        ({"noise": -1.0}, "noise"),
        ({"n_respondents": 0}, "n_respondents"),
    ],
)
def test_invalid_arguments(small_instrument, kwargs: dict, message: str) -> None:
    arguments = {"n_respondents": 20, "teams": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        simulate_responses(small_instrument, **arguments)


def test_large_round_shape(default_instrument) -> None:
    # Vectorised generation: 100,000 x 37 must stay cheap (checked by hand: ~0.3 s).
    sim = simulate_responses(default_instrument, n_respondents=100_000, random_state=0)
    assert sim.data.shape == (
        100_000,
        2 + len(default_instrument.item_ids) + len(default_instrument.context_ids),
    )
