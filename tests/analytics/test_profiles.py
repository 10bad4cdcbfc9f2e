"""Latent profile analysis: model selection, fit table, prediction, names, EM engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from joblib import parallel_config
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from analytics.profile_candidates import select_candidate
from analytics.profile_em import fit_mixture, infer_resolution, n_parameters, resolution_reg_covar
from analytics.profile_names import name_profiles
from analytics.profiles import FIT_TABLE_COLUMNS, ProfileModel, score_resolution
from analytics.scoring import score_dimensions
from analytics.synthetic import simulate_responses

DIMS = ["trust", "time_pressure", "fixed_pie", "misalignment", "power"]


def separated(k: int, n: int = 600, seed: int = 0, sd: float = 0.5):
    """``k`` Gaussian clusters in 5 dims, centres 3 units apart on different axes."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((k, 5))
    for j in range(1, k):
        centres[j, j - 1] = 3.0
    truth = np.repeat(np.arange(k), n // k)
    X = centres[truth] + rng.normal(0.0, sd, (len(truth), 5))
    return pd.DataFrame(X * 0.6 + 3.0, columns=DIMS), truth


def unstructured(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cov = 0.3 * np.eye(5) + 0.2
    return pd.DataFrame(rng.multivariate_normal(np.full(5, 3.0), cov, n), columns=DIMS)


def small_model(**kwargs) -> ProfileModel:
    params = {"k_range": (1, 3), "covariance_types": ("diag",), "n_init": 2, "random_state": 0}
    params.update(kwargs)
    return ProfileModel(**params)


# ------------------------------------------------------------------ quality bars
@pytest.mark.parametrize("k", [3, 4])
def test_recovers_separated_profiles(k: int) -> None:
    X, truth = separated(k, seed=k)
    model = ProfileModel(k_range=(1, 6), n_init=5, random_state=0).fit(X)
    assert model.k_ == k
    assert adjusted_rand_score(truth, model.labels_.cat.codes) >= 0.9


def test_no_structure_selects_one_profile() -> None:
    model = ProfileModel(k_range=(1, 5), n_init=5, random_state=0).fit(unstructured())
    assert model.k_ == 1
    assert model.names_ == ["All respondents"]
    assert model.sizes_.tolist() == [600]
    assert any("no profile structure" in w for w in model.warnings_)


def generated_scores(instrument, n: int, seed: int, *, blockers_only: bool, **kwargs):
    """Scores of simulated answers from the project's generator (4 true profiles)."""
    sim = simulate_responses(instrument, n_respondents=n, teams=20, random_state=seed, **kwargs)
    scores = score_dimensions(sim.data, instrument)
    if blockers_only:
        scores = scores[[dim.id for dim in instrument.blocker_dimensions]]
    return scores, sim.truth.astype(str).to_numpy()


def test_recovers_the_generators_four_profiles_despite_clipping(default_instrument) -> None:
    # Answers clipped to 1..5 and rounded; all eleven scores (the 2-item practice
    # scales are the most clipped).
    X, truth = generated_scores(default_instrument, 4000, seed=1, blockers_only=False)
    model = ProfileModel(k_range=(1, 6), covariance_types=("diag",), n_init=3, random_state=0)
    model.fit(X)
    assert model.k_ == 4
    assert adjusted_rand_score(truth, model.labels_.astype(str)) >= 0.9


def test_icl_does_not_split_skewed_profiles_where_bic_does(default_instrument) -> None:
    # The five blocker scores at 20k respondents: clipping skews each profile and BIC
    # adds components to fit the skew (over-extraction); ICL keeps the four.
    X, truth = generated_scores(default_instrument, 20_000, seed=2, blockers_only=True)
    model = ProfileModel(k_range=(1, 6), covariance_types=("diag",), n_init=3, random_state=0)
    model.fit(X)
    assert model.k_ == 4
    by_bic = model.fit_table_.loc[select_candidate(model.fit_table_, "bic")[0], "k"]
    assert by_bic > 4
    # As good as a classifier trained on the true profiles can be from these scores.
    bound = adjusted_rand_score(truth, QuadraticDiscriminantAnalysis().fit(X, truth).predict(X))
    assert adjusted_rand_score(truth, model.labels_.astype(str)) >= bound - 0.01
    # The same data without clipping: BIC too finds four profiles.
    unclipped, _ = generated_scores(
        default_instrument, 20_000, seed=2, blockers_only=True, clip=False
    )
    bic = ProfileModel(
        k_range=(1, 6), covariance_types=("diag",), n_init=3, criterion="bic", random_state=0
    )
    assert bic.fit(unclipped).k_ == 4


def test_icl_against_an_independent_computation() -> None:
    # Overlapping profiles, so that the entropy term matters.
    X, _ = separated(3, n=600, seed=3, sd=1.0)
    model = small_model(k_range=3, covariance_types=("full",)).fit(X)
    row = model.fit_table_.iloc[0]
    Z = model.scaler_.transform(X.to_numpy())
    # sklearn's own BIC and posteriors of the same fit (model.gmm_), on the standardized
    # scale; the Jacobian moves the log-likelihood to the raw scores (BIC + 2 n sum log s).
    proba = model.gmm_.predict_proba(Z)
    en = float(-np.sum(proba * np.log(np.clip(proba, 1e-300, None))))
    bic = model.gmm_.bic(Z) + 2 * len(Z) * np.sum(np.log(model.scaler_.scale_))
    assert row["bic"] == pytest.approx(bic, rel=1e-9)
    # Lower is better: ICL = BIC + 2 EN >= BIC (EN = sum -p ln p >= 0).
    assert en > 10
    assert row["icl"] == pytest.approx(bic + 2 * en, rel=1e-9)


def test_log_likelihood_is_monotone_in_k_where_independent_starts_were_not(
    default_instrument,
) -> None:
    X, _ = generated_scores(default_instrument, 3000, seed=3, blockers_only=True)
    model = ProfileModel(k_range=(1, 8), covariance_types=("diag",), random_state=0).fit(X)
    ll = model.fit_table_["log_likelihood"].to_numpy()
    assert (np.diff(ll) >= 0).all()
    # The k-means++ starts alone (the old strategy), with the same seeds: k=7 ended
    # below k=6 (a local optimum), which split starts from the k=6 solution avoid.
    seeds = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=8)
    Z = model.scaler_.transform(X.to_numpy())
    jacobian = len(Z) * np.sum(np.log(model.scaler_.scale_))
    plain = fit_mixture(Z, 7, "diag", random_state=seeds[6], reg_covar=model.reg_covar_)
    assert plain.log_likelihood - jacobian < ll[5] < ll[6]


def test_blrt_column() -> None:
    X, _ = separated(3, n=300)
    model = small_model(k_range=(1, 3), blrt_boot=9).fit(X)
    p = model.fit_table_["blrt_p"]
    assert np.isnan(p.iloc[0])  # no k - 1 for k = 1
    np.testing.assert_allclose(p.iloc[1:], 0.1)  # (1 + 0) / (9 + 1): real extra profiles


def test_discrete_likert_means_do_not_create_spike_profiles() -> None:
    # Item responses 1..5 averaged over 5 items: scores on a 0.2 grid, clipped at 1 and 5.
    rng = np.random.default_rng(2)
    centres = np.array([[2.2, 2.5, 3, 3, 3], [3.8, 3, 2.5, 3.5, 2.5], [3, 3.8, 3.8, 2.2, 3.5]])
    truth = rng.integers(0, 3, 300)
    latent = centres[truth] + rng.normal(0, 0.35, (300, 5))
    items = latent[:, :, None] + rng.normal(0, 0.8, (300, 5, 5))
    X = pd.DataFrame(np.clip(np.round(items), 1, 5).mean(axis=2), columns=DIMS)
    model = ProfileModel(random_state=2).fit(X)
    assert model.k_ == 3
    assert model.sizes_.min() >= 60  # no spike classes
    assert adjusted_rand_score(truth, model.labels_.cat.codes) >= 0.7


# ------------------------------------------------------------------ fit table
def test_fit_table_has_a_row_per_candidate_with_tidylpa_indices() -> None:
    X, _ = separated(3)
    model = ProfileModel(k_range=(1, 3), n_init=2, random_state=0).fit(X)
    table = model.fit_table_
    assert list(table.columns) == list(FIT_TABLE_COLUMNS)
    expected = [(k, c) for c in ("diag", "full") for k in (1, 2, 3)]
    assert list(zip(table["k"], table["covariance_type"], strict=True)) == expected
    # Free parameters: means + variances (or covariance triangles) + k - 1 weights.
    assert table["n_parameters"].tolist() == [10, 21, 32, 20, 41, 62]
    n = 600
    ll, p = table["log_likelihood"], table["n_parameters"]
    np.testing.assert_allclose(table["aic"], -2 * ll + 2 * p)
    np.testing.assert_allclose(table["bic"], -2 * ll + p * np.log(n))
    np.testing.assert_allclose(table["sabic"], -2 * ll + p * np.log((n + 2) / 24))
    assert (table.loc[table["k"] == 1, "entropy"] == 1.0).all()
    assert table["entropy"].between(0, 1).all()
    assert (table["smallest_share"] <= table["largest_share"]).all()
    # ICL = BIC + 2 EN, EN = (1 - relative entropy) n ln k: never below BIC.
    en = (1 - table["entropy"]) * n * np.log(table["k"])
    np.testing.assert_allclose(table["icl"], table["bic"] + 2 * en, rtol=1e-9)
    assert table["blrt_p"].isna().all()  # blrt_boot=0
    assert table["selected"].sum() == 1
    ok = table[~table["rejected"]]
    chosen = table[table["selected"]].iloc[0]
    assert chosen["icl"] == ok["icl"].min()
    assert (chosen["k"], chosen["covariance_type"]) == (model.k_, model.covariance_type_)
    # Nested candidates: log-likelihood never decreases with k, nor from diag to full.
    ll = table.set_index(["covariance_type", "k"])["log_likelihood"]
    assert (np.diff(ll.loc["diag"]) >= 0).all() and (np.diff(ll.loc["full"]) >= 0).all()
    assert (ll.loc["full"] >= ll.loc["diag"]).all()


def test_log_likelihood_is_on_the_original_score_scale() -> None:
    X, _ = separated(2, n=300)
    model = small_model(k_range=2, covariance_types=("full",)).fit(X)
    scale = model.scaler_.scale_
    covs = model.mixture_.covariances * np.outer(scale, scale)
    density = sum(
        w * multivariate_normal(mean, cov).pdf(X.to_numpy())
        for w, mean, cov in zip(
            model.mixture_.weights, model.centroids_.to_numpy(), covs, strict=True
        )
    )
    expected = np.log(density).sum()
    assert model.fit_table_.loc[0, "log_likelihood"] == pytest.approx(expected, rel=1e-9)


def test_small_classes_are_rejected() -> None:
    rng = np.random.default_rng(5)
    big = rng.normal(0, 0.5, (580, 5))
    big[290:, 0] += 4.0
    tiny = rng.normal(0, 0.5, (18, 5)) + np.array([0, 6.0, 0, 0, 0])  # 3% of respondents
    X = pd.DataFrame(np.vstack([big, tiny]), columns=DIMS)
    model = small_model(k_range=(1, 4), n_init=5).fit(X)
    three = model.fit_table_.set_index("k").loc[3]
    assert three["smallest_share"] == pytest.approx(18 / 598, abs=0.005)
    assert three["rejected"]
    assert "rejected" in three["warning"]
    assert model.k_ == 2
    # The same class is accepted, with a warning, when the threshold allows it.
    lenient = small_model(k_range=(1, 4), n_init=5, min_class_share=0.01).fit(X)
    assert lenient.k_ == 3
    assert any("smallest class" in w for w in lenient.warnings_)


# ------------------------------------------------------------------ prediction
def test_rows_with_missing_scores_are_unassigned() -> None:
    X, _ = separated(3)
    X.iloc[[0, 10, 500], [1, 3, 0]] = np.nan
    model = small_model().fit(X)
    assert (model.n_complete_, model.n_unassigned_) == (597, 3)
    labels = model.predict(X)
    assert labels.index.equals(X.index)
    assert labels.isna().tolist() == X.isna().any(axis=1).tolist()
    proba = model.predict_proba(X)
    assert list(proba.columns) == model.names_
    assert proba.loc[[0, 10, 500]].isna().all().all()
    np.testing.assert_allclose(proba.dropna().sum(axis=1), 1.0)
    assert model.sizes_.sum() == 597
    assert any("3 respondents" in w for w in model.warnings_)


def test_predict_uses_column_names_not_positions() -> None:
    X, _ = separated(3)
    model = small_model().fit(X)
    shuffled = X[DIMS[::-1]].assign(extra=1.0)
    pd.testing.assert_series_equal(model.predict(shuffled), model.predict(X))
    with pytest.raises(KeyError):
        model.predict(X.drop(columns="trust"))


def test_profiles_are_ordered_by_size_and_centroids_are_consistent() -> None:
    rng = np.random.default_rng(1)
    sizes = [300, 200, 100]
    X = pd.DataFrame(
        np.vstack([rng.normal(3 * j, 0.5, (s, 5)) for j, s in enumerate(sizes)]), columns=DIMS
    )
    model = small_model().fit(X)
    assert model.sizes_.tolist() == sizes
    assert model.labels_.value_counts().loc[model.names_].tolist() == sizes
    # Original-scale centroids are close to the class means of the assigned rows.
    means = X.groupby(model.labels_, observed=True).mean().loc[model.names_]
    np.testing.assert_allclose(model.centroids_, means, atol=0.02)
    np.testing.assert_allclose(
        model.centroids_z_, (model.centroids_ - X.mean()) / X.std(ddof=0), atol=1e-9
    )
    # gmm_ is an equivalent fitted scikit-learn estimator in the same component order.
    Z = model.scaler_.transform(X.to_numpy())
    np.testing.assert_allclose(model.gmm_.predict_proba(Z), model.predict_proba(X), atol=1e-10)


def test_reproducible_for_a_random_state() -> None:
    X, _ = separated(3)
    a = ProfileModel(k_range=(1, 4), n_init=3, random_state=7).fit(X)
    b = ProfileModel(k_range=(1, 4), n_init=3, random_state=7).fit(X)
    assert (a.k_, a.covariance_type_, a.names_) == (b.k_, b.covariance_type_, b.names_)
    pd.testing.assert_series_equal(a.labels_, b.labels_)
    pd.testing.assert_frame_equal(a.fit_table_, b.fit_table_)


def test_parallel_fit_gives_the_same_result() -> None:
    X, _ = separated(3, n=300)
    a = small_model(k_range=(1, 3), covariance_types=("diag", "full")).fit(X)
    with parallel_config(backend="threading"):  # seeds are drawn before dispatch
        b = small_model(k_range=(1, 3), covariance_types=("diag", "full"), n_jobs=2).fit(X)
    pd.testing.assert_frame_equal(a.fit_table_, b.fit_table_)
    assert a.names_ == b.names_


def test_kmeans_baseline() -> None:
    X, truth = separated(3)
    model = ProfileModel(k_range=(1, 5), method="kmeans", n_init=3, random_state=0).fit(X)
    table = model.fit_table_
    assert table["k"].tolist() == [2, 3, 4, 5]  # silhouette needs k >= 2
    assert (table["covariance_type"] == "kmeans").all()
    assert table["silhouette"].between(-1, 1).all()
    assert model.k_ == 3
    assert model.gmm_ is None
    assert adjusted_rand_score(truth, model.labels_.cat.codes) >= 0.9
    proba = model.predict_proba(X)
    assert set(np.unique(proba.to_numpy())) == {0.0, 1.0}
    assert any("silhouette" in w for w in model.warnings_)
    with pytest.raises(ValueError, match="k >= 2"):
        ProfileModel(k_range=1, method="kmeans").fit(X)


def test_invalid_parameters() -> None:
    X, _ = separated(2, n=100)
    with pytest.raises(ValueError, match="method"):
        ProfileModel(method="lca").fit(X)
    with pytest.raises(ValueError, match="criterion"):
        ProfileModel(criterion="entropy").fit(X)
    with pytest.raises(KeyError, match="resolution"):
        ProfileModel(k_range=1).fit(X, resolution={"trust": 0.2})
    with pytest.raises(ValueError, match="covariance_types"):
        ProfileModel(covariance_types=("tied",)).fit(X)
    with pytest.raises(ValueError, match="k_range"):
        ProfileModel(k_range=[0]).fit(X)


def test_more_profiles_than_rows_are_skipped() -> None:
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(4, 2)), columns=["trust", "power"])
    model = ProfileModel(k_range=(1, 6), covariance_types=("diag",), n_init=2, random_state=0)
    model.fit(X)
    assert model.fit_table_["k"].tolist() == [1, 2, 3, 4]
    assert any("skipped" in w for w in model.warnings_)
    with pytest.raises(ValueError, match="two respondents"):
        ProfileModel().fit(X.iloc[:1])


