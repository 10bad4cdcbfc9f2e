"""Percentile norms: where a score sits in a reference distribution.

The percentile rank of a value ``x`` in a reference sample of ``n`` scores is

    100 * (number of reference scores below x + 0.5 * number equal to x) / n

the "mid-rank" definition (``scipy.stats.percentileofscore(kind="mean")``).
Counting half of the ties keeps the average percentile of a sample in its own
distribution at exactly 50, which matters on short rating scales where many
people share the same score. ``NaN`` reference scores are ignored; ``NaN``
values get a ``NaN`` rank, as does everything when the reference is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analytics.instrument import Instrument
from analytics.scoring import DEFAULT_MIN_FRACTION, score_dimensions

__all__ = [
    "ReferencePopulation",
    "percentile_rank",
    "respondent_percentiles",
    "team_percentiles",
]


@dataclass(frozen=True, eq=False)
class ReferencePopulation:
    """A named set of individual dimension scores to compare against.

    Parameters
    ----------
    name : str
        Shown in reports, e.g. ``"All teams, spring 2025"``.
    scores : pandas.DataFrame
        One row per person, one numeric column per dimension id (the output of
        :func:`analytics.scoring.score_dimensions`).
    description : str, optional
        Where the population comes from.

    Examples
    --------
    >>> ref = ReferencePopulation("pilot", pd.DataFrame({"trust": [1.0, 2.0, 3.0, 4.0]}))
    >>> ref.n
    4
    """

    name: str
    scores: pd.DataFrame
    description: str = ""

    def __post_init__(self) -> None:
        non_numeric = [
            c for c in self.scores.columns if not pd.api.types.is_numeric_dtype(self.scores[c])
        ]
        if non_numeric:
            raise ValueError(
                f"reference population {self.name!r}: columns {non_numeric} are not numeric "
                "scores; pass only dimension score columns"
            )

    @property
    def n(self) -> int:
        """Number of people in the population."""
        return len(self.scores)

    @classmethod
    def from_responses(
        cls,
        name: str,
        data: pd.DataFrame,
        instrument: Instrument,
        *,
        min_fraction: float = DEFAULT_MIN_FRACTION,
        description: str = "",
    ) -> ReferencePopulation:
        """Build a population by scoring a wide frame of answers.

        Examples
        --------
        >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
        >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
        >>> dim = Dimension("trust", "Trust", "", (Item("T1", "..."), Item("T2", "...")))
        >>> inst = Instrument("demo", 1, "Demo", scale, (dim,))
        >>> data = pd.DataFrame({"team": ["a", "b"], "T1": [2, 4], "T2": [4, 4]})
        >>> ReferencePopulation.from_responses("pilot", data, inst).scores
           trust
        0    3.0
        1    4.0
        """
        scores = score_dimensions(data, instrument, min_fraction=min_fraction)
        return cls(name=name, scores=scores, description=description)


def percentile_rank(values: ArrayLike, reference: ArrayLike) -> np.ndarray:
    """Mid-rank percentile of each value in a reference sample, 0-100.

    Parameters
    ----------
    values : array-like
        Values to place; ``NaN`` gives ``NaN``.
    reference : array-like
        Reference sample; ``NaN`` entries are ignored.

    Returns
    -------
    numpy.ndarray
        ``float64`` array of the shape of ``values``: the percent of the
        reference below each value plus half the percent equal to it.

    Examples
    --------
    >>> percentile_rank([1, 2.5, 4, np.nan], [1, 2, 3, 4])
    array([12.5, 50. , 87.5,  nan])
    """
    vals = np.asarray(values, dtype="float64")
    ref = np.asarray(reference, dtype="float64").ravel()
    ref = np.sort(ref[~np.isnan(ref)])
    if ref.size == 0:
        return np.full(vals.shape, np.nan)
    below = np.searchsorted(ref, vals, side="left")
    below_or_equal = np.searchsorted(ref, vals, side="right")
    ranks = 100.0 * (below + below_or_equal) / (2.0 * ref.size)
    return np.where(np.isnan(vals), np.nan, ranks)


def respondent_percentiles(
    scores: pd.DataFrame,
    reference: pd.DataFrame | ReferencePopulation | None = None,
) -> pd.DataFrame:
    """Percentile rank of every respondent's dimension scores.

    Parameters
    ----------
    scores : pandas.DataFrame
        Dimension scores, one row per respondent, one column per dimension.
    reference : pandas.DataFrame or ReferencePopulation, optional
        Individual scores to rank against, matched by column name; by default
        ``scores`` itself (each respondent against the whole sample).
        Dimensions absent from the reference get ``NaN``.

    Returns
    -------
    pandas.DataFrame
        Same index and columns as ``scores``, values in ``[0, 100]`` or ``NaN``.

    Examples
    --------
    >>> scores = pd.DataFrame({"trust": [1.0, 2.0, 3.0, 4.0]})
    >>> respondent_percentiles(scores)
       trust
    0   12.5
    1   37.5
    2   62.5
    3   87.5
    """
    ref = scores if reference is None else _reference_scores(reference)
    return _rank_columns(scores, ref)


def team_percentiles(
    team_means: pd.DataFrame,
    reference: pd.DataFrame | ReferencePopulation,
) -> pd.DataFrame:
    """Place each team's mean score among the *individual* scores of a population.

    A team's percentile answers "where would a person with this team's average
    score stand in the organization?". The reference is deliberately the
    distribution of individuals, not of team means: there are usually too few
    teams for a stable distribution of means, and individual norms are what
    the respondent reports use, so both read on the same ruler. Because means
    vary less than individuals, team percentiles cluster nearer 50 than
    respondent percentiles; reports should say so.

    Parameters
    ----------
    team_means : pandas.DataFrame
        One row per team, one column per dimension (e.g.
        ``scores.groupby(data["team"]).mean()``).
    reference : pandas.DataFrame or ReferencePopulation
        Individual scores of the organization (or an admin-loaded population),
        matched by column name. Dimensions absent from it get ``NaN``.

    Returns
    -------
    pandas.DataFrame
        Same index and columns as ``team_means``, values in ``[0, 100]`` or
        ``NaN``.

    Examples
    --------
    >>> people = pd.DataFrame({"trust": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> teams = pd.DataFrame({"trust": [1.5, 4.0]}, index=pd.Index(["a", "b"], name="team"))
    >>> team_percentiles(teams, people)  # doctest: +NORMALIZE_WHITESPACE
          trust
    team
    a      20.0
    b      70.0
    """
    return _rank_columns(team_means, _reference_scores(reference))


def _reference_scores(reference: pd.DataFrame | ReferencePopulation) -> pd.DataFrame:
    if isinstance(reference, ReferencePopulation):
        return reference.scores
    return reference


def _rank_columns(values: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    ranked = {
        column: (
            percentile_rank(
                values[column].to_numpy(dtype="float64", na_value=np.nan),
                reference[column].to_numpy(dtype="float64", na_value=np.nan),
            )
            if column in reference.columns
            else np.full(len(values), np.nan)
        )
        for column in values.columns
    }
    return pd.DataFrame(ranked, index=values.index, columns=values.columns)
