"""Tests for analytics.reliability, checked against pingouin (itself validated on R psych)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from analytics.reliability import (
    alpha_interval,
    cronbach_alpha,
    item_reliability,
    item_statistics,
    omega_total,
    reliability,
)


def correlated_items(n: int, k: int, seed: int, missing: float = 0.0) -> pd.DataFrame:
    """Likert-like answers sharing one latent factor, with optional random holes."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 1))
    loadings = rng.uniform(0.3, 1.0, size=(1, k))
    raw = 3 + latent * loadings + rng.normal(scale=0.9, size=(n, k))
    values = np.clip(np.rint(raw), 1, 5)
    if missing:
        values[rng.random(values.shape) < missing] = np.nan
    return pd.DataFrame(values, columns=[f"i{j}" for j in range(k)])


CASES = [
    pytest.param(40, 5, 0.0, id="n40-k5-complete"),
    pytest.param(200, 4, 0.0, id="n200-k4-complete"),
    pytest.param(60, 5, 0.15, id="n60-k5-missing"),
    pytest.param(300, 6, 0.3, id="n300-k6-missing"),
    pytest.param(30, 2, 0.1, id="n30-k2-missing"),
]


@pytest.mark.parametrize(("n", "k", "missing"), CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_matches_pingouin_pairwise(n: int, k: int, missing: float, seed: int) -> None:
    items = correlated_items(n, k, seed, missing)
    expected, _ = pg.cronbach_alpha(data=items, nan_policy="pairwise")
    assert cronbach_alpha(items) == pytest.approx(expected, abs=5e-4)


def test_alpha_matches_r_psych_on_pingouin_dataset() -> None:
    # Value from pingouin's docs: psych::alpha(data, use = "pairwise") in R.
    data = pg.read_dataset("cronbach_wide_missing")
    assert cronbach_alpha(data) == pytest.approx(0.732660835214447, abs=1e-9)


@pytest.mark.parametrize(("n", "k", "missing"), [c for c in CASES if c.values[1] > 2])
def test_alpha_if_deleted_matches_pingouin_on_reduced_frame(n: int, k: int, missing: float) -> None:
    items = correlated_items(n, k, seed=7, missing=missing)
    stats = item_statistics(items)
    for column in items.columns:
        expected, _ = pg.cronbach_alpha(data=items.drop(columns=column), nan_policy="pairwise")
        assert stats.loc[column, "alpha_if_deleted"] == pytest.approx(expected, abs=5e-4)


def test_r_drop_is_correlation_with_rest_score_on_complete_data() -> None:
    items = correlated_items(150, 5, seed=3)
    stats = item_statistics(items)
    for column in items.columns:
        rest = items.drop(columns=column).sum(axis=1)
        expected = np.corrcoef(items[column], rest)[0, 1]
        assert stats.loc[column, "r_drop"] == pytest.approx(expected, abs=1e-9)


def test_item_statistics_descriptives() -> None:
    items = correlated_items(80, 3, seed=4, missing=0.2)
    stats = item_statistics(items)
    assert stats.index.tolist() == list(items.columns)
    assert stats["n"].tolist() == items.notna().sum().tolist()
    np.testing.assert_allclose(stats["mean"], items.mean())
    np.testing.assert_allclose(stats["sd"], items.std(ddof=1))


def test_two_item_scale_has_no_alpha_if_deleted() -> None:
    stats = item_statistics(correlated_items(50, 2, seed=5))
    assert stats["alpha_if_deleted"].isna().all()
    assert stats["r_drop"].notna().all()


def test_alpha_is_nan_when_not_estimable() -> None:
    assert np.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0, 2.0, 3.0]})))
    assert np.isnan(cronbach_alpha(pd.DataFrame({"a": [3.0, 3.0], "b": [2.0, 2.0]})))
    # a and b are never answered together
    never_together = pd.DataFrame({"a": [1.0, 2.0, np.nan, np.nan], "b": [np.nan, np.nan, 3, 4]})
    assert np.isnan(cronbach_alpha(never_together))


def test_reliability_reverse_keys_before_alpha(small_instrument) -> None:
    rng = np.random.default_rng(11)
    latent = rng.normal(size=120)
    a = np.clip(np.rint(3 + latent[:, None] + rng.normal(scale=0.7, size=(120, 3))), 1, 5)
    b = np.clip(np.rint(4 + 1.5 * latent[:, None] + rng.normal(scale=0.9, size=(120, 2))), 1, 7)
    data = pd.DataFrame(
        {
            "team": "t",
            "A1": a[:, 0],
            "A2": a[:, 1],
            "A3": 6 - a[:, 2],  # reverse-worded on 1-5
            "B1": b[:, 0],
            "B2": 8 - b[:, 1],  # reverse-worded on 1-7
        }
    )
    data.loc[[0, 5, 9], "A2"] = np.nan
    result = reliability(data, small_instrument)
    assert result.index.tolist() == ["alpha", "beta"]
    assert list(result.columns) == [
        "alpha",
        "n_items",
        "n_complete",
        "flagged",
        "alpha_ci_low",
        "alpha_ci_high",
        "omega",
    ]
    _, expected_ci = pg.cronbach_alpha(pd.DataFrame(b))
    assert result.loc["beta", ["alpha_ci_low", "alpha_ci_high"]].tolist() == pytest.approx(
        list(expected_ci), abs=5e-4
    )
    assert np.isnan(result.loc["beta", "omega"])  # two items: no one-factor model
    assert 0 < result.loc["alpha", "omega"] <= 1
    expected_a, _ = pg.cronbach_alpha(
        pd.DataFrame(a).where(data[["A1", "A2", "A3"]].notna().to_numpy())
    )
    expected_b, _ = pg.cronbach_alpha(pd.DataFrame(b))
    assert result.loc["alpha", "alpha"] == pytest.approx(expected_a, abs=5e-4)
    assert result.loc["beta", "alpha"] == pytest.approx(expected_b, abs=5e-4)
    assert result["n_items"].tolist() == [3, 2]
    assert result["n_complete"].tolist() == [117, 120]
    assert result["alpha"].gt(0.5).all()


