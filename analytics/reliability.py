"""Internal consistency of the dimensions: Cronbach's alpha and item statistics.

Everything is computed from the *pairwise-complete* item covariance matrix,
the default of R's ``psych::alpha`` (``use = "pairwise"``) and of
``pingouin.cronbach_alpha`` (``nan_policy = "pairwise"``): each covariance uses
the respondents who answered both items, so a skipped item does not discard
the rest of a respondent's answers.

Quantities that cannot be estimated (fewer than two items, a pair of items
never answered together by two respondents, no total variance) are ``NaN``
rather than errors, because they occur routinely in small survey rounds.

Beside alpha, :func:`reliability` reports Feldt's 95% confidence interval of
alpha (:func:`alpha_interval`, the interval ``pingouin.cronbach_alpha`` and
``psych::alpha.ci`` give) and McDonald's omega total from a one-factor model of
the item correlations (:func:`omega_total`), which does not assume that every
item weighs the same.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analytics.instrument import Instrument
from analytics.scoring import keyed_items, select_dimensions

__all__ = [
    "DEFAULT_THRESHOLD",
    "alpha_interval",
    "cronbach_alpha",
    "item_reliability",
    "item_statistics",
    "omega_total",
    "reliability",
]

DEFAULT_THRESHOLD = 0.70


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha from pairwise-complete covariances.

    ``alpha = k / (k - 1) * (1 - trace(C) / sum(C))`` where ``C`` is the
    ``k x k`` covariance matrix of the items (``ddof = 1``), each entry computed
    on the rows where both items are present.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item (already reverse-keyed), ``NaN`` = missing.

    Returns
    -------
    float
        Alpha, or ``NaN`` when it cannot be estimated: fewer than two items,
        an undefined pairwise covariance, or a non-positive total variance.

    Examples
    --------
    >>> items = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> round(cronbach_alpha(items), 4)
    0.9538
    """
    return _alpha_from_cov(_pairwise_cov(items))


def alpha_interval(items: pd.DataFrame, confidence: float = 0.95) -> tuple[float, float]:
    """Feldt's confidence interval of Cronbach's alpha.

    ``1 - (1 - alpha) * F`` at the upper and lower ``(1 - confidence) / 2``
    quantiles of the F distribution with ``n - 1`` and ``(n - 1)(k - 1)``
    degrees of freedom (Feldt, Woodruff & Salih 1987), as
    ``pingouin.cronbach_alpha`` computes it. With pairwise-complete
    covariances ``n`` is the *smallest* number of respondents who answered a
    pair of the items, so the interval is never narrower than the data allow;
    with complete data it is the number of respondents.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item (already reverse-keyed), ``NaN`` = missing.
    confidence : float, default 0.95

    Returns
    -------
    (float, float)
        The limits, ``(nan, nan)`` when alpha cannot be estimated.

    Examples
    --------
    >>> items = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> [round(v, 3) for v in alpha_interval(items)]
    [0.766, 0.995]
    """
    alpha = cronbach_alpha(items)
    k = items.shape[1]
    present = _as_float(items).notna().to_numpy(dtype="float64")
    pairs = present.T @ present
    n = int(pairs[np.triu_indices(k, 1)].min()) if k >= 2 else 0
    if not np.isfinite(alpha) or n < 2:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1.0 - (1.0 - alpha) * stats.f.isf(tail, df1, df2)
    high = 1.0 - (1.0 - alpha) * stats.f.isf(1.0 - tail, df1, df2)
    return float(low), float(high)


