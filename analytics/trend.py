"""A team's blockers across all its rounds, and the change in one line.

Each :class:`TrendPoint` is one round's *released* result for the team (the
mean, interval, standard deviation and count per blocker that the round's
release snapshot gave - e.g. :meth:`TrendPoint.from_findings` on the stored
diagnosis); callers never pass live answers. :func:`team_trend` lines the
points up (oldest first, as given) and compares the first with the last round
and the previous with the last, with the conventions of
:mod:`analytics.change`: rounds are independent groups, the change (later
minus earlier) gets Welch's t interval at 95%, and a change is *clear* when
that interval excludes zero. :func:`welch_change` computes it from the
summary figures; it equals :func:`analytics.change.dimension_change` on the
scores behind them (tested).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

import pandas as pd
from scipy import stats

from analytics.kit_schema import Kit, load_kit

__all__ = [
    "CONFIDENCE",
    "BlockerChange",
    "BlockerTrend",
    "Trend",
    "TrendPoint",
    "TrendValue",
    "change_phrase",
    "changes_from_frame",
    "team_trend",
    "welch_change",
]

#: Confidence level of a change's interval (as in :mod:`analytics.change`).
CONFIDENCE = 0.95


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class TrendPoint:
    """One released round of a team: per blocker the mean, interval, SD and count.

    ``n`` is the team's released respondent count; ``ns`` the members scored
    per blocker (``n`` when absent); ``ci`` the (low, high) interval per
    blocker; ``sds`` the standard deviation (``ddof=1``) per blocker, derived
    from the t interval when absent.
    """

    round_label: str
    closed_on: date | None
    n: int
    means: Mapping[str, float]
    ci: Mapping[str, tuple[float | None, float | None]] = field(default_factory=_frozen)
    sds: Mapping[str, float] = field(default_factory=_frozen)
    ns: Mapping[str, int] = field(default_factory=_frozen)

    @classmethod
    def from_findings(
        cls,
        round_label: str,
        closed_on: date | None,
        n: int,
        findings: Mapping[str, Any],
        blockers: Sequence[str] | None = None,
    ) -> TrendPoint:
        """A point from a released team diagnosis's findings (``TeamDiagnosis.dimensions``).

        Only blocker findings that are not withheld are kept (``blockers``
        restricts them further).
        """
        keep = {
            k: f
            for k, f in findings.items()
            if not f.withheld
            and f.mean is not None
            and (f.kind == "blocker" if blockers is None else k in blockers)
        }
        return cls(
            round_label=round_label,
            closed_on=closed_on,
            n=n,
            means=_frozen({k: float(f.mean) for k, f in keep.items()}),
            ci=_frozen({k: (f.ci_low, f.ci_high) for k, f in keep.items()}),
            sds=_frozen({k: float(f.sd) for k, f in keep.items() if f.sd is not None}),
            ns=_frozen({k: int(f.n_scored) for k, f in keep.items()}),
        )

    def count(self, blocker_id: str) -> int:
        """Members scored on a blocker."""
        return int(self.ns.get(blocker_id, self.n))

    def sd(self, blocker_id: str) -> float | None:
        """The blocker's SD, or the one its t interval implies; ``None`` if neither is known."""
        if blocker_id in self.sds:
            return float(self.sds[blocker_id])
        low, high = self.ci.get(blocker_id, (None, None))
        n = self.count(blocker_id)
        if low is None or high is None or n < 2:
            return None
        t = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1))
        return (high - low) / 2 * math.sqrt(n) / t


@dataclass(frozen=True)
class BlockerChange:
    """The change in one blocker between two rounds (later minus earlier), Welch interval.

    ``ci_low``/``ci_high``/``p_value`` are ``None`` when they cannot be
    computed (fewer than two scores, no variance).
    """

    blocker_id: str
    name: str
    before: float
    after: float
    change: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_before: int
    n_after: int

    @property
    def direction(self) -> str:
        """ "rose" or "fell" when the interval excludes zero, else "unchanged"."""
        if self.ci_low is None or self.ci_high is None:
            return "unchanged"
        if self.ci_low > 0:
            return "rose"
        if self.ci_high < 0:
            return "fell"
        return "unchanged"

    @property
    def clear(self) -> bool:
        """Whether the change is clear (its interval excludes zero)."""
        return self.direction != "unchanged"


@dataclass(frozen=True)
class TrendValue:
    """A blocker's released value in one round."""

    round_label: str
    mean: float
    ci_low: float | None
    ci_high: float | None
    n: int


@dataclass(frozen=True)
class BlockerTrend:
    """One blocker across the rounds: its values, and the change overall and at the last step."""

    blocker_id: str
    name: str
    values: tuple[TrendValue, ...]
    overall: BlockerChange | None
    last_step: BlockerChange | None


@dataclass(frozen=True)
class Trend:
    """A team's blockers across all its released rounds, with a one-line summary."""

    round_labels: tuple[str, ...]
    points: tuple[TrendPoint, ...]
    blockers: tuple[BlockerTrend, ...]
    summary: str

    def blocker(self, blocker_id: str) -> BlockerTrend | None:
        """One blocker's trend, or ``None``."""
        return next((b for b in self.blockers if b.blocker_id == blocker_id), None)

    @property
    def last_changes(self) -> Mapping[str, BlockerChange]:
        """The last step's change per blocker (what commitment follow-ups are shown beside)."""
        return _frozen({b.blocker_id: b.last_step for b in self.blockers if b.last_step})


