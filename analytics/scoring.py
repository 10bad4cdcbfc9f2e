"""Turn item answers into dimension scores.

All functions take a *wide frame*: one row per respondent, a ``team`` column,
optionally ``respondent`` and context columns, and one numeric column per item
id (``NaN`` = unanswered). Item answers are first reverse-keyed on each item's
own response scale, so that for every dimension a higher score means *more* of
what the dimension measures.

A respondent's dimension score is the mean of the answered items of that
dimension, provided enough of them were answered (see :func:`min_answered`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.instrument import Dimension, Instrument

__all__ = [
    "DEFAULT_MIN_FRACTION",
    "keyed_items",
    "min_answered",
    "reverse_key",
    "score_dimensions",
    "scoring_summary",
    "select_dimensions",
]

DEFAULT_MIN_FRACTION = 2 / 3

# ceil() of a product such as 0.7 * 10 = 7.000000000000001 must still give 7.
_CEIL_TOLERANCE = 1e-9


def min_answered(n_items: int, min_fraction: float = DEFAULT_MIN_FRACTION) -> int:
    """How many of a dimension's items must be answered for it to be scored.

    The rule is ``max(1, ceil(min_fraction * n_items))``: a fraction is rounded
    *up*, so the respondent must answer at least ``min_fraction`` of the items.

    Parameters
    ----------
    n_items : int
        Number of items of the dimension.
    min_fraction : float, default 2/3
        Smallest fraction of items that must be answered, in ``[0, 1]``.

    Returns
    -------
    int
        The minimum number of answered items.

    Examples
    --------
    >>> min_answered(5)  # 2/3 of 5 is 3.33, rounded up
    4
    >>> min_answered(2)  # 2/3 of 2 is 1.33, rounded up
    2
    >>> min_answered(3)
    2
    >>> min_answered(5, min_fraction=0.0)
    1
    """
    if not 0.0 <= min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be between 0 and 1, got {min_fraction!r}")
    return max(1, math.ceil(min_fraction * n_items - _CEIL_TOLERANCE))


def reverse_key(data: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Reverse-key the reverse-worded items of a wide frame.

    Every column named after an item with ``reverse=True`` becomes
    ``scale.min + scale.max - x`` on that item's own response scale
    (:meth:`Instrument.scale_for`). Other columns, and reverse items that are
    absent from ``data``, are left as they are. Applying the function twice
    gives back the original values.

    Parameters
    ----------
    data : pandas.DataFrame
        Wide frame of answers.
    instrument : Instrument
        The questionnaire the answers belong to.

    Returns
    -------
    pandas.DataFrame
        A new frame; ``data`` is not modified.

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> dim = Dimension("trust", "Trust", "", (Item("T1", "..."), Item("T2", "...", True)))
    >>> inst = Instrument("demo", 1, "Demo", scale, (dim,))
    >>> reverse_key(pd.DataFrame({"T1": [1, 4], "T2": [1, 4]}), inst)
       T1  T2
    0   1   5
    1   4   2
    """
    out = data.copy()
    for item in instrument.items:
        if item.reverse and item.id in out.columns:
            scale = instrument.scale_for(item.id)
            out[item.id] = (scale.min + scale.max) - out[item.id]
    return out


def keyed_items(data: pd.DataFrame, instrument: Instrument, dimension: str) -> pd.DataFrame:
    """The reverse-keyed answers to one dimension's items, as floats.

    Parameters
    ----------
    data : pandas.DataFrame
        Wide frame of answers; must hold every item column of the dimension.
    instrument : Instrument
        The questionnaire the answers belong to.
    dimension : str
        Dimension id.

    Returns
    -------
    pandas.DataFrame
        Index of ``data``, one ``float64`` column per item in questionnaire
        order, ``NaN`` where unanswered.

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> dim = Dimension("trust", "Trust", "", (Item("T1", "..."), Item("T2", "...", True)))
    >>> inst = Instrument("demo", 1, "Demo", scale, (dim,))
    >>> keyed_items(pd.DataFrame({"team": ["a"], "T1": [2], "T2": [4]}), inst, "trust")
        T1   T2
    0  2.0  2.0
    """
    dim = instrument.dimension(dimension)
    _require_item_columns(data, (dim,))
    ids = list(dim.item_ids)
    keyed = reverse_key(data[ids], instrument)
    return pd.DataFrame(
        keyed.to_numpy(dtype="float64", na_value=np.nan), index=data.index, columns=ids
    )


