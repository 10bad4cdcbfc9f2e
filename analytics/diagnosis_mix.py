"""The profile mix of a diagnosis: expected members per profile, merged or withheld.

The anonymity rules are in :mod:`analytics.diagnosis` ("Profile mix").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.diagnosis_results import OTHER_PROFILES, ProfileMix, frozen_mapping
from analytics.diagnosis_stats import rows_by_team, segments


def profile_mixes(
    profiles: pd.DataFrame | None,
    index: pd.Index,
    codes: np.ndarray,
    shown: list[str],
    threshold: int,
) -> dict[str, ProfileMix] | None:
    """Every shown team's profile mix; ``codes`` as in :func:`basic_findings`."""
    if profiles is None:
        return None
    probabilities = profiles if profiles.index.equals(index) else profiles.reindex(index)
    values = probabilities.to_numpy(dtype="float64", na_value=np.nan)
    rows = rows_by_team(codes, ~np.isnan(values).any(axis=1))
    bounds = segments(codes[rows], len(shown))
    assigned = values[rows]
    likeliest = assigned.argmax(axis=1) if assigned.shape[1] else np.zeros(len(rows), dtype=int)
    # One contiguous row per profile, so each team's expected count sums a contiguous run.
    by_profile = np.ascontiguousarray(assigned.T)
    labels = [str(name) for name in probabilities.columns]
    return {
        team: _profile_mix(
            by_profile[:, bounds[i] : bounds[i + 1]],
            likeliest[bounds[i] : bounds[i + 1]],
            labels,
            threshold,
        )
        for i, team in enumerate(shown)
    }


def _profile_mix(
    by_profile: np.ndarray, likeliest: np.ndarray, labels: list[str], threshold: int
) -> ProfileMix:
    """One team's profile mix under the anonymity rules of the module docstring.

    ``by_profile`` holds the posterior probabilities of the team's assigned members
    (one row per profile, one column per member), ``likeliest`` each member's most
    likely profile.
    """
    n_assigned = int(likeliest.size)
    if n_assigned < threshold:
        return ProfileMix(
            shown=False,
            n_assigned=n_assigned,
            reason=f"fewer than {threshold} members could be assigned a profile",
        )
    if bool(np.all(likeliest == likeliest[0])):
        return ProfileMix(
            shown=False,
            n_assigned=n_assigned,
            reason="every member is most likely in the same profile; showing the mix "
            "would reveal each person's profile",
        )
    sums = np.add.reduce(by_profile, axis=1)
    # Largest first; ties keep the column order (a stable sort).
    expected = dict(sorted(zip(labels, sums, strict=True), key=lambda item: -item[1]))

    def total(names: list[str]) -> float:
        return float(np.add.reduce(np.array([expected[name] for name in names], dtype="float64")))

    large = [name for name, count in expected.items() if count >= threshold]
    small = [name for name, count in expected.items() if count < threshold]
    if small:
        other = total(small)
        # Merge the smallest named profiles as well when the small ones alone stay under
        # the threshold, as long as one named profile is left to contrast with.
        while other < threshold and len(large) > 1:
            small.insert(0, large.pop())
            other += float(expected[small[0]])
        if other < threshold or not large:
            return ProfileMix(
                shown=False,
                n_assigned=n_assigned,
                reason=f"the profile groups would be smaller than {threshold} members, "
                "even after merging the small ones",
            )
    counts = {name: float(expected[name]) for name in large}
    if small:
        counts[OTHER_PROFILES] = total(small)
    return ProfileMix(
        shown=True,
        n_assigned=n_assigned,
        counts=frozen_mapping(counts),
        merged=tuple(sorted(small, key=lambda name: -float(expected[name]))),
    )