def omega_total(items: pd.DataFrame, *, max_iter: int = 2000, tol: float = 1e-10) -> float:
    """McDonald's omega total of a one-factor model of the items' correlations.

    The loadings ``l`` and uniquenesses ``u`` are the maximum-likelihood
    one-factor solution for the pairwise-complete correlation matrix (EM
    iterations; uniquenesses kept at least 0.005, so a Heywood case stays
    finite), and ``omega = sum(l)**2 / (sum(l)**2 + sum(u))``. A scale of two
    items has no identified one-factor model: ``NaN``, as when a correlation
    cannot be computed.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item (already reverse-keyed), ``NaN`` = missing.
    max_iter : int, default 2000
    tol : float, default 1e-10
        Stop when no loading moves more than this.

    Returns
    -------
    float

    Examples
    --------
    >>> items = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> round(omega_total(items), 4)  # a Heywood case: uniqueness of "a" at its floor
    0.9636
    """
    cov = _pairwise_cov(items)
    k = cov.shape[0]
    if k < 3 or not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        return float("nan")
    scale = np.sqrt(np.diag(cov))
    corr = cov / np.outer(scale, scale)
    loadings = np.sqrt(np.clip(np.abs(corr).sum(axis=0) - 1.0, 0.01, None) / max(k - 1, 1))
    uniqueness = np.clip(1.0 - loadings**2, 0.005, None)
    for _ in range(max_iter):
        implied = np.outer(loadings, loadings) + np.diag(uniqueness)
        beta = np.linalg.solve(implied, loadings)  # Sigma^-1 l
        factor_var = 1.0 - beta @ loadings + beta @ corr @ beta
        updated = corr @ beta / factor_var
        uniqueness = np.clip(np.diag(corr) - updated * (corr @ beta), 0.005, None)
        done = np.max(np.abs(updated - loadings)) < tol
        loadings = updated
        if done:
            break
    common = loadings.sum() ** 2
    return float(common / (common + uniqueness.sum()))


def item_statistics(items: pd.DataFrame) -> pd.DataFrame:
    """Per-item statistics of one scale, as ``psych::alpha`` reports them.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item (already reverse-keyed), ``NaN`` = missing.

    Returns
    -------
    pandas.DataFrame
        Indexed by item (the column names of ``items``) with columns

        ``n``
            Number of answers.
        ``mean``, ``sd``
            Item mean and standard deviation (``ddof = 1``).
        ``r_drop``
            Corrected item-total correlation: the correlation of the item with
            the sum of the *other* items, computed from the pairwise covariance
            matrix ``C`` exactly as psych's ``r.drop``:
            ``(sum(C[:, i]) - C[i, i]) / sqrt(C[i, i] * sum(C[-i, -i]))``.
            With complete data this is the Pearson correlation between the item
            and the rest score.
        ``alpha_if_deleted``
            Cronbach's alpha of the remaining items (psych's ``raw_alpha`` under
            "Reliability if an item is dropped"); ``NaN`` for two-item scales,
            where one item is left.

    Examples
    --------
    >>> items = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> item_statistics(items).round(3)  # doctest: +NORMALIZE_WHITESPACE
          n  mean     sd  r_drop  alpha_if_deleted
    item
    a     5   3.0  1.581   0.970             0.882
    b     5   3.4  1.517   0.903             0.933
    c     5   3.0  1.225   0.870             0.968
    """
    cov = _pairwise_cov(items)
    k = cov.shape[0]
    r_drop = np.full(k, np.nan)
    alpha_if_deleted = np.full(k, np.nan)
    for i in range(k):
        keep = np.arange(k) != i
        rest = cov[np.ix_(keep, keep)]
        alpha_if_deleted[i] = _alpha_from_cov(rest)
        rest_variance = rest.sum()
        if k > 1 and cov[i, i] > 0 and rest_variance > 0:
            r_drop[i] = (cov[:, i].sum() - cov[i, i]) / np.sqrt(cov[i, i] * rest_variance)
    values = _as_float(items)
    return pd.DataFrame(
        {
            "n": values.notna().sum(axis=0).astype("int64").to_numpy(),
            "mean": values.mean(axis=0).to_numpy(),
            "sd": values.std(axis=0, ddof=1).to_numpy(),
            "r_drop": r_drop,
            "alpha_if_deleted": alpha_if_deleted,
        },
        index=pd.Index(items.columns, name="item"),
    )