def score_dimensions(
    data: pd.DataFrame,
    instrument: Instrument,
    *,
    min_fraction: float = DEFAULT_MIN_FRACTION,
    dimensions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Score every respondent on every dimension.

    A score is the mean of the respondent's answered, reverse-keyed items of
    the dimension. It is ``NaN`` unless at least
    ``max(1, ceil(min_fraction * n_items))`` items were answered: with the
    default 2/3, a 5-item dimension needs 4 answers (3.33 rounded up), a
    3-item dimension needs 2 and a 2-item dimension needs both.

    Parameters
    ----------
    data : pandas.DataFrame
        Wide frame of answers; must hold the item columns of the scored
        dimensions (``ValueError`` otherwise).
    instrument : Instrument
        The questionnaire the answers belong to.
    min_fraction : float, default 2/3
        Smallest fraction of a dimension's items that must be answered.
    dimensions : sequence of str, optional
        Dimension ids to score; all dimensions when omitted.

    Returns
    -------
    pandas.DataFrame
        Index of ``data``, one ``float64`` column per scored dimension, in
        instrument order (whatever the order of ``dimensions``).

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> items = (Item("T1", "..."), Item("T2", "..."), Item("T3", "...", reverse=True))
    >>> inst = Instrument("demo", 1, "Demo", scale, (Dimension("trust", "Trust", "", items),))
    >>> data = pd.DataFrame({"T1": [4, 5, None], "T2": [4, None, None], "T3": [1, 1, 2]})
    >>> score_dimensions(data, inst)
          trust
    0  4.333333
    1  5.000000
    2       NaN
    """
    selected = select_dimensions(instrument, dimensions)
    _require_item_columns(data, selected)
    scores = {}
    for dim in selected:
        values = keyed_items(data, instrument, dim.id).to_numpy()
        answered = np.count_nonzero(~np.isnan(values), axis=1)
        total = np.nansum(values, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / answered
        mean[answered < min_answered(len(dim.items), min_fraction)] = np.nan
        scores[dim.id] = mean
    return pd.DataFrame(scores, index=data.index, columns=[dim.id for dim in selected])


def scoring_summary(
    data: pd.DataFrame,
    instrument: Instrument,
    *,
    min_fraction: float = DEFAULT_MIN_FRACTION,
) -> pd.DataFrame:
    """Count, per dimension, how many respondents could be scored.

    Parameters
    ----------
    data : pandas.DataFrame
        Wide frame of answers.
    instrument : Instrument
        The questionnaire the answers belong to.
    min_fraction : float, default 2/3
        As in :func:`score_dimensions`.

    Returns
    -------
    pandas.DataFrame
        Indexed by dimension id, with integer columns ``n_items``,
        ``min_answered`` (answers needed for a score), ``n_scored`` and
        ``n_unscored`` (respondents with and without a score).

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> items = (Item("T1", "..."), Item("T2", "..."), Item("T3", "..."))
    >>> inst = Instrument("demo", 1, "Demo", scale, (Dimension("trust", "Trust", "", items),))
    >>> data = pd.DataFrame({"T1": [4, 5, None], "T2": [4, None, None], "T3": [1, 1, 2]})
    >>> scoring_summary(data, inst)  # doctest: +NORMALIZE_WHITESPACE
               n_items  min_answered  n_scored  n_unscored
    dimension
    trust            3             2         2           1
    """
    scores = score_dimensions(data, instrument, min_fraction=min_fraction)
    n_scored = scores.notna().sum(axis=0).astype("int64")
    summary = pd.DataFrame(
        {
            "n_items": [len(dim.items) for dim in instrument.dimensions],
            "min_answered": [
                min_answered(len(dim.items), min_fraction) for dim in instrument.dimensions
            ],
            "n_scored": n_scored.to_numpy(),
            "n_unscored": len(scores) - n_scored.to_numpy(),
        },
        index=pd.Index([dim.id for dim in instrument.dimensions], name="dimension"),
    )
    return summary


def select_dimensions(
    instrument: Instrument, dimensions: Sequence[str] | None = None
) -> tuple[Dimension, ...]:
    """The instrument's dimensions with the given ids, in instrument order.

    Parameters
    ----------
    instrument : Instrument
        The questionnaire.
    dimensions : sequence of str, optional
        Dimension ids; every dimension when omitted.

    Returns
    -------
    tuple of Dimension
        In the order of ``instrument.dimensions``; ``ValueError`` names any
        unknown id.

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> dims = tuple(Dimension(d, d, "", (Item(d + "1", "..."),)) for d in ("a", "b", "c"))
    >>> inst = Instrument("demo", 1, "Demo", scale, dims)
    >>> [dim.id for dim in select_dimensions(inst, ["c", "a"])]
    ['a', 'c']
    """
    if dimensions is None:
        return instrument.dimensions
    if isinstance(dimensions, str):
        raise TypeError("dimensions must be a sequence of dimension ids, not a single string")
    known = {dim.id for dim in instrument.dimensions}
    unknown = [d for d in dimensions if d not in known]
    if unknown:
        raise ValueError(f"unknown dimension id(s) {unknown}; the instrument has {sorted(known)}")
    wanted = set(dimensions)
    return tuple(dim for dim in instrument.dimensions if dim.id in wanted)


def _require_item_columns(data: pd.DataFrame, dimensions: Sequence[Dimension]) -> None:
    missing = [i for dim in dimensions for i in dim.item_ids if i not in data.columns]
    if missing:
        raise ValueError(
            f"the data has no column for item(s) {missing}; add them (NaN = unanswered)"
        )
