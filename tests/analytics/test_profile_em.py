"""The EM engine's internals: feature-matrix E/M steps, k-means starts, BLAS limits."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_info

import analytics.profile_em as em
from analytics.profile_em import MixtureData, MixtureFit, blas_single_thread, fit_mixture


def mixture(cov_type: str, k: int = 3, d: int = 4, seed: int = 0) -> MixtureFit:
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(0, 2, (k, d))
    if cov_type == "diag":
        covariances = rng.uniform(0.05, 2.0, (k, d))
    else:
        a = rng.normal(0, 1, (k, d, d))
        covariances = a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(d)
    return MixtureFit(cov_type, weights, means, covariances, np.nan, 0, True)


@pytest.mark.parametrize("cov_type", ["diag", "full"])
def test_e_step_matches_sklearn_including_rows_far_from_every_component(cov_type: str) -> None:
    fit = mixture(cov_type)
    rng = np.random.default_rng(1)
    X = rng.normal(0, 2, (500, 4))
    X[:5] *= 1e3  # every density term underflows there: those rows take the exact path
    resp, log_lik = fit.resp(X)
    gmm = fit.to_sklearn()
    np.testing.assert_allclose(resp, gmm.predict_proba(X), atol=1e-9)
    assert log_lik == pytest.approx(gmm.score_samples(X).sum(), rel=1e-10)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)


@pytest.mark.parametrize("cov_type", ["diag", "full"])
def test_m_step_matches_weighted_moments(cov_type: str) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, (400, 3))
    resp = rng.dirichlet(np.ones(4), size=400).T  # (k, n)
    weights, means, covariances = em._m_step(MixtureData(X), resp, cov_type, 1e-6)
    nk = resp.sum(axis=1)
    np.testing.assert_allclose(weights, nk / 400)
    np.testing.assert_allclose(means, (resp @ X) / nk[:, None])
    for j in range(4):
        centred = X - means[j]
        cov = (resp[j, :, None] * centred).T @ centred / nk[j] + 1e-6 * np.eye(3)
        expected = np.diag(cov) if cov_type == "diag" else cov
        np.testing.assert_allclose(covariances[j], expected, atol=1e-10)


def test_shared_mixture_data_gives_the_same_fit() -> None:
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(-2, 1, (300, 3)), rng.normal(2, 1, (300, 3))])
    data = MixtureData(X)
    for cov_type in ("diag", "full"):
        a = fit_mixture(X, 2, cov_type, n_init=3, subsample_size=200, random_state=5)
        b = fit_mixture(data, 2, cov_type, n_init=3, subsample_size=200, random_state=5)
        assert a.log_likelihood == b.log_likelihood
        np.testing.assert_array_equal(a.means, b.means)
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(data))


def test_kmeans_starts_are_one_hot_even_with_ties() -> None:
    # Points at -1, 0 and 1: with centres at -1 and 1, the points at 0 are tied.
    X = np.repeat(np.array([[-1.0], [0.0], [1.0]]), 20, axis=0)
    for seed in range(10):
        resp = em._kmeans_resp(MixtureData(X), 2, np.random.RandomState(seed))
        assert set(np.unique(resp)) <= {0.0, 1.0}
        np.testing.assert_array_equal(resp.sum(axis=0), 1.0)


def test_kmeans_plusplus_picks_distinct_rows() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(0, 1, (200, 3))
    centres = em._kmeans_plusplus(MixtureData(X), 6, np.random.RandomState(0))
    rows = {tuple(np.round(c, 12)) for c in centres}
    assert len(rows) == 6
    assert all(any(np.allclose(c, x) for x in X) for c in centres)


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_limit_is_set_once_and_restored_by_the_outermost_context() -> None:
    before = _blas_threads()
    with blas_single_thread():
        assert all(n == 1 for n in _blas_threads())
        with blas_single_thread():
            assert em._blas_depth == 2
        assert all(n == 1 for n in _blas_threads())  # the inner exit restored nothing
    assert em._blas_depth == 0
    assert _blas_threads() == before


def test_fit_is_at_least_as_good_as_sklearn_on_overlapping_profiles() -> None:
    rng = np.random.default_rng(6)
    centres = rng.normal(0, 0.8, (6, 5))
    Z = centres[rng.integers(0, 6, 4000)] + rng.normal(0, 0.6, (4000, 5))
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    for cov_type in ("diag", "full"):
        ours = fit_mixture(Z, 6, cov_type, n_init=10, subsample_size=1000, random_state=0)
        sk = GaussianMixture(6, covariance_type=cov_type, random_state=0).fit(Z)
        assert ours.log_likelihood >= sk.score(Z) * len(Z) - 0.5


# ------------------------------------------------------------------ split starts, nesting
@pytest.mark.parametrize("cov_type", ["diag", "full"])
def test_split_starts_keep_the_split_components_moments(cov_type: str) -> None:
    fit = mixture(cov_type, k=3, d=4, seed=7)
    starts = em.split_starts(fit)
    assert len(starts) == 3
    for j, (weights, means, covs) in enumerate(starts):
        assert weights.shape == (4,) and means.shape == (4, 4) and len(covs) == 4
        assert weights.sum() == pytest.approx(1.0)
        others = [i for i in range(3) if i != j]
        np.testing.assert_array_equal(means[others], fit.means[others])
        # The pair j, 3 has the weight, mean and (total) covariance of component j.
        pair_w = weights[[j, 3]]
        assert pair_w.sum() == pytest.approx(fit.weights[j])
        pair_mean = (pair_w[:, None] * means[[j, 3]]).sum(axis=0) / pair_w.sum()
        np.testing.assert_allclose(pair_mean, fit.means[j])
        full = [np.diag(c) if cov_type == "diag" else c for c in covs[[j, 3]]]
        spread = [np.outer(m - pair_mean, m - pair_mean) for m in means[[j, 3]]]
        total = sum(w * (c + s) for w, c, s in zip(pair_w, full, spread, strict=True))
        expected = np.diag(fit.covariances[j]) if cov_type == "diag" else fit.covariances[j]
        np.testing.assert_allclose(total / pair_w.sum(), expected, atol=1e-12)
        em._precision_cholesky(covs, cov_type)  # still positive definite


def test_given_starts_never_make_a_fit_worse() -> None:
    rng = np.random.default_rng(8)
    centres = rng.normal(0, 1.0, (5, 4))
    Z = centres[rng.integers(0, 5, 3000)] + rng.normal(0, 0.6, (3000, 4))
    data = MixtureData((Z - Z.mean(axis=0)) / Z.std(axis=0))
    smaller = fit_mixture(data, 4, "diag", n_init=3, random_state=1)
    plain = fit_mixture(data, 5, "diag", n_init=3, random_state=2)
    seeded = fit_mixture(
        data, 5, "diag", n_init=3, random_state=2, init_params=em.split_starts(smaller)
    )
    assert seeded.log_likelihood >= plain.log_likelihood - 1e-6
    with pytest.raises(ValueError, match="init_params"):
        fit_mixture(data, 3, "diag", init_params=em.split_starts(smaller))


def test_refine_mixture_from_a_diag_fit_reaches_at_least_its_likelihood() -> None:
    rng = np.random.default_rng(9)
    a = rng.normal(0, 1, (500, 3))
    Z = np.vstack([a, a @ np.array([[1.0, 0.8, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) + 3])
    diag = fit_mixture(Z, 2, "diag", n_init=2, random_state=0)
    full = em.refine_mixture(Z, (diag.weights, diag.means, diag.covariances), "full")
    assert full.covariances.shape == (2, 3, 3)
    assert full.log_likelihood >= diag.log_likelihood
    assert full.to_sklearn().score(Z) * len(Z) == pytest.approx(full.log_likelihood)


def test_infer_resolution() -> None:
    fifths = np.arange(5, 26) / 5  # means of five answers on 1..5
    quarters = np.arange(4, 21) / 4
    mixed = np.r_[fifths, quarters]  # four or five answers
    sevens = np.arange(3, 22) / 3  # means of three answers on 1..7
    columns = [fifths, quarters, mixed, sevens]
    steps = em.infer_resolution(np.column_stack([np.resize(c, 40) for c in columns]))
    np.testing.assert_allclose(steps, [0.2, 0.25, 0.25, 1 / 3])
    # Not on a grid of 1/m (shifted scores): the smallest gap, as before.
    shifted = fifths + 0.013
    np.testing.assert_allclose(em.infer_resolution(shifted[:, None]), [0.2])
    # One value, or NaN only: no resolution.
    assert np.isnan(em.infer_resolution(np.array([[3.0, np.nan], [3.0, np.nan]]))).all()