def welch_change(
    before: tuple[float, float | None, int],
    after: tuple[float, float | None, int],
    confidence: float = CONFIDENCE,
) -> tuple[float, float | None, float | None, float | None]:
    """Change (after minus before), Welch interval and p-value from (mean, sd, n) pairs.

    The formula of :func:`analytics.change.dimension_change`; the interval and
    p-value are ``None`` unless both sides have two scores and some variance.

    Examples
    --------
    >>> change, low, high, p = welch_change((3.75, 0.6455, 4), (3.2, 0.5701, 5))
    >>> round(change, 2), round(low, 3), round(high, 3), round(p, 3)
    (-0.55, -1.552, 0.452, 0.229)
    """
    mean_b, sd_b, n_b = before
    mean_a, sd_a, n_a = after
    change = mean_a - mean_b
    if sd_b is None or sd_a is None or n_b < 2 or n_a < 2:
        return change, None, None, None
    var_b, var_a = sd_b**2 / n_b, sd_a**2 / n_a
    se = math.sqrt(var_b + var_a)
    if se <= 0:
        return change, None, None, None
    df = (var_b + var_a) ** 2 / (var_b**2 / (n_b - 1) + var_a**2 / (n_a - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    p_value = float(2 * stats.t.sf(abs(change) / se, df))
    return change, change - half, change + half, p_value


def _change(
    blocker_id: str, name: str, first: TrendPoint, last: TrendPoint
) -> BlockerChange | None:
    if blocker_id not in first.means or blocker_id not in last.means:
        return None
    before = (float(first.means[blocker_id]), first.sd(blocker_id), first.count(blocker_id))
    after = (float(last.means[blocker_id]), last.sd(blocker_id), last.count(blocker_id))
    change, low, high, p_value = welch_change(before, after)
    return BlockerChange(
        blocker_id, name, before[0], after[0], change, low, high, p_value, before[2], after[2]
    )


def changes_from_frame(
    frame: pd.DataFrame, names: Mapping[str, str] | None = None
) -> dict[str, BlockerChange]:
    """:func:`analytics.change.dimension_change`'s frame as :class:`BlockerChange` by blocker."""
    names = names or {}

    def number(value: Any) -> float | None:
        return None if value is None or pd.isna(value) else float(value)

    return {
        str(dim): BlockerChange(
            blocker_id=str(dim),
            name=names.get(str(dim), str(dim)),
            before=float(row["mean_before"]),
            after=float(row["mean_after"]),
            change=float(row["change"]),
            ci_low=number(row["ci_low"]),
            ci_high=number(row["ci_high"]),
            p_value=number(row["p_value"]),
            n_before=int(row["n_before"]),
            n_after=int(row["n_after"]),
        )
        for dim, row in frame.iterrows()
    }


def _names_of(blocker_ids: Sequence[str]) -> dict[str, str]:
    from analytics.advice import load_advice

    advice = load_advice()
    return {b: advice.blocker_or_generic(b, b).name for b in blocker_ids}


def team_trend(
    points: Sequence[TrendPoint],
    *,
    names: Mapping[str, str] | None = None,
    kit: Kit | None = None,
) -> Trend:
    """The team's blockers across all its released rounds (oldest first, as given).

    Parameters
    ----------
    points : sequence of TrendPoint
        One per released round of the team, oldest first; only figures from
        release snapshots.
    names : mapping, optional
        Blocker names by id (default: the advice framework's names).
    kit : Kit, optional
        The framework's kit sections, for the summary's wording.

    Returns
    -------
    Trend
        Every blocker that appears in some round, in order of first appearance,
        with the change from the first to the last round and from the previous
        to the last, and the summary sentence(s).
    """
    kit = kit or load_kit()
    wording = kit.trend.wording
    if not points:
        raise ValueError("a trend needs at least one round")
    blocker_ids = list(dict.fromkeys(b for p in points for b in p.means))
    names = dict(names) if names is not None else _names_of(blocker_ids)
    first, last = points[0], points[-1]
    previous = points[-2] if len(points) > 1 else None
    trends = []
    for b in blocker_ids:
        name = names.get(b, b)
        values = tuple(
            TrendValue(p.round_label, float(p.means[b]), *p.ci.get(b, (None, None)), p.count(b))
            for p in points
            if b in p.means
        )
        trends.append(
            BlockerTrend(
                blocker_id=b,
                name=name,
                values=values,
                overall=_change(b, name, first, last) if previous is not None else None,
                last_step=_change(b, name, previous, last) if previous is not None else None,
            )
        )
    if previous is None:
        summary = wording.one_round
    else:
        overall = _change_list([t.overall for t in trends], kit)
        summary = wording.since_first.format(first=first.round_label, list=overall)
        if len(points) > 2:
            step = _change_list([t.last_step for t in trends], kit)
            summary += " " + wording.since_previous.format(previous=previous.round_label, list=step)
    return Trend(
        round_labels=tuple(p.round_label for p in points),
        points=tuple(points),
        blockers=tuple(trends),
        summary=summary,
    )


def change_phrase(change: BlockerChange, kit: Kit | None = None) -> str:
    """ "{name} rose", "{name} fell" or "{name} did not change clearly" (framework wording)."""
    wording = (kit or load_kit()).trend.wording
    template = {"rose": wording.rose, "fell": wording.fell}.get(change.direction, wording.unchanged)
    return template.format(name=change.name)


def _change_list(changes: Sequence[BlockerChange | None], kit: Kit) -> str:
    clear = [c for c in changes if c is not None and c.clear]
    if not clear:
        return kit.trend.wording.no_clear_change
    return ", ".join(change_phrase(c, kit) for c in clear)
