"""Team flags with uncertainty: when a blocker is a team's *main* blocker, and in what order.

A team's blocker is flagged only when its difference from the organization is
credible, with the false-discovery rate controlled across every team and
blocker of the round; a flag that a small team, or one member, could produce
is worded as *tentative*. The order in which a team's blockers are named is a
separate question (which blocker stands out most), answered with the team's
profile mix taken into account.

The rule
--------
For every shown team ``t`` and blocker ``j`` that is not withheld:

Difference from the organization
    ``d = m_tj - M_j``, the team mean minus the mean of the organization
    reference (the scores :mod:`analytics.diagnosis` places teams in; the
    team's own scores are part of it). Its standard error is
    ``s_j * sqrt(1/n_tj - 1/N_j)``, where ``s_j`` is the pooled within-team
    standard deviation of the blocker over the shown teams (a small team's
    own SD is too noisy to judge it by), ``N_j`` the size of the reference;
    ``z = d / se``.
False-discovery control
    One-sided p-values (Student t with the pooled degrees of freedom) for
    "higher than the organization" are collected over all teams x blockers
    and the Benjamini-Hochberg procedure is applied at :data:`FLAG_FDR`
    (0.10); "lower than the organization" (a strength) gets its own
    procedure at the same rate. Only the cells BH selects can be flagged.
    When teams do not differ beyond chance, the whole round gets no flag
    with probability at least ``1 - FLAG_FDR``.
What the reader sees agrees
    A blocker selected above the organization is flagged only when the
    team's 95% interval, *as printed* (rounded by
    :func:`analytics.coarsen.display_round`), lies above the organization
    median drawn in the chart; a strength only when it lies below it. So no
    main blocker has an interval that reaches the median line.
Tentative
    A flag is *tentative* when the team has fewer than
    :data:`analytics.coarsen.SMALL_GROUP` (10) scored members, or when it is
    *fragile*: leaving out the one member who pushes the result most (the
    highest score for a blocker, the lowest for a strength) takes ``z`` below
    the cut-off the round's BH procedure used. Otherwise it is a *main*
    blocker (or a firm strength).
Order
    A team's blockers are ranked main first, then tentative, then the others
    above the organization mean, then the rest; within each group by the
    *profile-adjusted* evidence: each member's score minus what their profile
    (the posterior probabilities of :mod:`analytics.profiles`, when given)
    predicts, averaged over the team and divided by its standard error (the
    pooled within-team SD of those residuals over ``sqrt(n)``). A blocker that
    is high only because the team has many members of a profile high on it
    ranks below one that stands out beyond the team's profile mix. Without
    profiles the residual is the score minus the organization mean, so the
    order is that of the plain difference. Ties: the larger difference, then
    instrument order.

Simulation (:mod:`analytics.flag_simulation`, ``bench/bench_flags.py``)
measures how often the right blocker is ranked first in teams with one
shifted blocker, and how often teams without any effect get a flag.

Examples
--------
>>> cells = {
...     ("red", "trust"): CellStats(n=12, mean=4.1, ci_low=3.8, ci_high=4.4, highest=5.0,
...                                 lowest=3.0, adjusted=1.1),
...     ("blue", "trust"): CellStats(n=12, mean=2.9, ci_low=2.5, ci_high=3.3, highest=4.0,
...                                  lowest=2.0, adjusted=-0.1),
... }
>>> ref = {"trust": BlockerReference(mean=3.0, median=3.0, n=60, sd=0.5, df=58,
...                                  adjusted_sd=0.5)}
>>> flags = flag_round(cells, ref, ["trust"])
>>> flags["red"].flags["trust"].level, flags["blue"].flags["trust"].level
('main', None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import stats

from analytics.coarsen import SMALL_GROUP, display_round

__all__ = [
    "FLAG_FDR",
    "LEVELS",
    "BlockerFlag",
    "BlockerReference",
    "CellStats",
    "TeamFlags",
    "benjamini_hochberg",
    "flag_round",
]

#: False-discovery rate controlled across all teams x blockers of a round.
FLAG_FDR = 0.10

#: Flag levels: a main blocker, a tentative one, a strength (``None``: no flag).
LEVELS = ("main", "tentative", "strength")


@dataclass(frozen=True)
class CellStats:
    """One team's statistics on one blocker, as the flag rule needs them.

    ``highest`` and ``lowest`` are the extreme member scores, used only to
    check whether one member makes the flag (never shown or published);
    ``adjusted`` is the team mean of the profile-adjusted residuals.
    """

    n: int
    mean: float
    ci_low: float | None
    ci_high: float | None
    highest: float
    lowest: float
    adjusted: float


@dataclass(frozen=True)
class BlockerReference:
    """The organization reference of one blocker.

    ``sd`` and ``df`` are the pooled within-team standard deviation and its
    degrees of freedom; ``adjusted_sd`` the same for the profile-adjusted
    residuals.
    """

    mean: float
    median: float
    n: int
    sd: float
    df: int
    adjusted_sd: float


@dataclass(frozen=True)
class BlockerFlag:
    """The verdict on one blocker of one team.

    ``level`` is "main", "tentative", "strength" or ``None``. ``tentative``
    is set for tentative blockers and for strengths of a small team or a
    fragile one. ``estimate`` is the team mean minus the organization mean (scale
    points), ``z`` its standardized value, ``adjusted_z`` the profile-adjusted
    evidence that orders the team's blockers; ``rank`` is 0 for the blocker
    named first.
    """

    dimension: str
    level: str | None
    tentative: bool
    fragile: bool
    estimate: float
    z: float
    p_above: float
    p_below: float
    adjusted_z: float
    rank: int

    @property
    def above(self) -> bool:
        """Whether the blocker is flagged as holding the team back (main or tentative)."""
        return self.level in ("main", "tentative")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe verdict; the statistics behind it stay unpublished (they would
        give the exact team mean back)."""
        return {"level": self.level, "tentative": self.tentative, "rank": self.rank}


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class TeamFlags:
    """A team's flags by blocker and the order its blockers are named in."""

    flags: Mapping[str, BlockerFlag] = field(default_factory=_frozen)
    ranking: tuple[str, ...] = ()

    @property
    def above(self) -> tuple[str, ...]:
        """Flagged blockers (main, then tentative), in ranking order."""
        return tuple(b for b in self.ranking if self.flags[b].above)

    @property
    def strengths(self) -> tuple[str, ...]:
        """Blockers flagged as strengths, the most credible first."""
        found = [f for f in self.flags.values() if f.level == "strength"]
        found.sort(key=lambda f: (f.z, f.estimate, self.ranking.index(f.dimension)))
        return tuple(f.dimension for f in found)


