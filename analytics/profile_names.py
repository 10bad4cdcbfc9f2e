"""Short, neutral names for latent profiles, derived from their centroids.

A name only describes where a profile's centroid lies, in standard deviations
from the sample mean: it says which scores are high or low, never what kind of
person that is (no "pusher", no "collaborative"), because a profile is a
statistical summary of scores, not a diagnosis of its members.

* Dimensions at least :data:`HIGH_Z` above the mean are *high*, at most
  :data:`LOW_Z` below it *low*. The (up to) :data:`MAX_TERMS` strongest of
  them, by distance from the mean, name the profile: ``"High on time
  pressure & fixed-pie mindset"``, ``"High on trust, low on power
  imbalance"``.
* Every dimension high: ``"High on all dimensions"``; none high and every one
  at most :data:`ALL_LOW_Z`: ``"Low on all dimensions"``; nothing high or low:
  ``"Average"``.
* The only profile of a one-profile solution is ``"All respondents"``
  (:data:`SINGLE_PROFILE`).

Dimension names come from ``dimension_names`` (the instrument's), else
:data:`DEFAULT_DIMENSION_NAMES`, else the id; inside a name they are written in
lower case unless they look like an acronym.

Names are made unique within a solution deterministically: duplicates get the
dimension on which they differ most from their namesakes, e.g.
``"Average (higher trust)"`` and ``"Average (lower trust)"``, and if that is not
enough a number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

HIGH_Z = 0.5
LOW_Z = -0.5
ALL_LOW_Z = -0.25
MAX_TERMS = 3
SINGLE_PROFILE = "All respondents"

DEFAULT_DIMENSION_NAMES: Mapping[str, str] = {
    "trust": "Trust",
    "time_pressure": "Time pressure",
    "fixed_pie": "Fixed-pie mindset",
    "misalignment": "Internal misalignment",
    "power": "Power imbalance",
}


def display_name(dimension_id: str, dimension_names: Mapping[str, str] | None = None) -> str:
    """The display name of a dimension: the mapping, the default table, or the id.

    Examples
    --------
    >>> display_name("power"), display_name("power", {"power": "Power gap"}), display_name("x")
    ('Power imbalance', 'Power gap', 'x')
    """
    if dimension_names and dimension_id in dimension_names:
        return dimension_names[dimension_id]
    return DEFAULT_DIMENSION_NAMES.get(dimension_id, dimension_id)


def _in_sentence(name: str) -> str:
    """``"Time pressure"`` -> ``"time pressure"``; acronyms (``"BATNA use"``) stay."""
    if name[:1].isupper() and not name[1:2].isupper():
        return name[0].lower() + name[1:]
    return name


def _join(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " & " + names[-1]


def _base_name(row: pd.Series, dimension_names: Mapping[str, str] | None) -> str:
    values = row.to_numpy(dtype=float)
    ids = [str(c) for c in row.index]
    if len(ids) >= 2 and np.all(values >= HIGH_Z):
        return "High on all dimensions"
    if len(ids) >= 2 and np.all(values <= ALL_LOW_Z):
        return "Low on all dimensions"
    # Strongest deviations first; ties keep column order (stable sort).
    order = np.argsort(-np.abs(values), kind="stable")
    terms = [i for i in order if values[i] >= HIGH_Z or values[i] <= LOW_Z][:MAX_TERMS]
    if not terms:
        return "Average"
    names = {i: _in_sentence(display_name(ids[i], dimension_names)) for i in terms}
    high = [names[i] for i in terms if values[i] > 0]
    low = [names[i] for i in terms if values[i] < 0]
    parts = []
    if high:
        parts.append("high on " + _join(high))
    if low:
        parts.append("low on " + _join(low))
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


def _distinguish(
    centroids: pd.DataFrame, members: list[int], dimension_names: Mapping[str, str] | None
) -> list[str]:
    """A suffix per member: the dimension where it differs most from its namesakes."""
    block = centroids.iloc[members].to_numpy(dtype=float)
    suffixes = []
    for pos in range(len(members)):
        others = np.delete(block, pos, axis=0).mean(axis=0)
        diff = block[pos] - others
        j = int(np.argmax(np.abs(diff)))  # first maximum: deterministic
        direction = "higher" if diff[j] > 0 else "lower"
        name = _in_sentence(display_name(str(centroids.columns[j]), dimension_names))
        suffixes.append(f"{direction} {name}")
    return suffixes


def name_profiles(
    centroids_z: pd.DataFrame, dimension_names: Mapping[str, str] | None = None
) -> list[str]:
    """Short, unique, neutral names for profiles from their standardized centroids.

    Parameters
    ----------
    centroids_z : pandas.DataFrame
        One row per profile, one column per dimension id, values in standard
        deviations from the sample mean.
    dimension_names : mapping of str to str, optional
        Display names of dimension ids. Defaults to
        :data:`DEFAULT_DIMENSION_NAMES`, then the id.

    Returns
    -------
    list of str
        One name per row, in row order, unique within the list. The result
        depends only on the centroid values and column order. A single row is
        :data:`SINGLE_PROFILE`.

    Examples
    --------
    >>> z = pd.DataFrame(
    ...     [[0.1, 1.2, 0.9, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.8], [-0.6] * 5],
    ...     columns=["trust", "time_pressure", "fixed_pie", "misalignment", "power"],
    ... )
    >>> name_profiles(z)  # doctest: +NORMALIZE_WHITESPACE
    ['High on time pressure & fixed-pie mindset', 'High on trust & power imbalance',
     'Low on all dimensions']
    >>> name_profiles(pd.DataFrame({"a": [1.0, -1.0], "b": [-0.7, 0.0]}), {"a": "Anchoring"})
    ['High on anchoring, low on b', 'Low on anchoring']
    >>> name_profiles(pd.DataFrame({"a": [0.0]}))
    ['All respondents']
    """
    if len(centroids_z) == 1:
        return [SINGLE_PROFILE]
    names = [_base_name(row, dimension_names) for _, row in centroids_z.iterrows()]
    counts = Counter(names)
    for name, count in counts.items():
        if count < 2:
            continue
        members = [i for i, n in enumerate(names) if n == name]
        suffixes = _distinguish(centroids_z, members, dimension_names)
        for i, suffix in zip(members, suffixes, strict=True):
            names[i] = f"{name} ({suffix})"
    unique: list[str] = []
    for name in names:
        candidate, number = name, 1
        while candidate in unique:
            number += 1
            candidate = f"{name} {number}"
        unique.append(candidate)
    return unique
