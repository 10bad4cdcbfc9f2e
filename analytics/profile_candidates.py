"""The fit table of a latent profile analysis: fit every candidate, then choose.

Used by :class:`analytics.profiles.ProfileModel`; see its module docstring for
the definitions of the fit indices. Every candidate gets its own seed, drawn
from the caller's random state before any work is dispatched, so the table does
not depend on ``n_jobs``.

Mixtures of one covariance type are fitted in order of ``k`` (a *chain*), each
``k`` with :func:`analytics.profile_em.split_starts` of the ``k - 1`` solution
among its starts; the chains of the covariance types run in parallel. Then the
nesting of the candidates is enforced: a ``"full"`` fit worse than the
``"diag"`` fit of the same ``k`` is refined from it, and a fit worse than the
one with a profile fewer is refined from each split of that one, so the
log-likelihood never decreases with ``k`` (a decrease would be a local optimum,
and would distort every index computed from it).
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
    POLISH_TOL_FACTOR,
    FitFailedError,
    MixtureData,
    MixtureFit,
    blas_single_thread,
    fit_mixture,
    refine_mixture,
    split_starts,
)

FIT_TABLE_COLUMNS = (
    "k",
    "covariance_type",
    "log_likelihood",
    "n_parameters",
    "aic",
    "bic",
    "sabic",
    "icl",
    "entropy",
    "blrt_p",
    "smallest_share",
    "largest_share",
    "rejected",
    "warning",
    "selected",
    "silhouette",
    "converged",
)
SILHOUETTE_SAMPLE = 5_000
CRITERIA = ("icl", "bic", "aic", "sabic")


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


def class_stats(resp: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Modal-assignment counts, relative entropy and the classification entropy.

    The classification entropy is ``EN = sum_i sum_j -p_ij ln p_ij`` (0 when
    every respondent is assigned with certainty); the relative entropy is
    ``1 - EN / (n ln k)`` (1 for ``k = 1``).

    Examples
    --------
    >>> counts, entropy, en = class_stats(np.array([[1.0, 0.0], [0.5, 0.5]]))
    >>> counts.tolist(), round(entropy, 3), round(en, 3)
    ([2, 0], 0.5, 0.693)
    """
    n, k = resp.shape
    counts = np.bincount(resp.argmax(axis=1), minlength=k)
    if k == 1:
        return counts, 1.0, 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(resp > 0, resp * np.log(resp), 0.0)
    en = float(-plogp.sum())
    return counts, float(1.0 - en / (n * math.log(k))), en


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


def _empty_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FIT_TABLE_COLUMNS, np.nan)
    row.update(selected=False, **values)
    return row


def _fit_chain(
    data: MixtureData,
    ks: Sequence[int],
    cov: str,
    params: dict[str, Any],
    seeds: Sequence[int],
) -> list[MixtureFit | str]:
    """Fits of one covariance type in order of ``k`` (an error message where one failed)."""
    out: list[MixtureFit | str] = []
    previous: MixtureFit | None = None
    for k, seed in zip(ks, seeds, strict=True):
        init = split_starts(previous) if previous is not None and previous.k == k - 1 else ()
        try:
            fit = fit_mixture(data, k, cov, random_state=seed, init_params=init, **params)
        except FitFailedError as exc:
            out.append(str(exc))
            previous = None
            continue
        out.append(fit)
        previous = fit
    return out


def _refined(data: MixtureData, start: Any, cov: str, params: dict[str, Any]) -> MixtureFit | None:
    try:
        return refine_mixture(
            data,
            start,
            cov,
            max_iter=params.get("max_iter", 500),
            tol=params.get("tol", 1e-4) * POLISH_TOL_FACTOR,
            reg_covar=params.get("reg_covar", 1e-6),
        )
    except FitFailedError:
        return None


def _enforce_nesting(
    data: MixtureData,
    fits: dict[tuple[int, str], MixtureFit],
    params: dict[str, Any],
) -> dict[tuple[int, str], str]:
    """Repair fits below a nested candidate's log-likelihood; notes on those still below.

    ``fits`` is updated in place. Candidates are visited by ``k``, ``"diag"``
    before ``"full"``, so a repaired fit is the reference for the next ``k``.
    """
    notes: dict[tuple[int, str], str] = {}
    for k, cov in sorted(fits, key=lambda kc: (kc[0], kc[1] != "diag")):
        fit = fits[(k, cov)]
        nested = []  # (what, fit that must not be better, starts from it)
        if cov == "full" and (k, "diag") in fits:
            diag = fits[(k, "diag")]
            nested.append(("diag", diag, [(diag.weights, diag.means, diag.covariances)]))
        if (k - 1, cov) in fits:
            smaller = fits[(k - 1, cov)]
            nested.append((f"k={k - 1}", smaller, None))
        for what, reference, starts in nested:
            if fit.log_likelihood >= reference.log_likelihood:
                continue
            for start in starts if starts is not None else split_starts(reference):
                repaired = _refined(data, start, cov, params)
                if repaired is not None and repaired.log_likelihood > fit.log_likelihood:
                    fit = repaired
            if fit.log_likelihood < reference.log_likelihood:
                notes[(k, cov)] = f"log-likelihood below that of {what} (a local optimum)"
        fits[(k, cov)] = fit
    return notes