def test_sklearn_conventions() -> None:
    model = ProfileModel(n_init=3, random_state=1)
    assert model.get_params()["n_init"] == 3
    X, _ = separated(2, n=100)
    assert model.set_params(k_range=(1, 2)).fit(X) is model
    assert not hasattr(ProfileModel(), "k_")
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "k_")


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["gmm", "kmeans"]))
def test_predictions_are_consistent(seed: int, method: str) -> None:
    X, _ = separated(3, n=90, seed=seed)
    model = small_model(k_range=(2, 3), method=method, random_state=seed).fit(X)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.idxmax(axis=1) == model.predict(X).astype(str)).all()
    assert model.sizes_.sum() == len(X)
    assert model.sizes_.is_monotonic_decreasing
    assert len(set(model.names_)) == model.k_


# ------------------------------------------------------------------ EM engine
@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_em_is_at_least_as_good_as_sklearn_defaults(covariance_type: str) -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 1.2, (4, 4))
    Z = centres[rng.integers(0, 4, 3000)] + rng.normal(0, 0.7, (3000, 4))
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    for k in (2, 3, 4, 5):
        ours = fit_mixture(Z, k, covariance_type, n_init=10, subsample_size=1000, random_state=0)
        sk = GaussianMixture(k, covariance_type=covariance_type, random_state=0).fit(Z)
        assert ours.log_likelihood >= sk.score(Z) * len(Z) - 0.5
        # The reported log-likelihood is that of the returned parameters.
        assert ours.to_sklearn().score(Z) * len(Z) == pytest.approx(ours.log_likelihood)


