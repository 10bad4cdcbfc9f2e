"""Change in dimension scores between two survey rounds.

Survey rounds are anonymous, so a person's answers in one round cannot be
linked to their answers in the next. The two rounds are therefore compared as
*independent samples*: the confidence interval for the change in means is
Welch's t interval, which does not assume equal variances (the same as
``scipy.stats.ttest_ind(after, before, equal_var=False).confidence_interval``).
Where people did take part in both rounds, this interval is conservative
(wider than a paired one would be).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["dimension_change"]

_COLUMNS = [
    "mean_before",
    "mean_after",
    "change",
    "ci_low",
    "ci_high",
    "p_value",
    "n_before",
    "n_after",
]


def dimension_change(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean change per dimension between two rounds, with a Welch interval.

    Parameters
    ----------
    before, after : pandas.DataFrame
        Dimension scores of the two rounds (one row per respondent, as from
        :func:`analytics.scoring.score_dimensions`). Every numeric column is
        treated as a dimension; other columns (e.g. ``team``) are ignored.
        ``NaN`` scores are left out.
    confidence : float, default 0.95
        Confidence level of the interval, in ``(0, 1)``.

    Returns
    -------
    pandas.DataFrame
        Indexed by dimension (the columns of ``before``, then any only in
        ``after``), with columns ``mean_before``, ``mean_after``, ``change``
        (after minus before), ``ci_low``, ``ci_high`` (Welch t interval of the
        change), ``p_value`` (two-sided Welch t test of no change),
        ``n_before`` and ``n_after`` (scores used). The interval and p-value
        are ``NaN`` unless both rounds have at least two scores and some
        variance.

    Examples
    --------
    >>> before = pd.DataFrame({"trust": [3.0, 3.5, 4.0, 4.5]})
    >>> after = pd.DataFrame({"trust": [2.5, 3.0, 3.0, 3.5, 4.0]})
    >>> dimension_change(before, after).round(3).T
    dimension    trust
    mean_before  3.750
    mean_after   3.200
    change      -0.550
    ci_low      -1.552
    ci_high      0.452
    p_value      0.229
    n_before     4.000
    n_after      5.000
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    before = before.select_dtypes("number")
    after = after.select_dtypes("number")
    dims = list(before.columns) + [c for c in after.columns if c not in before.columns]
    rows = [_welch(_column(before, dim), _column(after, dim), confidence) for dim in dims]
    frame = pd.DataFrame(rows, index=pd.Index(dims, name="dimension"), columns=_COLUMNS)
    return frame.astype({"n_before": "int64", "n_after": "int64"})


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.empty(0)
    values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    return values[~np.isnan(values)]


def _welch(before: np.ndarray, after: np.ndarray, confidence: float) -> dict[str, float]:
    n_before, n_after = before.size, after.size
    mean_before = before.mean() if n_before else np.nan
    mean_after = after.mean() if n_after else np.nan
    change = mean_after - mean_before
    ci_low = ci_high = p_value = np.nan
    if n_before >= 2 and n_after >= 2:
        var_before = before.var(ddof=1) / n_before
        var_after = after.var(ddof=1) / n_after
        se = np.sqrt(var_before + var_after)
        if se > 0:
            # Welch-Satterthwaite degrees of freedom.
            df = (var_before + var_after) ** 2 / (
                var_before**2 / (n_before - 1) + var_after**2 / (n_after - 1)
            )
            half_width = stats.t.ppf(0.5 + confidence / 2, df) * se
            ci_low, ci_high = change - half_width, change + half_width
            p_value = 2 * stats.t.sf(abs(change) / se, df)
    return {
        "mean_before": mean_before,
        "mean_after": mean_after,
        "change": change,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "p_value": p_value,
        "n_before": n_before,
        "n_after": n_after,
    }
