"""Short human names for latent profiles, derived from their centroids.

A profile is named after its *elevated* dimensions: standardized centroid
values of at least :data:`HIGH_Z` (half a standard deviation above the sample
mean), strongest first. The five default blocker dimensions have hand-written
phrases (``"Deadline-driven pusher"``, ``"Guarded zero-sum"`` ...); any other
dimension gets a generic name built from its display name (``"High Trust"``,
``"High A & B"``). A profile with no elevated dimension is ``"Collaborative"``
(default blockers) or ``"Low on all blockers"`` when every value is at most
:data:`LOW_Z`, and ``"Average"`` otherwise.

Names are made unique within a solution deterministically: duplicates get the
dimension on which they differ most from their namesakes, e.g.
``"Average (higher Trust)"`` and ``"Average (lower Trust)"``, and if that is not
enough a number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

HIGH_Z = 0.5
LOW_Z = -0.25

DEFAULT_BLOCKERS = ("trust", "time_pressure", "fixed_pie", "misalignment", "power")

DEFAULT_DIMENSION_NAMES: Mapping[str, str] = {
    "trust": "Trust",
    "time_pressure": "Time pressure",
    "fixed_pie": "Fixed-pie thinking",
    "misalignment": "Internal misalignment",
    "power": "Power imbalance",
}

_SINGLE = {
    "trust": "Guarded",
    "time_pressure": "Deadline-driven pusher",
    "fixed_pie": "Zero-sum thinker",
    "misalignment": "Divided team player",
    "power": "Pressure-prone",
}

_PAIR = {
    frozenset({"trust", "fixed_pie"}): "Guarded zero-sum",
    frozenset({"trust", "time_pressure"}): "Guarded deadline pusher",
    frozenset({"trust", "misalignment"}): "Guarded and divided",
    frozenset({"trust", "power"}): "Guarded and pressure-prone",
    frozenset({"time_pressure", "fixed_pie"}): "Zero-sum deadline pusher",
    frozenset({"time_pressure", "misalignment"}): "Divided deadline pusher",
    frozenset({"time_pressure", "power"}): "Pressured deadline pusher",
    frozenset({"fixed_pie", "misalignment"}): "Divided zero-sum",
    frozenset({"fixed_pie", "power"}): "Pressure-prone zero-sum",
    frozenset({"misalignment", "power"}): "Divided and pressure-prone",
}

_ADJECTIVE = {
    "trust": "guarded",
    "time_pressure": "deadline-driven",
    "fixed_pie": "zero-sum",
    "misalignment": "divided",
    "power": "pressure-prone",
}


def display_name(dimension_id: str, dimension_names: Mapping[str, str] | None = None) -> str:
    """The display name of a dimension: the mapping, the default table, or the id."""
    if dimension_names and dimension_id in dimension_names:
        return dimension_names[dimension_id]
    return DEFAULT_DIMENSION_NAMES.get(dimension_id, dimension_id)


def _base_name(row: pd.Series, dimension_names: Mapping[str, str] | None) -> str:
    values = row.to_numpy(dtype=float)
    ids = [str(c) for c in row.index]
    # Strongest first; ties keep column order (stable sort).
    order = np.argsort(-values, kind="stable")
    elevated = [ids[i] for i in order if values[i] >= HIGH_Z]
    all_default = all(i in _SINGLE for i in ids)
    if not elevated:
        if np.all(values <= LOW_Z):
            return "Collaborative" if all_default else "Low on all blockers"
        return "Average"
    if len(elevated) == len(ids) and len(ids) >= 3:
        return "High on all blockers"
    top = elevated[:3]
    if all(i in _SINGLE for i in top):
        if len(top) == 1:
            return _SINGLE[top[0]]
        if len(top) == 2:
            return _PAIR[frozenset(top)]
        first, second, third = (_ADJECTIVE[i] for i in top)
        return f"{first.capitalize()}, {second} & {third}"
    labels = [display_name(i, dimension_names) for i in top]
    if len(labels) == 1:
        return f"High {labels[0]}"
    return "High " + ", ".join(labels[:-1]) + " & " + labels[-1]


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
        suffixes.append(f"{direction} {display_name(str(centroids.columns[j]), dimension_names)}")
    return suffixes


def name_profiles(
    centroids_z: pd.DataFrame, dimension_names: Mapping[str, str] | None = None
) -> list[str]:
    """Short, unique human names for profiles from their standardized centroids.

    Parameters
    ----------
    centroids_z : pandas.DataFrame
        One row per profile, one column per dimension id, values in standard
        deviations from the sample mean (high = more of the blocker).
    dimension_names : mapping of str to str, optional
        Display names of dimension ids, used in generic names and to tell
        namesakes apart. Defaults to :data:`DEFAULT_DIMENSION_NAMES`, then the id.

    Returns
    -------
    list of str
        One name per row, in row order, unique within the list. The result
        depends only on the centroid values and column order.

    Examples
    --------
    >>> z = pd.DataFrame(
    ...     [[0.1, 1.2, 0.0, 0.0, 0.0], [1.0, 0.0, 0.8, 0.0, 0.0], [-0.6] * 5],
    ...     columns=["trust", "time_pressure", "fixed_pie", "misalignment", "power"],
    ... )
    >>> name_profiles(z)
    ['Deadline-driven pusher', 'Guarded zero-sum', 'Collaborative']
    >>> name_profiles(pd.DataFrame({"a": [1.0, -1.0]}), {"a": "Anchoring"})
    ['High Anchoring', 'Low on all blockers']
    """
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