def test_n_parameters_matches_sklearn() -> None:
    for cov in ("diag", "full"):
        gmm = GaussianMixture(3, covariance_type=cov).fit(np.random.default_rng(0).random((50, 4)))
        assert n_parameters(3, 4, cov) == gmm._n_parameters()


def test_resolution_reg_covar() -> None:
    X = np.array([[1.0, 0.1], [1.2, 0.35], [1.4, 0.9], [3.0, 0.3]])
    reg = resolution_reg_covar(X, np.array([2.0, 1.0]))
    np.testing.assert_allclose(reg, [(0.2 / 2) ** 2 / 12, 0.05**2 / 12])
    continuous = np.random.default_rng(0).normal(size=(1000, 1))
    assert resolution_reg_covar(continuous, np.array([1.0]))[0] == 1e-6
    # A given resolution wins; NaN means continuous.
    given = resolution_reg_covar(X, np.array([2.0, 1.0]), resolution=np.array([0.25, np.nan]))
    np.testing.assert_allclose(given, [(0.25 / 2) ** 2 / 12, 1e-6])


def test_resolution_floor_with_missing_answers(default_instrument) -> None:
    # One answer in twenty missing: scores are means of 4 or 5 answers (0.25 and 0.2
    # steps); the smallest gap between observed scores is 0.05, 16x too fine in variance.
    sim = simulate_responses(
        default_instrument, n_respondents=3000, teams=20, missing_rate=0.05, random_state=0
    )
    ids = [dim.id for dim in default_instrument.blocker_dimensions]
    X = score_dimensions(sim.data, default_instrument)[ids]
    values = np.unique(X["trust"].dropna().round(9))
    assert np.diff(values).min() == pytest.approx(0.05)
    steps = score_resolution(default_instrument, ids, sim.data)
    assert steps.to_dict() == dict.fromkeys(ids, 0.25)
    np.testing.assert_allclose(infer_resolution(X.to_numpy()), 0.25)
    # Without the answers: the fewest answers that give a score (4 of 5).
    assert score_resolution(default_instrument, ids).tolist() == [0.25] * 5

    def fit(resolution) -> ProfileModel:
        # BIC without the small-class rule, which would hide a spike.
        model = ProfileModel(
            k_range=(1, 6),
            covariance_types=("diag",),
            criterion="bic",
            min_class_share=0.0,
            random_state=0,
        )
        return model.fit(X, resolution=resolution)

    model = fit(steps)
    np.testing.assert_allclose(model.resolution_, 0.25)
    shuffled = steps.iloc[::-1].copy()  # matched by name, not position
    shuffled["power"] = 0.5
    by_name = small_model(k_range=1).fit(X, resolution=shuffled)
    assert by_name.resolution_.tolist() == [0.25, 0.25, 0.25, 0.25, 0.5]
    np.testing.assert_allclose(model.reg_covar_, (0.25 / model.scaler_.scale_) ** 2 / 12)
    assert model.k_ == 4
    # The floor of the smallest gap lets a fifth component collapse onto one score
    # value (its variance is the floor itself), a spurious gain that BIC takes.
    spiky = fit(0.05)
    assert spiky.k_ == 5 and spiky.sizes_.min() < 0.05 * len(X)
    assert np.isclose(spiky.mixture_.covariances, spiky.reg_covar_).any()
    # Without a resolution, the floor is inferred from the values alone: the same.
    inferred = small_model(k_range=1).fit(X)
    np.testing.assert_allclose(inferred.reg_covar_, model.reg_covar_)