def gmm_fit_table(
    Z: np.ndarray | MixtureData,
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
        Seed for the candidates' seeds; joblib workers (one per covariance type).

    Returns
    -------
    (pandas.DataFrame, list)
        The fit table (``selected`` all False, ``blrt_p`` NaN) and the fits
        (None if failed), in row order.
    """
    n = len(Z)
    data = MixtureData.of(Z)  # features built once for every candidate (in this process)
    ks = sorted(ks)
    candidates = [(k, cov) for cov in covariance_types for k in ks]
    seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=len(candidates))
    seed_of = dict(zip(candidates, seeds, strict=True))
    with blas_single_thread():
        chains = Parallel(n_jobs=n_jobs)(
            delayed(_fit_chain)(data, ks, cov, fit_params, [seed_of[(k, cov)] for k in ks])
            for cov in covariance_types
        )
        results = {
            (k, cov): result
            for cov, chain in zip(covariance_types, chains, strict=True)
            for k, result in zip(ks, chain, strict=True)
        }
        fitted = {kc: r for kc, r in results.items() if isinstance(r, MixtureFit)}
        notes = _enforce_nesting(data, fitted, fit_params)
        rows, fits = [], []
        for k, cov in candidates:
            fit = fitted.get((k, cov))
            if fit is None:
                row = _empty_row(
                    k=k,
                    covariance_type=cov,
                    rejected=True,
                    warning=f"fit failed: {results[(k, cov)]}",
                    converged=False,
                )
            else:
                row = _gmm_row(data, fit, rule, n * log_jacobian)
                extra = [notes.get((k, cov), "")]
                if not fit.converged:
                    extra.append(f"EM did not converge in {fit_params.get('max_iter')} iterations")
                row["warning"] = "; ".join(filter(None, [row["warning"], *extra]))
            rows.append(row)
            fits.append(fit)
    return pd.DataFrame(rows, columns=list(FIT_TABLE_COLUMNS)), fits


def _gmm_row(data: MixtureData, fit: MixtureFit, rule: ShareRule, jacobian: float) -> dict:
    """A fit-table row; ``jacobian`` (``n sum(log scale)``) moves ``LL`` to the raw scale."""
    n = len(data)
    counts, entropy, en = class_stats(fit.predict_proba(data))
    ll = fit.log_likelihood - jacobian
    p = fit.n_parameters
    bic = -2 * ll + p * math.log(n)
    return _empty_row(
        k=fit.k,
        covariance_type=fit.covariance_type,
        log_likelihood=ll,
        n_parameters=p,
        aic=-2 * ll + 2 * p,
        bic=bic,
        sabic=-2 * ll + p * math.log((n + 2) / 24),
        icl=bic + 2 * en,
        entropy=entropy,
        converged=fit.converged,
        **rule.judge(counts),
    )


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

    ``criterion`` (``"icl"``, ``"bic"``, ``"aic"``, ``"sabic"``) is minimized,
    ``"silhouette"`` maximized, over the rows that are not rejected (all fitted
    rows if every one is rejected). Ties go to the smaller ``k``, then to the
    earlier row.

    Examples
    --------
    >>> table = pd.DataFrame(
    ...     {"k": [1, 2, 3], "icl": [10.0, 8.0, 9.0], "bic": [10.0, 8.0, 7.0],
    ...      "rejected": [False, False, False]}
    ... )
    >>> select_candidate(table, "icl")[0], select_candidate(table, "bic")[0]
    (1, 2)
    """
    if criterion not in (*CRITERIA, "silhouette"):
        raise ValueError(f"criterion must be one of {CRITERIA} or 'silhouette', got {criterion!r}")
    sign = -1.0 if criterion == "silhouette" else 1.0
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


def blrt_p_values(
    data: np.ndarray | MixtureData,
    table: pd.DataFrame,
    fits: Sequence[MixtureFit | None],
    *,
    fit_params: dict[str, Any],
    n_boot: int,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """BLRT p-values of ``k - 1`` against ``k`` profiles for every row of a fit table.

    McLachlan's parametric bootstrap (see
    :func:`analytics.profile_stability.bootstrap_lrt`), with the fitted
    ``k - 1`` candidate of the same covariance type as the null model and the
    observed statistic ``2 (LL_k - LL_{k-1})`` from the table: ``n_boot`` data
    sets of ``n`` rows are drawn from the null, both models are refitted to
    each, and ``p = (1 + #{boot >= observed}) / (n_valid + 1)``. NaN for
    ``k = 1`` and where the null candidate is missing.

    Parameters
    ----------
    data : numpy.ndarray or MixtureData
        The standardized rows the candidates were fitted on.
    table, fits :
        From :func:`gmm_fit_table` (same order).
    fit_params : dict
        Passed to :func:`analytics.profile_em.fit_mixture` for the refits.
    n_boot : int
        Bootstrap data sets per row (each costs two mixture fits).
    random_state, n_jobs :
        Seed; threads for the bootstrap refits.

    Returns
    -------
    numpy.ndarray
        One p-value per row.
    """
    from analytics.profile_stability import bootstrap_lr  # a sibling that imports this module

    n = len(data)
    p_values = np.full(len(table), np.nan)
    position = {(int(r.k), str(r.covariance_type)): i for i, r in enumerate(table.itertuples())}
    rng = check_random_state(random_state)
    for i, row in enumerate(table.itertuples()):
        null_index = position.get((int(row.k) - 1, str(row.covariance_type)))
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_boot)
        if null_index is None or fits[i] is None or fits[null_index] is None:
            continue
        observed = max(0.0, 2.0 * (fits[i].log_likelihood - fits[null_index].log_likelihood))
        params = {"covariance_type": row.covariance_type, **fit_params}
        with blas_single_thread():
            boot = Parallel(n_jobs=n_jobs, prefer="threads")(
                delayed(bootstrap_lr)(fits[null_index], n, int(row.k), params, seed)
                for seed in seeds
            )
        values = np.array(boot, dtype=float)
        valid = values[np.isfinite(values)]
        p_values[i] = (1 + int(np.sum(valid >= observed))) / (len(valid) + 1)
    return p_values
