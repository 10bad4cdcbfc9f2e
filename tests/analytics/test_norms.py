"""Tests for analytics.norms, checked against scipy.stats.percentileofscore."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analytics.norms import (
    ReferencePopulation,
    percentile_rank,
    respondent_percentiles,
    team_percentiles,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_percentile_rank_matches_scipy_mean_kind(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Means of 1-5 answers: many ties, as in real scores.
    reference = rng.integers(3, 16, size=200) / 3
    values = np.concatenate([rng.integers(2, 17, size=50) / 3, [0.0, 9.0]])
    expected = [stats.percentileofscore(reference, v, kind="mean") for v in values]
    np.testing.assert_allclose(percentile_rank(values, reference), expected)


def test_percentile_rank_handles_nan() -> None:
    ranks = percentile_rank([np.nan, 2.0], [1.0, np.nan, 2.0, 3.0])
    assert np.isnan(ranks[0])
    assert ranks[1] == pytest.approx(50.0)
    assert np.isnan(percentile_rank([1.0, 2.0], [np.nan, np.nan])).all()
    assert np.isnan(percentile_rank([1.0], [])).all()


def test_percentile_rank_keeps_shape() -> None:
    assert percentile_rank(2.0, [1.0, 2.0, 3.0]).shape == ()
    assert percentile_rank([[1.0, 3.0]], [1.0, 2.0, 3.0]).shape == (1, 2)


def test_respondent_percentiles_against_own_sample() -> None:
    rng = np.random.default_rng(5)
    scores = pd.DataFrame(
        {"trust": rng.integers(1, 6, size=40) / 1.0, "power": rng.normal(3, 1, size=40)},
        index=pd.RangeIndex(100, 140),
    )
    scores.loc[[100, 101], "power"] = np.nan
    ranks = respondent_percentiles(scores)
    assert ranks.index.equals(scores.index)
    assert list(ranks.columns) == ["trust", "power"]
    # Mid-ranks of a sample in itself average exactly 50.
    assert ranks["trust"].mean() == pytest.approx(50.0)
    assert ranks["power"].mean() == pytest.approx(50.0)
    assert ranks["power"].isna().sum() == 2
    expected = [stats.percentileofscore(scores["trust"], v, kind="mean") for v in scores["trust"]]
    np.testing.assert_allclose(ranks["trust"], expected)


def test_respondent_percentiles_with_reference_population() -> None:
    reference = ReferencePopulation("pilot", pd.DataFrame({"trust": [1.0, 2.0, 3.0, 4.0]}))
    scores = pd.DataFrame({"trust": [2.0, 5.0], "power": [3.0, 3.0]})
    ranks = respondent_percentiles(scores, reference)
    assert ranks["trust"].tolist() == [37.5, 100.0]
    assert ranks["power"].isna().all()  # not in the reference


def test_team_percentiles_use_individual_distribution() -> None:
    people = pd.DataFrame({"trust": [1.0, 2.0, 2.0, 3.0, 5.0], "power": [1.0, 1.0, 1, 1, 1]})
    team_means = pd.DataFrame(
        {"trust": [2.0, 2.6], "power": [1.0, np.nan]}, index=pd.Index(["a", "b"], name="team")
    )
    ranks = team_percentiles(team_means, people)
    assert ranks.index.equals(team_means.index)
    # a: 1 below, 2 ties -> (1 + 1) / 5; b: 3 below -> 3 / 5
    assert ranks["trust"].tolist() == pytest.approx([40.0, 60.0])
    assert ranks.loc["a", "power"] == pytest.approx(50.0)
    assert np.isnan(ranks.loc["b", "power"])
    from_population = team_percentiles(team_means, ReferencePopulation("org", people))
    pd.testing.assert_frame_equal(from_population, ranks)


def test_reference_population() -> None:
    ref = ReferencePopulation("org", pd.DataFrame({"trust": [1.0, 2.0]}), description="all")
    assert ref.n == 2
    with pytest.raises(ValueError, match="team"):
        ReferencePopulation("bad", pd.DataFrame({"team": ["a"], "trust": [1.0]}))


def test_reference_population_from_responses(small_instrument) -> None:
    data = pd.DataFrame(
        {
            "team": ["x", "y"],
            "A1": [5, 1],
            "A2": [5, 1],
            "A3": [1, 5],
            "B1": [7, 1],
            "B2": [1, np.nan],
        }
    )
    ref = ReferencePopulation.from_responses("org", data, small_instrument)
    assert ref.name == "org"
    assert ref.scores["alpha"].tolist() == [5.0, 1.0]
    assert ref.scores["beta"].iloc[0] == 7.0
    assert np.isnan(ref.scores["beta"].iloc[1])


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.one_of(finite, st.just(np.nan)), max_size=20),
    reference=st.lists(st.one_of(finite, st.just(np.nan)), max_size=30),
)
def test_percentile_rank_is_between_0_and_100(values: list[float], reference: list[float]) -> None:
    ranks = percentile_rank(values, reference)
    assert ranks.shape == (len(values),)
    known = ranks[~np.isnan(ranks)]
    assert ((known >= 0) & (known <= 100)).all()
    assert np.array_equal(np.isnan(ranks), np.isnan(values) | np.isnan(reference).all())