def reliability(
    data: pd.DataFrame,
    instrument: Instrument,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    dimensions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Cronbach's alpha of every dimension of an instrument.

    Items are reverse-keyed (:func:`analytics.scoring.reverse_key`) before
    alpha is computed. Per-item detail is in :func:`item_reliability`.

    Parameters
    ----------
    data : pandas.DataFrame
        Wide frame of answers.
    instrument : Instrument
        The questionnaire the answers belong to.
    threshold : float, default 0.70
        Alpha below which a dimension is flagged.
    dimensions : sequence of str, optional
        Dimension ids to analyse; all dimensions when omitted.

    Returns
    -------
    pandas.DataFrame
        Indexed by dimension id (instrument order) with columns ``alpha``,
        ``n_items``, ``n_complete`` (respondents who answered every item of the
        dimension), ``flagged``, ``alpha_ci_low`` and ``alpha_ci_high``
        (Feldt's 95% interval, :func:`alpha_interval`) and ``omega``
        (:func:`omega_total`). ``flagged`` is true when ``alpha < threshold``
        *or* alpha is ``NaN``: a reliability that could not be estimated has
        not been shown to be adequate.

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> items = (Item("T1", "..."), Item("T2", "..."), Item("T3", "...", reverse=True))
    >>> inst = Instrument("demo", 1, "Demo", scale, (Dimension("trust", "Trust", "", items),))
    >>> data = pd.DataFrame({"T1": [1, 2, 3, 4, 5], "T2": [2, 2, 3, 5, 5], "T3": [5, 3, 3, 2, 2]})
    >>> reliability(data, inst).round(4).T  # doctest: +NORMALIZE_WHITESPACE
    dimension        trust
    alpha           0.9538
    n_items              3
    n_complete           5
    flagged          False
    alpha_ci_low    0.7664
    alpha_ci_high   0.9949
    omega           0.9636
    """
    rows = []
    selected = select_dimensions(instrument, dimensions)
    for dim in selected:
        items = keyed_items(data, instrument, dim.id)
        alpha = cronbach_alpha(items)
        low, high = alpha_interval(items)
        rows.append(
            {
                "alpha": alpha,
                "n_items": len(dim.items),
                "n_complete": int(items.notna().all(axis=1).sum()),
                "flagged": not alpha >= threshold,
                "alpha_ci_low": low,
                "alpha_ci_high": high,
                "omega": omega_total(items),
            }
        )
    columns = ["alpha", "n_items", "n_complete", "flagged", "alpha_ci_low", "alpha_ci_high"]
    frame = pd.DataFrame(
        rows,
        index=pd.Index([dim.id for dim in selected], name="dimension"),
        columns=[*columns, "omega"],
    )
    return frame.astype(
        {
            "alpha": "float64",
            "n_items": "int64",
            "n_complete": "int64",
            "flagged": "bool",
            "alpha_ci_low": "float64",
            "alpha_ci_high": "float64",
            "omega": "float64",
        }
    )


def item_reliability(
    data: pd.DataFrame,
    instrument: Instrument,
    *,
    dimensions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`item_statistics` of every dimension, stacked into one frame.

    Parameters
    ----------
    data : pandas.DataFrame
        Wide frame of answers.
    instrument : Instrument
        The questionnaire the answers belong to.
    dimensions : sequence of str, optional
        Dimension ids to analyse; all dimensions when omitted.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(dimension, item)`` with the columns of
        :func:`item_statistics`; statistics are computed on reverse-keyed items.

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> items = (Item("T1", "..."), Item("T2", "..."), Item("T3", "...", reverse=True))
    >>> inst = Instrument("demo", 1, "Demo", scale, (Dimension("trust", "Trust", "", items),))
    >>> data = pd.DataFrame({"T1": [1, 2, 3, 4, 5], "T2": [2, 2, 3, 5, 5], "T3": [5, 3, 3, 2, 2]})
    >>> item_reliability(data, inst)["alpha_if_deleted"].round(3)
    dimension  item
    trust      T1      0.882
               T2      0.933
               T3      0.968
    Name: alpha_if_deleted, dtype: float64
    """
    selected = select_dimensions(instrument, dimensions)
    frames = [item_statistics(keyed_items(data, instrument, dim.id)) for dim in selected]
    if not frames:
        empty = item_statistics(pd.DataFrame(dtype="float64"))
        empty.index = pd.MultiIndex.from_tuples([], names=["dimension", "item"])
        return empty
    return pd.concat(frames, keys=[dim.id for dim in selected], names=["dimension", "item"])


def _as_float(items: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        items.to_numpy(dtype="float64", na_value=np.nan), index=items.index, columns=items.columns
    )


def _pairwise_cov(items: pd.DataFrame) -> np.ndarray:
    # pandas computes each entry on the pairwise-complete rows with pairwise
    # means and ddof=1, like R's cov(use = "pairwise"). A pair answered together
    # by fewer than two people has no covariance: NaN, handled by the callers.
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return _as_float(items).cov().to_numpy()


def _alpha_from_cov(cov: np.ndarray) -> float:
    k = cov.shape[0]
    if k < 2 or not np.all(np.isfinite(cov)):
        return float("nan")
    total = cov.sum()
    if total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - np.trace(cov) / total))
