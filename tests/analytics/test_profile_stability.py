"""Bootstrap stability (Hennig's clusterboot) and the bootstrap LRT of profile solutions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.profile_stability import _jaccard_recovery, hennig_verdict
from analytics.profiles import ProfileModel, bootstrap_lrt, profile_stability

DIMS = ["trust", "time_pressure", "fixed_pie", "misalignment", "power"]


def separated(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centres = np.array([[3.0, 0, 0, 0, 0], [0, 3.0, 0, 0, 0], [0, 0, 0, 0, 0]])
    X = centres[np.arange(n) % 3] + rng.normal(0, 0.5, (n, 5))
    return pd.DataFrame(X, columns=DIMS)


def noise(n: int = 300, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).normal(size=(n, 5)), columns=DIMS)


def fitted(X: pd.DataFrame, k: int = 3, method: str = "gmm") -> ProfileModel:
    model = ProfileModel(
        k_range=k, covariance_types=("diag",), n_init=3, method=method, random_state=0
    )
    return model.fit(X)


def test_hennig_scale() -> None:
    assert [hennig_verdict(j) for j in (1.0, 0.75, 0.74, 0.6, 0.59, 0.0, np.nan)] == [
        "stable",
        "stable",
        "doubtful",
        "doubtful",
        "not to be trusted",
        "not to be trusted",
        "not to be trusted",
    ]


def test_jaccard_recovery_by_hand() -> None:
    original = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    # Cluster 0 split 3/1, cluster 1 recovered with one extra point, cluster 2 absorbed.
    boot = np.array([0, 0, 0, 1, 1, 1, 1, 1, 2, 2])
    # 0: best |{0,1,2}| / |{0,1,2,3}| = 3/4; 1: 4/5 (cluster b1 = {3,4,5,6,7}); 2: 2/2.
    np.testing.assert_allclose(_jaccard_recovery(original, boot, 3), [0.75, 0.8, 1.0])
    # Relabelling does not matter; a cluster missing from the resample is NaN.
    np.testing.assert_allclose(_jaccard_recovery(original, (boot + 1) % 3, 4)[:3], [0.75, 0.8, 1])
    assert np.isnan(_jaccard_recovery(original, boot, 4)[3])


@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=40),
    st.permutations([0, 1, 2, 3]),
)
def test_jaccard_recovery_invariants(labels: list[int], perm: list[int]) -> None:
    original = np.array(labels)
    # Identical partitions (in any labelling) are fully recovered; absent clusters are NaN.
    recovered = _jaccard_recovery(original, np.array(perm)[original], 4)
    present = np.isin(np.arange(4), original)
    np.testing.assert_allclose(recovered[present], 1.0)
    assert np.isnan(recovered[~present]).all()
    # One bootstrap cluster for everything: Jaccard = cluster share.
    lumped = _jaccard_recovery(original, np.zeros_like(original), 4)
    shares = np.bincount(original, minlength=4) / len(original)
    np.testing.assert_allclose(lumped[present], shares[present])


def test_separated_profiles_are_stable() -> None:
    X = separated()
    model = fitted(X)
    result = profile_stability(model, X, n_boot=10, random_state=0)
    assert result.n_boot == 10 and result.ari.shape == (10,)
    assert list(result.jaccard.index) == model.names_
    assert (result.jaccard >= 0.9).all()
    assert result.mean_ari >= 0.9
    assert (result.verdicts == "stable").all() and result.verdict == "stable"
    assert (result.dissolved == 0).all()
    assert result.jaccard_boot.shape == (10, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.verdict = "doubtful"  # type: ignore[misc]


def test_profiles_forced_onto_noise_are_not_trusted() -> None:
    X = noise()
    result = profile_stability(fitted(X), X, n_boot=10, random_state=0)
    assert result.mean_ari < 0.5
    assert result.verdict == "not to be trusted"
    assert (result.jaccard < 0.75).all()


def test_stability_is_reproducible_and_ignores_incomplete_rows() -> None:
    X = separated()
    model = fitted(X)
    a = profile_stability(model, X, n_boot=5, random_state=3)
    with_gaps = X.copy()
    with_gaps.iloc[[1, 2], 0] = np.nan
    b = profile_stability(fitted(with_gaps), with_gaps, n_boot=5, random_state=3)
    c = profile_stability(model, X, n_boot=5, random_state=3)
    np.testing.assert_array_equal(a.ari, c.ari)
    pd.testing.assert_series_equal(a.jaccard, c.jaccard)
    assert b.verdict == "stable"


def test_m_out_of_n_bootstrap_and_kmeans() -> None:
    X = separated(600)
    model = fitted(X, method="kmeans")
    result = profile_stability(model, X, n_boot=5, max_rows=200, random_state=0)
    assert result.verdict == "stable"


def test_bootstrap_lrt_detects_a_real_extra_profile() -> None:
    X = separated(300)
    result = bootstrap_lrt(X, 3, n_boot=9, n_init=2, random_state=0)
    assert result.k == 3 and result.covariance_type == "diag"
    assert result.lr > result.boot_lr.max()
    assert result.p_value == pytest.approx(0.1)  # (1 + 0) / (9 + 1): the smallest possible


def test_bootstrap_lrt_p_value_formula_and_null_case() -> None:
    result = bootstrap_lrt(noise(200), 2, n_boot=19, n_init=2, random_state=1)
    assert result.boot_lr.shape == (19,)
    assert (result.boot_lr >= 0).all()
    expected = (1 + np.sum(result.boot_lr >= result.lr)) / 20
    assert result.p_value == pytest.approx(expected)
    assert result.p_value > 0.05
    with pytest.raises(ValueError, match="k must be >= 2"):
        bootstrap_lrt(noise(50), 1)
