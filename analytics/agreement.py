"""Inter-rater agreement: rwg, rwg(j) and intraclass correlations.

Used to decide whether a team's ratings of a counterparty agree enough to be
reported as *one* view (:mod:`analytics.counterparty`).

rwg and rwg(j)
    James, Demaree & Wolf (1984). The observed variance of the raters'
    answers is compared with the variance expected if every rater answered at
    random, uniformly over the ``A`` scale points: ``sigma_E^2 = (A^2 - 1) / 12``.
    For one item ``rwg = 1 - s^2 / sigma_E^2``; for ``J`` parallel items, with
    ``s_bar^2`` the mean of the items' observed variances,
    ``rwg(j) = J (1 - s_bar^2/sigma_E^2) / (J (1 - s_bar^2/sigma_E^2) + s_bar^2/sigma_E^2)``.
    Variances use ``ddof = 1`` (R's ``var``), each item's on the raters who
    answered it (``na.rm = TRUE``), as ``multilevel::rwg`` and ``rwg.j`` do.

    **Convention when the observed variance exceeds the null variance.** Then
    agreement is worse than random answering and both formulas leave ``[0, 1]``
    (rwg(j) can even exceed 1 or divide by zero). Following James et al.
    (1984), as discussed by Lindell & Brandt (1997) and recommended by
    LeBreton & Senter (2008), the value is **truncated to 0** (not
    Lindell & Brandt's r*wg(j), which keeps negative values):
    ``s^2 >= sigma_E^2`` gives 0. So every value returned is in ``[0, 1]``
    (or ``NaN`` when fewer than two raters answered).

ICC
    Shrout & Fleiss (1979), with the names of R's ``psych::ICC`` and
    ``pingouin.intraclass_corr``: from a two-way ANOVA of a targets x raters
    table (here: items x team members) with mean squares ``MSR`` (targets),
    ``MSC`` (raters), ``MSE`` (residual) and ``MSW = (SSC + SSE) / (n (k - 1))``
    (within targets, the one-way model):

    * ``ICC1``  one-way random, single rater: ``(MSR - MSW) / (MSR + (k-1) MSW)``
    * ``ICC2``  two-way random, absolute agreement, single rater:
      ``(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)``
    * ``ICC1k`` one-way, mean of the ``k`` raters: ``(MSR - MSW) / MSR``
    * ``ICC2k`` two-way, absolute agreement, mean of the ``k`` raters:
      ``(MSR - MSE) / (MSR + (MSC - MSE) / n)``

    95% confidence intervals are the F-based intervals of Shrout & Fleiss
    (1979) and McGraw & Wong (1996), as ``psych::ICC`` and pingouin compute
    them (ICC2 uses Satterthwaite's approximate degrees of freedom). In the
    multilevel literature's naming (Bliese 2000) with items as the groups,
    "ICC(1)" is ``ICC1`` and "ICC(2)" is ``ICC1k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "IccEstimate",
    "IccResult",
    "icc",
    "null_variance",
    "rwg",
    "rwg_j",
]


# Sums of squares below this fraction of the total are rounding noise, i.e. zero.
_RELATIVE_NOISE = 1e-12


def null_variance(scale_points: int) -> float:
    """Variance of uniform random answers over ``scale_points`` points: ``(A^2 - 1) / 12``.

    Examples
    --------
    >>> null_variance(5)
    2.0
    """
    if scale_points < 2:
        raise ValueError(f"a response scale has at least 2 points, got {scale_points}")
    return (scale_points**2 - 1) / 12


def _answered(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def rwg(ratings: object, scale_points: int) -> float:
    """Single-item agreement rwg (James, Demaree & Wolf 1984), truncated to ``[0, 1]``.

    Parameters
    ----------
    ratings : array-like
        One item's answers, one per rater; ``NaN`` = not answered.
    scale_points : int
        Number of points of the response scale (5 for 1-5).

    Returns
    -------
    float
        ``1 - s^2 / sigma_E^2`` with ``s^2`` the sample variance (``ddof=1``);
        0 when ``s^2 >= sigma_E^2`` (see the module notes); ``NaN`` with fewer
        than two answers.

    Examples
    --------
    Ratings 3, 4, 4, 5, 4 on a 1-5 scale: mean 4, squared deviations
    1, 0, 0, 1, 0, so ``s^2 = 2 / 4 = 0.5`` and ``rwg = 1 - 0.5 / 2 = 0.75``.

    >>> rwg([3, 4, 4, 5, 4], 5)
    0.75
    >>> rwg([1, 5, 1, 5], 5)  # s^2 = 5.33 > 2: worse than random, truncated
    0.0
    """
    values = _answered(np.asarray(ratings, dtype="float64").ravel())
    if values.size < 2:
        return math.nan
    ratio = float(values.var(ddof=1)) / null_variance(scale_points)
    return 0.0 if ratio >= 1 else 1.0 - ratio


def rwg_j(ratings: object, scale_points: int) -> float:
    """Multi-item agreement rwg(j) (James, Demaree & Wolf 1984), truncated to ``[0, 1]``.

    Parameters
    ----------
    ratings : array-like, 2-D
        Raters x items (already reverse-keyed, so the items are parallel);
        ``NaN`` = not answered. Each item's variance uses the raters who
        answered it.
    scale_points : int
        Number of points of the items' response scale.

    Returns
    -------
    float
        ``J (1 - v) / (J (1 - v) + v)`` with ``v = s_bar^2 / sigma_E^2`` and
        ``s_bar^2`` the mean of the item variances; 0 when ``v >= 1``; ``NaN``
        when some item has fewer than two answers.

    Examples
    --------
    Three raters, two items: item variances 1/3 and 1 (mean 2/3), ``v = 1/3``,
    ``rwg(j) = 2 (2/3) / (2 (2/3) + 1/3) = 0.8``.

    >>> round(rwg_j([[4, 3], [4, 4], [5, 5]], 5), 10)
    0.8
    """
    values = np.asarray(ratings, dtype="float64")
    if values.ndim != 2:
        raise ValueError(f"rwg_j needs a raters x items table, got {values.ndim} dimension(s)")
    n_items = values.shape[1]
    if n_items == 0:
        return math.nan
    variances = []
    for j in range(n_items):
        answered = _answered(values[:, j])
        if answered.size < 2:
            return math.nan
        variances.append(float(answered.var(ddof=1)))
    ratio = float(np.mean(variances)) / null_variance(scale_points)
    if ratio >= 1:
        return 0.0
    agreement = n_items * (1.0 - ratio)
    return agreement / (agreement + ratio)


@dataclass(frozen=True)
class IccEstimate:
    """One intraclass correlation with its 95% confidence interval."""

    value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class IccResult:
    """Shrout & Fleiss (1979) intraclass correlations of a targets x raters table.

    ``icc1``/``icc1k``: one-way random model, single rater / mean of the raters;
    ``icc2``/``icc2k``: two-way random model, absolute agreement, single rater /
    mean of the raters (psych::ICC's ICC1, ICC2, ICC1k, ICC2k). ``n_targets``
    and ``n_raters`` are the table's size after dropping targets with a missing
    rating.
    """

    icc1: IccEstimate
    icc2: IccEstimate
    icc1k: IccEstimate
    icc2k: IccEstimate
    n_targets: int
    n_raters: int


def icc(ratings: pd.DataFrame, confidence: float = 0.95) -> IccResult:
    """Intraclass correlations of a targets x raters table (see the module notes).

    Parameters
    ----------
    ratings : pandas.DataFrame
        One row per target (an item), one column per rater (a team member);
        numeric. Rows with a missing rating are dropped, as ``psych::ICC``
        (``na.omit``) and ``pingouin`` (``nan_policy="omit"``) do.
    confidence : float, default 0.95
        Level of the confidence intervals.

    Returns
    -------
    IccResult

    Raises
    ------
    ValueError
        With fewer than two complete targets or fewer than two raters, when
        every rating is the same (no variance to partition) or every target has
        the same mean rating (``MSR = 0``: the ratios are 0/0 or -inf).

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: six targets rated by four judges.

    >>> table = pd.DataFrame([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
    ...                       [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    >>> result = icc(table)
    >>> [round(x.value, 2) for x in (result.icc1, result.icc2, result.icc1k, result.icc2k)]
    [0.17, 0.29, 0.44, 0.62]
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    values = ratings.to_numpy(dtype="float64", na_value=np.nan)
    if values.ndim != 2:
        raise ValueError("icc needs a targets x raters table")
    values = values[~np.isnan(values).any(axis=1)]
    n, k = values.shape
    if n < 2 or k < 2:
        raise ValueError(f"icc needs at least 2 complete targets and 2 raters, got {n} and {k}")
    grand = values.mean()
    ss_total = float(((values - grand) ** 2).sum())
    if ss_total == 0:
        raise ValueError("icc is undefined when every rating is the same")
    ss_rows = float(k * ((values.mean(axis=1) - grand) ** 2).sum())
    ss_cols = float(n * ((values.mean(axis=0) - grand) ** 2).sum())
    ss_error = max(ss_total - ss_rows - ss_cols, 0.0)
    if ss_rows <= _RELATIVE_NOISE * ss_total:
        raise ValueError("icc is undefined when every target has the same mean rating")
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_error / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_error) / (n * (k - 1))

    alpha = 1.0 - confidence
    icc1 = (msr - msw) / (msr + (k - 1) * msw)
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    icc1k = (msr - msw) / msr
    icc2k = (msr - mse) / (msr + (msc - mse) / n)

    # One-way model: F = MSR / MSW on (n - 1, n (k - 1)) degrees of freedom.
    df1, df_within, df_error = n - 1, n * (k - 1), (n - 1) * (k - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = msr / msw if msw > 0 else math.inf
        f1_low = f1 / stats.f.ppf(1 - alpha / 2, df1, df_within)
        f1_high = f1 * stats.f.ppf(1 - alpha / 2, df_within, df1)
        icc1_ci = ((f1_low - 1) / (f1_low + k - 1), (f1_high - 1) / (f1_high + k - 1))
        icc1k_ci = (1 - 1 / f1_low, 1 - 1 / f1_high)

        # Two-way model, absolute agreement: Satterthwaite degrees of freedom.
        fj = msc / mse if mse > 0 else math.inf
        a = k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2
        b = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = df_error * a**2 / b
        f2_high = stats.f.ppf(1 - alpha / 2, df1, v)
        f2_low = stats.f.ppf(1 - alpha / 2, v, df1)
        spread = k * msc + (k * n - k - n) * mse
        low2 = n * (msr - f2_high * mse) / (f2_high * spread + n * msr)
        high2 = n * (f2_low * msr - mse) / (spread + n * f2_low * msr)
        icc2k_ci = (low2 * k / (1 + low2 * (k - 1)), high2 * k / (1 + high2 * (k - 1)))
    return IccResult(
        icc1=IccEstimate(float(icc1), float(icc1_ci[0]), float(icc1_ci[1])),
        icc2=IccEstimate(float(icc2), float(low2), float(high2)),
        icc1k=IccEstimate(float(icc1k), float(icc1k_ci[0]), float(icc1k_ci[1])),
        icc2k=IccEstimate(float(icc2k), float(icc2k_ci[0]), float(icc2k_ci[1])),
        n_targets=int(n),
        n_raters=int(k),
    )
