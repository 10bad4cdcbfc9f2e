"""Resampling diagnostics for a latent profile solution.

* :func:`profile_stability` - Hennig's (2007) clusterwise bootstrap stability
  (as ``fpc::clusterboot`` with ``bootmethod="boot"``): refit the same model
  (same ``k`` and covariance type) on bootstrap resamples and measure how well
  each original profile is recovered.
* :func:`bootstrap_lrt` - McLachlan's (1987) parametric bootstrap likelihood
  ratio test of ``k - 1`` against ``k`` profiles (tidyLPA's / Mplus' BLRT).

Verdicts use Hennig's scale for the mean Jaccard recovery of a profile
(:func:`hennig_verdict`):

* ``"stable"`` - mean Jaccard >= 0.75: a valid, stable profile;
* ``"doubtful"`` - 0.60 <= mean Jaccard < 0.75: indicates a pattern in the
  data, but which respondents belong to it is doubtful;
* ``"not to be trusted"`` - mean Jaccard < 0.60.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from analytics.profile_em import (
    FitFailedError,
    MixtureData,
    MixtureFit,
    blas_single_thread,
    fit_mixture,
    resolution_reg_covar,
    split_starts,
)

if TYPE_CHECKING:
    from analytics.profiles import ProfileModel

STABLE = "stable"
DOUBTFUL = "doubtful"
UNTRUSTED = "not to be trusted"
DISSOLVED_JACCARD = 0.5


def hennig_verdict(jaccard: float) -> str:
    """Hennig's reading of a mean Jaccard recovery value.

    Examples
    --------
    >>> [hennig_verdict(j) for j in (0.9, 0.75, 0.7, 0.6, 0.59)]
    ['stable', 'stable', 'doubtful', 'doubtful', 'not to be trusted']
    """
    if not np.isfinite(jaccard):
        return UNTRUSTED
    if jaccard >= 0.75:
        return STABLE
    if jaccard >= 0.6:
        return DOUBTFUL
    return UNTRUSTED


@dataclass(frozen=True, eq=False)
class StabilityResult:
    """Bootstrap stability of a profile solution.

    Attributes
    ----------
    mean_ari : float
        Mean adjusted Rand index between the original and the bootstrap
        partitions of the resampled respondents.
    ari : numpy.ndarray
        One ARI per bootstrap resample (NaN if that refit failed).
    jaccard : pandas.Series
        Mean Jaccard recovery per profile (index: profile names).
    dissolved : pandas.Series
        Share of resamples in which a profile "dissolved" (Jaccard <= 0.5).
    verdicts : pandas.Series
        :func:`hennig_verdict` of ``jaccard`` per profile.
    verdict : str
        Overall verdict: that of the least stable profile.
    jaccard_boot : pandas.DataFrame
        The Jaccard values, one row per resample, one column per profile.
    n_boot : int
        Number of resamples.
    """

    mean_ari: float
    ari: np.ndarray
    jaccard: pd.Series
    dissolved: pd.Series
    verdicts: pd.Series
    verdict: str
    jaccard_boot: pd.DataFrame
    n_boot: int


def _complete_rows(model: ProfileModel, X: pd.DataFrame) -> np.ndarray:
    values = model._model_columns(X).to_numpy(dtype=float)
    return values[~np.isnan(values).any(axis=1)]


def _jaccard_recovery(original: np.ndarray, boot: np.ndarray, k: int) -> np.ndarray:
    """For each original cluster, the best Jaccard with any bootstrap cluster."""
    k_boot = int(boot.max()) + 1
    table = np.zeros((k, k_boot))
    np.add.at(table, (original, boot), 1.0)
    union = table.sum(axis=1, keepdims=True) + table.sum(axis=0, keepdims=True) - table
    with np.errstate(invalid="ignore", divide="ignore"):
        best = np.where(union > 0, table / union, 0.0).max(axis=1)
    best[table.sum(axis=1) == 0] = np.nan  # cluster absent from the resample
    return best


def _boot_labels(model: ProfileModel, raw: np.ndarray, n_init: int, seed: int) -> np.ndarray:
    scaler = StandardScaler().fit(raw)
    Z = scaler.transform(raw)
    if model.method == "kmeans":
        with threadpool_limits(limits=1):
            return KMeans(model.k_, n_init=n_init, random_state=seed).fit(Z).labels_
    # The variance floor is a resolution on the raw scale: rescale it to this resample.
    reg = model.reg_covar_ * (model.scaler_.scale_ / scaler.scale_) ** 2
    data = MixtureData(Z)
    fit = fit_mixture(
        data,
        model.k_,
        model.covariance_type_,
        n_init=n_init,
        max_iter=model.max_iter,
        tol=model.tol,
        reg_covar=reg,
        subsample_size=model.subsample_size,
        random_state=seed,
    )
    return fit.predict_proba(data).argmax(axis=1)


def _one_boot(model, raw, labels, m, n_init, seed) -> tuple[float, np.ndarray]:
    rng = np.random.RandomState(seed)
    idx = np.unique(rng.randint(0, len(raw), size=m))  # fpc's multipleboot=FALSE
    try:
        boot = _boot_labels(model, raw[idx], n_init, rng.randint(np.iinfo(np.int32).max))
    except FitFailedError:
        return np.nan, np.full(model.k_, np.nan)
    ari = float(adjusted_rand_score(labels[idx], boot))
    return ari, _jaccard_recovery(labels[idx], boot, model.k_)


def profile_stability(
    model: ProfileModel,
    X: pd.DataFrame,
    *,
    n_boot: int = 50,
    n_init: int | None = None,
    max_rows: int | None = 10_000,
    random_state: int | np.random.RandomState | None = None,
    n_jobs: int | None = None,
) -> StabilityResult:
    """Clusterwise bootstrap stability of a fitted :class:`ProfileModel`.

    For each of ``n_boot`` resamples, respondents (complete rows of ``X``) are
    drawn with replacement, duplicates are dropped (as ``fpc::clusterboot``
    with ``multipleboot=FALSE``), the same model (same ``k``, covariance type,
    standardization) is refitted, and on the resampled respondents

    * the ARI between the original profiles and the refitted ones, and
    * for each original profile, the largest Jaccard similarity
      ``|A & B| / |A | B|`` with any refitted profile

    are recorded. Profiles are judged by their mean Jaccard (Hennig's scale,
    see the module docstring).

    Parameters
    ----------
    model : ProfileModel
        A fitted model.
    X : pandas.DataFrame
        The data it was fitted on (rows with missing scores are ignored).
    n_boot : int
        Number of resamples.
    n_init : int or None
        Starts per refit; None uses the model's ``n_init`` (fewer starts make
        refits land in local optima more often, which looks like instability).
    max_rows : int or None
        With more complete rows than this, each resample draws ``max_rows``
        rows (an m-out-of-n bootstrap, which is conservative: smaller samples
        give noisier refits). None always draws ``n``.
    random_state : int, RandomState or None
        Seed for the resamples and refits.
    n_jobs : int or None
        Resamples refitted in parallel (threads).

    Returns
    -------
    StabilityResult

    Examples
    --------
    >>> from analytics.profiles import ProfileModel
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame(
    ...     np.r_[rng.normal(-2, 1, (100, 2)), rng.normal(2, 1, (100, 2))], columns=["a", "b"]
    ... )
    >>> model = ProfileModel(k_range=2, covariance_types=["diag"], n_init=2, random_state=0)
    >>> result = profile_stability(model.fit(X), X, n_boot=5, random_state=0)
    >>> result.verdict
    'stable'
    """
    raw = _complete_rows(model, X)
    n = len(raw)
    labels = model._proba_z(model.scaler_.transform(raw)).argmax(axis=1)
    m = n if max_rows is None else min(n, max_rows)
    n_init = model.n_init if n_init is None else n_init
    rng = check_random_state(random_state)
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_boot)
    with blas_single_thread():
        results = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_one_boot)(model, raw, labels, m, n_init, seed) for seed in seeds
        )
    ari = np.array([r[0] for r in results], dtype=float)
    index = pd.Index(model.names_, name="profile")
    boot = pd.DataFrame(np.array([r[1] for r in results]), columns=index)
    jaccard = boot.mean(axis=0, skipna=True).rename("jaccard")
    dissolved = (boot <= DISSOLVED_JACCARD).where(boot.notna()).mean(axis=0).rename("dissolved")
    verdicts = jaccard.map(hennig_verdict).rename("verdict")
    worst = float(jaccard.min()) if jaccard.notna().any() else np.nan
    return StabilityResult(
        mean_ari=float(np.nanmean(ari)) if np.isfinite(ari).any() else np.nan,
        ari=ari,
        jaccard=jaccard,
        dissolved=dissolved,
        verdicts=verdicts,
        verdict=hennig_verdict(worst),
        jaccard_boot=boot,
        n_boot=n_boot,
    )


@dataclass(frozen=True, eq=False)
class LRTResult:
    """Parametric bootstrap likelihood ratio test of ``k - 1`` vs ``k`` profiles.

    Attributes
    ----------
    k : int
        Profiles under the alternative (the null has ``k - 1``).
    covariance_type : str
        Covariance structure of both models.
    lr : float
        Observed statistic ``2 (LL_k - LL_{k-1})`` (clipped at 0).
    boot_lr : numpy.ndarray
        The statistic on each data set simulated from the fitted null model.
    p_value : float
        ``(1 + #{boot_lr >= lr}) / (n_boot + 1)``.
    n_boot : int
        Number of bootstrap data sets.
    """

    k: int
    covariance_type: str
    lr: float
    boot_lr: np.ndarray
    p_value: float
    n_boot: int


def _lr(Z: np.ndarray, k: int, params: dict[str, Any], seed: int) -> tuple[float, Any]:
    rng = np.random.RandomState(seed)
    data = MixtureData(Z)
    null = fit_mixture(data, k - 1, random_state=rng.randint(np.iinfo(np.int32).max), **params)
    alt = fit_mixture(
        data,
        k,
        random_state=rng.randint(np.iinfo(np.int32).max),
        init_params=split_starts(null),  # from the null's optimum: LL_k >= LL_{k-1} in practice
        **params,
    )
    # k nests k - 1, so the maximized LR is >= 0; a negative value is a local optimum.
    return max(0.0, 2.0 * (alt.log_likelihood - null.log_likelihood)), null


def bootstrap_lr(null: MixtureFit, n: int, k: int, params: dict[str, Any], seed: int) -> float:
    """The LR statistic of ``k - 1`` vs ``k`` profiles on ``n`` rows drawn from ``null``.

    One bootstrap replicate of :func:`bootstrap_lrt`: both models are refitted
    (``params`` go to :func:`analytics.profile_em.fit_mixture`, with
    ``covariance_type``); NaN when a refit collapses.

    Examples
    --------
    >>> null = MixtureFit("diag", np.ones(1), np.zeros((1, 2)), np.ones((1, 2)), 0.0, 0, True)
    >>> lr = bootstrap_lr(null, 200, 2, {"covariance_type": "diag", "n_init": 2}, seed=0)
    >>> 0.0 <= lr < 30.0
    True
    """
    gmm = null.to_sklearn()
    gmm.random_state = seed
    sample, _ = gmm.sample(n)
    try:
        return _lr(sample, k, params, seed)[0]
    except FitFailedError:
        return np.nan


def bootstrap_lrt(
    X: pd.DataFrame | np.ndarray,
    k: int,
    *,
    covariance_type: str = "diag",
    n_boot: int = 99,
    n_init: int = 5,
    max_iter: int = 500,
    tol: float = 1e-4,
    reg_covar: str | float = "auto",
    subsample_size: int | None = 5_000,
    random_state: int | np.random.RandomState | None = None,
    n_jobs: int | None = None,
    resolution: np.ndarray | None = None,
) -> LRTResult:
    """McLachlan's parametric bootstrap LRT of ``k - 1`` against ``k`` profiles.

    Both models are fitted to the standardized complete rows of ``X``; then
    ``n_boot`` data sets of the same size are simulated from the fitted
    ``k - 1`` model and both models are refitted to each. The p-value is
    ``(1 + #{boot LR >= observed LR}) / (n_boot + 1)``. Costs ``2 (n_boot + 1)``
    mixture fits; failed bootstrap fits (NaN) are left out of the count.

    Parameters
    ----------
    X : pandas.DataFrame or numpy.ndarray
        Scores; rows with missing values are dropped.
    k : int
        Profiles under the alternative (>= 2).
    covariance_type : {"diag", "full"}
    n_boot : int
    n_init, max_iter, tol, subsample_size :
        As in :func:`analytics.profile_em.fit_mixture`.
    reg_covar : "auto" or float
        As in :class:`analytics.profiles.ProfileModel`.
    random_state : int, RandomState or None
    n_jobs : int or None
        Bootstrap data sets processed in parallel (threads).
    resolution : array of shape (d,), optional
        Step between possible scores per column for ``reg_covar="auto"`` (see
        :meth:`analytics.profiles.ProfileModel.fit`); None infers it.

    Returns
    -------
    LRTResult

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> X = np.r_[rng.normal(-2, 1, (150, 2)), rng.normal(2, 1, (150, 2))]
    >>> bootstrap_lrt(X, 2, n_boot=9, n_init=2, random_state=0).p_value
    0.1
    """
    if k < 2:
        raise ValueError("k must be >= 2 (the test compares k - 1 with k profiles)")
    values = np.asarray(X, dtype=float)
    raw = values[~np.isnan(values).any(axis=1)]
    scaler = StandardScaler().fit(raw)
    Z = scaler.transform(raw)
    if reg_covar == "auto":
        reg = resolution_reg_covar(raw, scaler.scale_, resolution=resolution)
    else:
        reg = float(reg_covar)
    params = {
        "covariance_type": covariance_type,
        "n_init": n_init,
        "max_iter": max_iter,
        "tol": tol,
        "reg_covar": reg,
        "subsample_size": subsample_size,
    }
    rng = check_random_state(random_state)
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_boot + 1)
    observed, null = _lr(Z, k, params, seeds[0])
    with blas_single_thread():
        boot = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(bootstrap_lr)(null, len(Z), k, params, seed) for seed in seeds[1:]
        )
    boot_lr = np.array(boot, dtype=float)
    valid = boot_lr[np.isfinite(boot_lr)]
    p_value = (1 + int(np.sum(valid >= observed))) / (len(valid) + 1)
    return LRTResult(k, covariance_type, observed, boot_lr, p_value, n_boot)