def test_missing_answers_do_not_create_spike_profiles() -> None:
    # Means of 4 or 5 answers on 1..5 (a mixed grid), three true profiles.
    rng = np.random.default_rng(2)
    centres = np.array([[2.2, 2.5, 3, 3, 3], [3.8, 3, 2.5, 3.5, 2.5], [3, 3.8, 3.8, 2.2, 3.5]])
    truth = rng.integers(0, 3, 400)
    latent = centres[truth] + rng.normal(0, 0.35, (400, 5))
    items = np.clip(np.round(latent[:, :, None] + rng.normal(0, 0.8, (400, 5, 5))), 1, 5)
    items[:, :, 0][rng.random((400, 5)) < 0.3] = np.nan  # the first answer skipped
    X = pd.DataFrame(np.nanmean(items, axis=2), columns=DIMS)
    model = ProfileModel(k_range=(1, 5), n_init=5, random_state=2).fit(X)
    np.testing.assert_allclose(model.resolution_, 0.25)
    assert model.k_ == 3
    assert model.sizes_.min() >= 80  # no spike classes
    assert adjusted_rand_score(truth, model.labels_.cat.codes) >= 0.7


# ------------------------------------------------------------------ names
def z_frame(rows: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=DIMS)


def test_names_for_default_blockers() -> None:
    names = name_profiles(
        z_frame(
            [
                [0.0, 1.5, 0.2, 0.0, 0.0],
                [1.0, 0.0, 0.9, -0.2, 0.0],
                [-0.6, -0.5, -0.4, -0.3, -0.9],
                [0.0, 0.1, 0.0, 1.1, -0.7],
                [0.0, 0.0, 0.0, 0.0, 0.7],
                [0.8, 0.9, 1.0, 0.0, 0.0],
                [0.6, 0.7, 0.8, 0.9, 1.0],
            ]
        )
    )
    assert names == [
        "High on time pressure",
        "High on trust & fixed-pie mindset",
        "Low on all dimensions",
        "High on internal misalignment, low on power imbalance",
        "High on power imbalance",
        "High on fixed-pie mindset, time pressure & trust",
        "High on all dimensions",
    ]