def test_reliability_flags_low_and_unestimable_alpha(small_instrument) -> None:
    data = pd.DataFrame(
        {
            "A1": [1, 2, 3, 4, 5, 1],
            "A2": [5, 4, 3, 2, 1, 3],  # opposes A1: alpha is low
            "A3": [3, 3, 3, 3, 3, 3],
            "B1": [1, np.nan, np.nan, np.nan, np.nan, np.nan],
            "B2": [np.nan, 1, 2, 3, 4, 5],
        }
    )
    result = reliability(data, small_instrument, threshold=0.6)
    assert bool(result.loc["alpha", "flagged"])
    assert np.isnan(result.loc["beta", "alpha"])
    assert bool(result.loc["beta", "flagged"])
    assert result["flagged"].dtype == bool


def test_reliability_threshold(small_instrument) -> None:
    items = correlated_items(100, 3, seed=2)
    data = items.set_axis(["A1", "A2", "A3"], axis=1)
    data["A3"] = 6 - data["A3"]
    alpha = reliability(data, small_instrument, dimensions=["alpha"]).loc["alpha", "alpha"]
    assert not reliability(data, small_instrument, threshold=alpha - 0.01, dimensions=["alpha"])[
        "flagged"
    ].iloc[0]
    assert reliability(data, small_instrument, threshold=alpha + 0.01, dimensions=["alpha"])[
        "flagged"
    ].iloc[0]


def test_item_reliability_stacks_dimensions(small_instrument) -> None:
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        rng.integers(1, 6, size=(50, 5)).astype(float), columns=list(small_instrument.item_ids)
    )
    stacked = item_reliability(data, small_instrument)
    assert stacked.index.names == ["dimension", "item"]
    assert stacked.index.tolist() == [
        ("alpha", "A1"),
        ("alpha", "A2"),
        ("alpha", "A3"),
        ("beta", "B1"),
        ("beta", "B2"),
    ]
    keyed = data.assign(A3=6 - data["A3"])[["A1", "A2", "A3"]]
    pd.testing.assert_frame_equal(stacked.loc["alpha"], item_statistics(keyed), check_names=False)


# --- Feldt interval and omega total ---------------------------------------------------------


def one_factor(n: int, loadings: list[float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = np.array(loadings)
    factor = rng.normal(size=n)
    noise = rng.normal(size=(n, lam.size)) * np.sqrt(1 - lam**2)
    return pd.DataFrame(factor[:, None] * lam + noise, columns=[f"i{j}" for j in range(lam.size)])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_alpha_interval_matches_pingouin_on_complete_data(seed: int, confidence: float) -> None:
    items = one_factor(60 + 20 * seed, [0.8, 0.6, 0.5, 0.4][: 3 + seed % 2], seed)
    _, expected = pg.cronbach_alpha(items, ci=confidence)
    assert list(alpha_interval(items, confidence)) == pytest.approx(list(expected), abs=5e-4)


def test_alpha_interval_uses_the_smallest_pairwise_count() -> None:
    items = one_factor(50, [0.8, 0.7, 0.6], 9)
    items.loc[:11, "i1"] = np.nan  # 38 answer i1 with the others
    alpha = cronbach_alpha(items)
    n, k = 38, 3
    low = 1 - (1 - alpha) * stats.f.isf(0.025, n - 1, (n - 1) * (k - 1))
    high = 1 - (1 - alpha) * stats.f.isf(0.975, n - 1, (n - 1) * (k - 1))
    assert alpha_interval(items) == (pytest.approx(low), pytest.approx(high))
    assert all(np.isnan(alpha_interval(items[["i0"]])))


@pytest.mark.parametrize(
    ("loadings", "seed"), [([0.8, 0.7, 0.6, 0.5, 0.4], 0), ([0.7, 0.7, 0.6, 0.6], 1)]
)
def test_omega_total_matches_sklearn_factor_analysis(loadings: list[float], seed: int) -> None:
    from sklearn.decomposition import FactorAnalysis

    items = one_factor(800, loadings, seed)
    z = (items - items.mean()) / items.std(ddof=1)
    fa = FactorAnalysis(n_components=1, tol=1e-12, max_iter=20_000).fit(z.to_numpy())
    lam, psi = np.abs(fa.components_[0]), fa.noise_variance_
    expected = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
    assert omega_total(items) == pytest.approx(expected, abs=1e-6)


def test_omega_total_of_three_items_is_the_closed_form() -> None:
    items = one_factor(400, [0.8, 0.6, 0.5], 3)
    r = items.corr().to_numpy()
    lam = np.sqrt(
        [r[0, 1] * r[0, 2] / r[1, 2], r[0, 1] * r[1, 2] / r[0, 2], r[0, 2] * r[1, 2] / r[0, 1]]
    )
    expected = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    assert omega_total(items) == pytest.approx(expected, abs=1e-8)
    assert np.isnan(omega_total(items[["i0", "i1"]]))
