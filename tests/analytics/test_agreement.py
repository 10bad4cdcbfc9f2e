"""analytics.agreement against values computed outside the project (R psych, pingouin)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analytics.agreement import icc, null_variance, rwg, rwg_j

# Shrout & Fleiss (1979), Table 2: six targets (rows) rated by four judges (columns).
SHROUT_FLEISS = pd.DataFrame(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    columns=["j1", "j2", "j3", "j4"],
)


def test_shrout_fleiss_example_matches_psych_documentation() -> None:
    # R psych::ICC(sf) prints, for this table (its help page):
    #   ICC1 .17 [-0.13, 0.72], ICC2 .29 [0.019, 0.76], ICC3 .71,
    #   ICC1k .44 [-0.88, 0.91], ICC2k .62 [0.071, 0.93], ICC3k .91.
    result = icc(SHROUT_FLEISS)
    assert (result.n_targets, result.n_raters) == (6, 4)
    assert round(result.icc1.value, 2) == 0.17
    assert round(result.icc2.value, 2) == 0.29
    assert round(result.icc1k.value, 2) == 0.44
    assert round(result.icc2k.value, 2) == 0.62
    assert (round(result.icc1.ci_low, 2), round(result.icc1.ci_high, 2)) == (-0.13, 0.72)
    assert (round(result.icc2.ci_low, 3), round(result.icc2.ci_high, 2)) == (0.019, 0.76)
    assert (round(result.icc1k.ci_low, 2), round(result.icc1k.ci_high, 2)) == (-0.88, 0.91)
    assert (round(result.icc2k.ci_low, 3), round(result.icc2k.ci_high, 2)) == (0.071, 0.93)


def _pingouin(table: pd.DataFrame) -> pd.DataFrame:
    long = (
        table.rename_axis("target")
        .reset_index()
        .melt(id_vars="target", var_name="rater", value_name="rating")
    )
    out = pg.intraclass_corr(long, targets="target", raters="rater", ratings="rating")
    return out.set_index("Type")


def test_shrout_fleiss_rows_of_pingouin() -> None:
    # pingouin names them ICC(1,1), ICC(A,1), ICC(1,k), ICC(A,k): psych's ICC1, ICC2,
    # ICC1k, ICC2k. Its consistency rows ICC(C,1) / ICC(C,k) are psych's ICC3 (.71) and
    # ICC3k (.91), which we do not report.
    expected = _pingouin(SHROUT_FLEISS)
    assert round(expected.at["ICC(C,1)", "ICC"], 2) == 0.71
    assert round(expected.at["ICC(C,k)", "ICC"], 2) == 0.91
    _assert_matches(icc(SHROUT_FLEISS), expected)


def _assert_matches(result, expected: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    for ours, row in (
        (result.icc1, "ICC(1,1)"),
        (result.icc2, "ICC(A,1)"),
        (result.icc1k, "ICC(1,k)"),
        (result.icc2k, "ICC(A,k)"),
    ):
        assert ours.value == pytest.approx(expected.at[row, "ICC"], abs=1e-10), row
        # pingouin rounds its intervals to two decimals.
        low, high = expected.at[row, "CI95"]
        assert ours.ci_low == pytest.approx(low, abs=0.005 + 1e-9), row
        assert ours.ci_high == pytest.approx(high, abs=0.005 + 1e-9), row


@pytest.mark.parametrize(
    ("targets", "raters", "seed"),
    [(20, 5, 0), (20, 8, 1), (12, 6, 2), (30, 12, 3), (8, 3, 4), (5, 2, 5)],
)
def test_icc_matches_pingouin_on_random_likert_tables(targets: int, raters: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(targets, 1))
    leniency = rng.normal(scale=0.4, size=(1, raters))
    raw = 3 + truth + leniency + rng.normal(scale=0.8, size=(targets, raters))
    table = pd.DataFrame(np.clip(np.rint(raw), 1, 5), columns=[f"r{j}" for j in range(raters)])
    _assert_matches(icc(table), _pingouin(table))


def test_icc_drops_targets_with_a_missing_rating() -> None:
    table = SHROUT_FLEISS.astype(float)
    table.iloc[2, 1] = np.nan
    result = icc(table)
    assert result.n_targets == 5
    _assert_matches(result, _pingouin(SHROUT_FLEISS.drop(index=2)))


def test_icc_refuses_tables_it_cannot_estimate() -> None:
    with pytest.raises(ValueError, match="at least 2 complete targets and 2 raters"):
        icc(SHROUT_FLEISS[["j1"]])
    with pytest.raises(ValueError, match="every rating is the same"):
        icc(pd.DataFrame(np.full((4, 3), 3.0)))


def test_null_variance_of_uniform_answers() -> None:
    # (A^2 - 1) / 12: 5 points -> 24/12 = 2; 7 points -> 48/12 = 4.
    assert null_variance(5) == 2.0
    assert null_variance(7) == 4.0
    points = np.arange(1, 6)
    assert null_variance(5) == pytest.approx(points.var())  # population variance of 1..5


def test_rwg_worked_example() -> None:
    # Ratings 2, 3, 3, 4 on 1-5: mean 3, squared deviations 1, 0, 0, 1, s^2 = 2/3;
    # rwg = 1 - (2/3) / 2 = 2/3.
    assert rwg([2, 3, 3, 4], 5) == pytest.approx(2 / 3)
    # Same answers on a 7-point scale: null variance 4, rwg = 1 - (2/3)/4 = 5/6.
    assert rwg([2, 3, 3, 4], 7) == pytest.approx(5 / 6)
    # Missing answers are left out: variance of 2, 3, 3, 4 again.
    assert rwg([2, np.nan, 3, 3, 4], 5) == pytest.approx(2 / 3)


def test_rwg_j_worked_example() -> None:
    # Four raters, three items on 1-5.
    # item 1: 4, 4, 5, 3 -> mean 4, deviations^2 0, 0, 1, 1 -> s^2 = 2/3
    # item 2: 4, 5, 5, 4 -> mean 4.5, deviations^2 .25 x 4 -> s^2 = 1/3
    # item 3: 3, 4, 4, 5 -> mean 4, deviations^2 1, 0, 0, 1 -> s^2 = 2/3
    # mean item variance 5/9; v = (5/9) / 2 = 5/18
    # rwg(j) = 3 (1 - 5/18) / (3 (1 - 5/18) + 5/18) = (39/18) / (44/18) = 39/44
    ratings = [[4, 4, 3], [4, 5, 4], [5, 5, 4], [3, 4, 5]]
    assert rwg_j(ratings, 5) == pytest.approx(39 / 44)
    # With one item rwg(j) is rwg.
    assert rwg_j([[2], [3], [3], [4]], 5) == pytest.approx(rwg([2, 3, 3, 4], 5))


def test_truncation_when_observed_variance_exceeds_the_null() -> None:
    # Bimodal answers: 1, 1, 5, 5 has s^2 = 16/3 > 2 -> both indices are 0, not negative.
    assert rwg([1, 1, 5, 5], 5) == 0.0
    assert rwg_j([[1, 5], [1, 1], [5, 5], [5, 1]], 5) == 0.0
    # Exactly the null variance also gives 0 (the formula would give 0 for rwg and
    # 0 / (0 + 1) for rwg(j) too).
    assert rwg_j([[1, 1], [3, 3], [5, 5], [3, 3]], 5) == pytest.approx(0.0)  # s^2 = 8/3 > 2


def test_too_few_answers_give_nan() -> None:
    assert math.isnan(rwg([4], 5))
    assert math.isnan(rwg_j([[4, 4], [np.nan, 3]], 5))
    with pytest.raises(ValueError, match="raters x items"):
        rwg_j([1, 2, 3], 5)


likert = st.integers(min_value=1, max_value=5)


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 6)), elements=likert),
    st.randoms(use_true_random=False),
)
def test_rwg_j_bounds_and_rater_permutation(table: np.ndarray, random) -> None:  # type: ignore[no-untyped-def]
    value = rwg_j(table, 5)
    assert 0.0 <= value <= 1.0
    order = list(range(table.shape[0]))
    random.shuffle(order)
    assert rwg_j(table[order], 5) == pytest.approx(value)
    for column in table.T:
        assert 0.0 <= rwg(column, 5) <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 15), st.integers(1, 6), likert)
def test_perfect_agreement_gives_one(raters: int, items: int, answer: int) -> None:
    table = np.full((raters, items), float(answer))
    assert rwg_j(table, 5) == 1.0
    assert rwg(table[:, 0], 5) == 1.0


@settings(max_examples=80, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(3, 10), st.integers(2, 8)), elements=likert),
    st.randoms(use_true_random=False),
)
def test_icc_invariant_under_rater_and_target_permutation(table: np.ndarray, random) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(table)
    try:
        base = icc(frame)
    except ValueError:
        # No variance, or every item has the same mean: nothing to estimate.
        assert np.ptp(table.mean(axis=1)) < 1e-9
        return
    rows, cols = list(range(table.shape[0])), list(range(table.shape[1]))
    random.shuffle(rows)
    random.shuffle(cols)
    moved = icc(frame.iloc[rows, cols])
    for name in ("icc1", "icc2", "icc1k", "icc2k"):
        a, b = getattr(base, name), getattr(moved, name)
        for x, y in ((a.value, b.value), (a.ci_low, b.ci_low), (a.ci_high, b.ci_high)):
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-9)
    # The single-rater ICCs and the one-way ICC(1,k) are at most 1 (their denominators
    # exceed their numerators); the one-way intervals are monotone maps of F's interval
    # and contain the estimate. ICC(A,k) has no such bound: with MSC < MSE its
    # denominator can approach 0 (psych and pingouin give the same values).
    for estimate in (base.icc1, base.icc2, base.icc1k):
        assert estimate.value <= 1 + 1e-9
    for estimate in (base.icc1, base.icc1k):
        if all(math.isfinite(x) for x in (estimate.value, estimate.ci_low, estimate.ci_high)):
            assert estimate.ci_low - 1e-9 <= estimate.value <= estimate.ci_high + 1e-9