def test_names_are_neutral_descriptions() -> None:
    z = z_frame([[1.2, 0.9, -0.6, 0.0, 0.0], [-1.0, -0.9, 0.6, 0.1, 0.0], [0.0] * 5])
    names = name_profiles(z)
    assert names == [
        "High on trust & time pressure, low on fixed-pie mindset",
        "High on fixed-pie mindset, low on trust & time pressure",
        "Average",
    ]
    # Words describe scores only: no judgement of the people in a profile.
    judging = ("pusher", "guarded", "collaborative", "zero-sum", "divided", "prone", "thinker")
    assert not any(word in name.lower() for name in names for word in judging)
    assert name_profiles(z.iloc[:1]) == ["All respondents"]


def test_generic_names_for_other_instruments() -> None:
    z = pd.DataFrame(
        [[1.0, 0.0, 0.6], [0.8, 1.2, 0.0], [-1, -1, -1.0], [0.1, -0.6, 0.2]],
        columns=["anchoring", "haste", "BATNA"],
    )
    names = name_profiles(z, {"anchoring": "Anchoring", "haste": "Haste"})
    assert names == [
        "High on anchoring & BATNA",
        "High on haste & anchoring",
        "Low on all dimensions",
        "Low on haste",
    ]


def test_duplicate_names_are_disambiguated_deterministically() -> None:
    z = z_frame([[0.1, 0.0, 0.0, 0.0, 0.0], [-0.1, 0.3, 0.0, 0.0, 0.0], [0.0] * 5])
    names = name_profiles(z, {"time_pressure": "Deadlines"})
    assert len(set(names)) == 3
    assert names == name_profiles(z, {"time_pressure": "Deadlines"})
    assert names[1] == "Average (higher deadlines)"


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        float,
        st.tuples(st.integers(1, 8), st.integers(1, 6)),
        elements=st.sampled_from([-1.5, -0.5, 0.0, 0.3, 0.6, 1.2]),
    ),
    st.booleans(),
)
def test_names_are_unique_and_stable(values: np.ndarray, default_ids: bool) -> None:
    ids = [*DIMS, "extra"] if default_ids else [f"d{j}" for j in range(6)]
    z = pd.DataFrame(values, columns=ids[: values.shape[1]])
    names = name_profiles(z)
    assert len(names) == len(z)
    assert len(set(names)) == len(names)
    assert all(isinstance(n, str) and n for n in names)
    assert names == name_profiles(z.copy())
