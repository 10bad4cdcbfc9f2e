"""Tests for analytics.change, checked against scipy's Welch t test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.change import dimension_change


def rounds(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    before = pd.DataFrame(
        {"trust": rng.normal(3.4, 0.6, 25), "power": rng.normal(2.5, 0.9, 25), "team": "t"}
    )
    after = pd.DataFrame(
        {"trust": rng.normal(3.0, 0.9, 18), "power": rng.normal(2.6, 0.4, 18), "team": "t"}
    )
    before.loc[[0, 3], "trust"] = np.nan
    after.loc[[1], "power"] = np.nan
    return before, after


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("confidence", [0.95, 0.90])
def test_matches_scipy_welch(seed: int, confidence: float) -> None:
    before, after = rounds(seed)
    result = dimension_change(before, after, confidence=confidence)
    assert result.index.tolist() == ["trust", "power"]
    assert list(result.columns) == [
        "mean_before",
        "mean_after",
        "change",
        "ci_low",
        "ci_high",
        "p_value",
        "n_before",
        "n_after",
    ]
    for dim in ["trust", "power"]:
        a, b = after[dim].dropna(), before[dim].dropna()
        test = stats.ttest_ind(a, b, equal_var=False)
        ci = test.confidence_interval(confidence_level=confidence)
        row = result.loc[dim]
        assert row["mean_before"] == pytest.approx(b.mean())
        assert row["mean_after"] == pytest.approx(a.mean())
        assert row["change"] == pytest.approx(a.mean() - b.mean())
        assert row["ci_low"] == pytest.approx(ci.low)
        assert row["ci_high"] == pytest.approx(ci.high)
        assert row["p_value"] == pytest.approx(test.pvalue)
        assert row["n_before"] == len(b)
        assert row["n_after"] == len(a)


def test_counts_are_integers_and_exclude_missing() -> None:
    before, after = rounds(3)
    result = dimension_change(before, after)
    assert result["n_before"].tolist() == [23, 25]
    assert result["n_after"].tolist() == [18, 17]
    assert result["n_before"].dtype == np.int64


def test_too_few_scores_give_no_interval() -> None:
    before = pd.DataFrame({"trust": [3.0, 4.0], "power": [2.0, np.nan]})
    after = pd.DataFrame({"trust": [3.5, 3.5], "power": [2.0, 3.0], "fixed_pie": [1.0, 2.0]})
    result = dimension_change(before, after)
    assert result.index.tolist() == ["trust", "power", "fixed_pie"]
    assert result.loc["trust", ["ci_low", "ci_high"]].notna().all()
    assert result.loc["power", ["ci_low", "ci_high", "p_value"]].isna().all()
    assert result.loc["power", "change"] == pytest.approx(0.5)
    assert result.loc["fixed_pie", "n_before"] == 0
    assert np.isnan(result.loc["fixed_pie", "change"])


def test_no_variance_gives_no_interval() -> None:
    result = dimension_change(pd.DataFrame({"d": [2.0, 2.0]}), pd.DataFrame({"d": [3.0, 3.0]}))
    assert result.loc["d", "change"] == 1.0
    assert np.isnan(result.loc["d", "ci_low"])


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95])
def test_confidence_must_be_a_fraction(confidence: float) -> None:
    before, after = rounds(0)
    with pytest.raises(ValueError, match="confidence"):
        dimension_change(before, after, confidence=confidence)
