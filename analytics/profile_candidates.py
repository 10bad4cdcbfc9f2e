"""The fit table of a latent profile analysis: fit every candidate, then choose.

Used by :class:`analytics.profiles.ProfileModel`; see its module docstring for
the definitions of the fit indices. Every candidate gets its own seed, drawn
from the caller's random state before any work is dispatched, so the table does
not depend on ``n_jobs``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from analytics.profile_em import (
    FitFailedError,
    MixtureData,
    MixtureFit,
    blas_single_thread,
    fit_mixture,
)

FIT_TABLE_COLUMNS = (
    "k",
    "covariance_type",
    "log_likelihood",
    "n_parameters",
    "aic",
    "bic",
    "sabic",
    "entropy",
    "smallest_share",
    "largest_share",
    "rejected",
    "warning",
    "selected",
    "silhouette",
    "converged",
)
SILHOUETTE_SAMPLE = 5_000


def candidate_ks(k_range: Any) -> list[int]:
    """Candidate numbers of profiles.

    Examples
    --------
    >>> candidate_ks((1, 4)), candidate_ks(3), candidate_ks(range(2, 4)), candidate_ks([5, 2])
    ([1, 2, 3, 4], [3], [2, 3], [2, 5])
    """
    if isinstance(k_range, int | np.integer):
        ks = [int(k_range)]
    elif isinstance(k_range, tuple) and len(k_range) == 2:
        ks = list(range(int(k_range[0]), int(k_range[1]) + 1))
    else:
        ks = sorted({int(k) for k in k_range})
    if not ks or min(ks) < 1:
        raise ValueError(f"k_range must give at least one k >= 1, got {k_range!r}")
    return ks


def class_stats(resp: np.ndarray) -> tuple[np.ndarray, float]:
    """Modal-assignment counts and relative entropy ``1 - sum(-p ln p) / (n ln k)``.

    Examples
    --------
    >>> counts, entropy = class_stats(np.array([[1.0, 0.0], [0.5, 0.5]]))
    >>> counts.tolist(), round(entropy, 3)
    ([2, 0], 0.5)
    """
    n, k = resp.shape
    counts = np.bincount(resp.argmax(axis=1), minlength=k)
    if k == 1:
        return counts, 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(resp > 0, resp * np.log(resp), 0.0)
    return counts, float(1.0 + plogp.sum() / (n * math.log(k)))


@dataclass(frozen=True)
class ShareRule:
    """Reject candidates whose smallest class is below ``reject``, warn below ``warn``."""

    reject: float
    warn: float

    def judge(self, counts: np.ndarray) -> dict[str, Any]:
        """Fit-table fields ``smallest_share``, ``largest_share``, ``rejected``, ``warning``."""
        shares = counts / counts.sum()
        smallest, largest = float(shares.min()), float(shares.max())
        rejected = smallest < self.reject
        note = ""
        if rejected:
            note = f"smallest class {smallest:.1%} < {self.reject:.0%}: rejected"
        elif smallest < self.warn:
            note = f"smallest class {smallest:.1%} < {self.warn:.0%}"
        return {
            "smallest_share": smallest,
            "largest_share": largest,
            "rejected": rejected,
            "warning": note,
        }


def _fit_gmm_candidate(Z, k, cov, params, seed) -> dict[str, Any]:
    try:
        fit = fit_mixture(Z, k, cov, random_state=seed, **params)
    except FitFailedError as exc:
        return {"fit": None, "error": str(exc)}
    counts, entropy = class_stats(fit.predict_proba(Z))
    return {"fit": fit, "counts": counts, "entropy": entropy}


def _empty_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FIT_TABLE_COLUMNS, np.nan)
    row.update(selected=False, **values)
    return row


def gmm_fit_table(
    Z: np.ndarray,
    ks: Sequence[int],
    covariance_types: Sequence[str],
    *,
    fit_params: dict[str, Any],
    rule: ShareRule,
    log_jacobian: float = 0.0,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> tuple[pd.DataFrame, list[MixtureFit | None]]:
    """Fit a Gaussian mixture for every ``(covariance_type, k)`` and tabulate it.

    Parameters
    ----------
    Z : numpy.ndarray or MixtureData
        Standardized complete scores.
    ks, covariance_types : sequences
        Candidates; rows are ordered by covariance type, then ``k``.
    fit_params : dict
        Passed to :func:`analytics.profile_em.fit_mixture`.
    rule : ShareRule
        Small-class rejection and warning thresholds.
    log_jacobian : float
        ``sum(log(scale))`` of the standardization; subtracted ``n`` times so
        that log-likelihoods refer to the original scores.
    random_state, n_jobs :
        Seed for the candidates' seeds; joblib workers.

    Returns
    -------
    (pandas.DataFrame, list)
        The fit table (``selected`` all False) and the fits (None if failed).
    """
    n = len(Z)
    data = MixtureData.of(Z)  # features built once for every candidate (in this process)
    candidates = [(k, cov) for cov in covariance_types for k in ks]
    seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=len(candidates))
    # Most expensive first, for better load balance; results keep candidate order.
    order = sorted(range(len(candidates)), key=lambda i: -candidates[i][0])
    with blas_single_thread():
        results = Parallel(n_jobs=n_jobs)(
            delayed(_fit_gmm_candidate)(data, *candidates[i], fit_params, seeds[i]) for i in order
        )
    by_index = dict(zip(order, results, strict=True))
    rows, fits = [], []
    for i, (k, cov) in enumerate(candidates):
        res = by_index[i]
        fit: MixtureFit | None = res["fit"]
        if fit is None:
            row = _empty_row(
                k=k, covariance_type=cov, rejected=True, warning=f"fit failed: {res['error']}"
            )
            row["converged"] = False
        else:
            ll = fit.log_likelihood - n * log_jacobian
            p = fit.n_parameters
            row = _empty_row(
                k=k,
                covariance_type=cov,
                log_likelihood=ll,
                n_parameters=p,
                aic=-2 * ll + 2 * p,
                bic=-2 * ll + p * math.log(n),
                sabic=-2 * ll + p * math.log((n + 2) / 24),
                entropy=res["entropy"],
                converged=fit.converged,
                **rule.judge(res["counts"]),
            )
            if not fit.converged:
                note = f"EM did not converge in {fit_params.get('max_iter')} iterations"
                row["warning"] = "; ".join(filter(None, [row["warning"], note]))
        rows.append(row)
        fits.append(fit)
    return pd.DataFrame(rows, columns=list(FIT_TABLE_COLUMNS)), fits


def _fit_kmeans_candidate(Z, k, n_init, subsample_size, seed) -> dict[str, Any]:
    rng = check_random_state(seed)
    n = len(Z)
    # One thread for BLAS *and* OpenMP: k-means on a few thousand rows is slower
    # with spinning OpenMP workers, above all on a busy machine.
    with threadpool_limits(limits=1):
        if subsample_size is not None and n > subsample_size:
            screen = Z[np.sort(rng.choice(n, subsample_size, replace=False))]
            first = KMeans(k, n_init=n_init, random_state=rng).fit(screen)
            km = KMeans(k, init=first.cluster_centers_, n_init=1).fit(Z)
        else:
            km = KMeans(k, n_init=n_init, random_state=rng).fit(Z)
        counts = np.bincount(km.labels_, minlength=k)
        sil = np.nan
        if np.count_nonzero(counts) > 1:
            size = min(n, SILHOUETTE_SAMPLE)
            sil = float(silhouette_score(Z, km.labels_, sample_size=size, random_state=rng))
    return {"kmeans": km, "counts": counts, "silhouette": sil}


def kmeans_fit_table(
    Z: np.ndarray,
    ks: Sequence[int],
    *,
    n_init: int,
    subsample_size: int | None,
    rule: ShareRule,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> tuple[pd.DataFrame, list[KMeans]]:
    """Fit k-means for every ``k >= 2`` and tabulate class shares and silhouettes.

    With more rows than ``subsample_size``, ``n_init`` starts run on a random
    subsample and the best is refined on all rows. The silhouette is computed
    on at most :data:`SILHOUETTE_SAMPLE` random rows.
    """
    ks = [k for k in ks if k >= 2]
    if not ks:
        raise ValueError("method='kmeans' needs some k >= 2 in k_range")
    seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=len(ks))
    with blas_single_thread():
        results = Parallel(n_jobs=n_jobs)(
            delayed(_fit_kmeans_candidate)(Z, k, n_init, subsample_size, seed)
            for k, seed in zip(ks, seeds, strict=True)
        )
    rows = [
        _empty_row(
            k=k,
            covariance_type="kmeans",
            silhouette=res["silhouette"],
            converged=True,
            **rule.judge(res["counts"]),
        )
        for k, res in zip(ks, results, strict=True)
    ]
    return pd.DataFrame(rows, columns=list(FIT_TABLE_COLUMNS)), [r["kmeans"] for r in results]


def select_candidate(table: pd.DataFrame, criterion: str) -> tuple[int, list[str]]:
    """Index of the chosen row, and warnings about the choice.

    ``criterion`` ``"bic"`` is minimized, ``"silhouette"`` maximized, over the
    rows that are not rejected (all fitted rows if every one is rejected).
    Ties go to the smaller ``k``, then to the earlier row.
    """
    sign = 1.0 if criterion == "bic" else -1.0
    usable = table[np.isfinite(table[criterion].astype(float))]
    if usable.empty:
        raise RuntimeError("no candidate could be fitted")
    ok = usable[~usable["rejected"].astype(bool)]
    warnings = []
    if ok.empty:
        ok = usable
        warnings.append(
            "Every candidate has a class below the minimum share of respondents; "
            "the best one is reported anyway."
        )
    ranked = ok.assign(_s=sign * ok[criterion].astype(float)).sort_values(
        ["_s", "k"], kind="stable"
    )
    return int(ranked.index[0]), warnings