def benjamini_hochberg(p_values: Sequence[float], q: float) -> float:
    """The Benjamini-Hochberg cut-off: p-values at or below it are discoveries.

    The cut-off is ``R * q / m`` for ``R`` discoveries among ``m`` tests (the
    step-up line where the procedure stops); exactly the ``R`` smallest
    p-values lie at or below it. ``NaN`` p-values are not tests (they count
    towards neither the number of tests nor the discoveries). Returns ``-inf``
    when nothing is discovered.

    Examples
    --------
    >>> benjamini_hochberg([0.001, 0.008, 0.039, 0.041, 0.6], 0.05)
    0.02
    >>> benjamini_hochberg([0.3, 0.5, float("nan")], 0.05)
    -inf
    """
    values = np.asarray([p for p in p_values if not math.isnan(p)], dtype="float64")
    m = values.size
    if not m:
        return -math.inf
    ordered = np.sort(values)
    passing = np.flatnonzero(ordered <= q * np.arange(1, m + 1) / m)
    return float((passing[-1] + 1) * q / m) if passing.size else -math.inf


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` with a zero denominator giving +-inf (or NaN for 0/0)."""
    if denominator > 0:
        return numerator / denominator
    if numerator == 0 or math.isnan(numerator):
        return math.nan
    return math.copysign(math.inf, numerator)


def _z(mean: float, n: int, ref: BlockerReference) -> float:
    factor = 1.0 / n - 1.0 / ref.n if n > 0 and ref.n > 0 else math.nan
    if not factor > 0:
        return math.nan if not n else _ratio(mean - ref.mean, 0.0)
    return _ratio(mean - ref.mean, ref.sd * math.sqrt(factor))


def _p_values(
    keys: Sequence[tuple[str, str]],
    z: Mapping[tuple[str, str], float],
    references: Mapping[str, BlockerReference],
    *,
    upper: bool,
) -> dict[tuple[str, str], float]:
    """One-sided Student t p-values of every cell (NaN where ``z`` is NaN), in one call."""
    values = np.array([z[k] for k in keys], dtype="float64")
    df = np.array([max(references[k[1]].df, 1) for k in keys], dtype="float64")
    p = stats.t.sf(values if upper else -values, df) if keys else np.empty(0)
    return {k: float(v) for k, v in zip(keys, p, strict=True)}


def _cut(p_cut: float, df: int) -> float:
    """The z at which a one-sided p-value equals the BH cut-off."""
    if p_cut == -math.inf:
        return math.inf
    if p_cut <= 0:
        return math.inf
    return float(stats.t.isf(p_cut, max(df, 1)))


def flag_round(
    cells: Mapping[tuple[str, str], CellStats],
    references: Mapping[str, BlockerReference],
    order: Sequence[str],
    *,
    fdr: float = FLAG_FDR,
    small_team: int = SMALL_GROUP,
) -> dict[str, TeamFlags]:
    """Flag and order every shown team's blockers (rules in the module docstring).

    Parameters
    ----------
    cells : mapping of (team, blocker) to CellStats
        The rated (not withheld) blockers of the shown teams.
    references : mapping of str to BlockerReference
        The organization reference of each blocker.
    order : sequence of str
        Blocker ids in instrument order (the last tie-break).
    fdr : float, default 0.10
        False-discovery rate of each BH procedure (above, below).
    small_team : int, default 10
        Teams with fewer scored members get tentative flags only.

    Returns
    -------
    dict of str to TeamFlags
        One entry per team that has at least one cell.
    """
    if not 0 < fdr < 1:
        raise ValueError(f"fdr must lie between 0 and 1, got {fdr!r}")
    keys = list(cells)
    z = {k: _z(cells[k].mean, cells[k].n, references[k[1]]) for k in keys}
    p_above = _p_values(keys, z, references, upper=True)
    p_below = _p_values(keys, z, references, upper=False)
    cut_above = benjamini_hochberg(list(p_above.values()), fdr)
    cut_below = benjamini_hochberg(list(p_below.values()), fdr)

    verdicts: dict[tuple[str, str], tuple[str | None, bool, bool]] = {}
    for key in keys:
        cell, ref = cells[key], references[key[1]]
        level, fragile = None, False
        if p_above[key] <= cut_above and _shown_above(cell, ref):
            fragile = _fragile(cell, ref, _cut(cut_above, ref.df), above=True)
            level = "tentative" if fragile or cell.n < small_team else "main"
        elif p_below[key] <= cut_below and _shown_below(cell, ref):
            fragile = _fragile(cell, ref, _cut(cut_below, ref.df), above=False)
            level = "strength"
        tentative = level is not None and (fragile or cell.n < small_team)
        verdicts[key] = (level, tentative, fragile)

    position = {b: i for i, b in enumerate(order)}
    adjusted = {k: _adjusted_z(cells[k], references[k[1]]) for k in keys}

    def sort_key(k: tuple[str, str]) -> tuple[int, float, float, int]:
        level = verdicts[k][0]
        estimate = cells[k].mean - references[k[1]].mean
        group = {"main": 0, "tentative": 1}.get(level or "", 2 if estimate > 0 else 3)
        evidence = adjusted[k] if not math.isnan(adjusted[k]) else -math.inf
        return (group, -evidence, -estimate, position.get(k[1], len(position)))

    by_team: dict[str, list[tuple[str, str]]] = {}
    for key in keys:
        by_team.setdefault(key[0], []).append(key)
    result: dict[str, TeamFlags] = {}
    for team, mine in by_team.items():
        ranked = sorted(mine, key=sort_key)
        flags = {
            k[1]: BlockerFlag(
                dimension=k[1],
                level=verdicts[k][0],
                tentative=verdicts[k][1],
                fragile=verdicts[k][2],
                estimate=cells[k].mean - references[k[1]].mean,
                z=z[k],
                p_above=p_above[k],
                p_below=p_below[k],
                adjusted_z=adjusted[k],
                rank=rank,
            )
            for rank, k in enumerate(ranked)
        }
        result[team] = TeamFlags(
            flags=_frozen({b: flags[b] for b in sorted(flags, key=lambda b: position.get(b, 0))}),
            ranking=tuple(k[1] for k in ranked),
        )
    return result


def _adjusted_z(cell: CellStats, ref: BlockerReference) -> float:
    if cell.n <= 0 or math.isnan(cell.adjusted):
        return math.nan
    return _ratio(cell.adjusted, ref.adjusted_sd / math.sqrt(cell.n))


def _shown_above(cell: CellStats, ref: BlockerReference) -> bool:
    """The printed interval lies above the printed organization median."""
    if cell.ci_low is None or not math.isfinite(cell.ci_low) or not math.isfinite(ref.median):
        return False
    return display_round(cell.ci_low) > display_round(ref.median)


def _shown_below(cell: CellStats, ref: BlockerReference) -> bool:
    if cell.ci_high is None or not math.isfinite(cell.ci_high) or not math.isfinite(ref.median):
        return False
    return display_round(cell.ci_high) < display_round(ref.median)


def _fragile(cell: CellStats, ref: BlockerReference, cut: float, *, above: bool) -> bool:
    """Whether leaving out the member who pushes the result most loses the flag."""
    if cell.n < 2:
        return True
    extreme = cell.highest if above else cell.lowest
    mean = (cell.mean * cell.n - extreme) / (cell.n - 1)
    z = _z(mean, cell.n - 1, ref)
    if math.isnan(z):
        return True
    return z < cut if above else -z < cut
