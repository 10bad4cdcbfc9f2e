"""Us vs them: the team's own blocker profile beside its rating of a counterparty.

:func:`analyze_gap` puts, per blocker, the team's mean (from its released self
round) beside its rating of the counterparty (:mod:`analytics.counterparty`),
decides where each blocker is present on each side, and applies the pair rules
of the framework file (``pair_rules``) to pick the plays that fit the pair.

Level of a blocker on one side (``gap.reference`` in the framework file)
    *present* when the 95% interval, as printed (rounded by
    :func:`analytics.coarsen.display_round`, the rule the flags use), lies above
    the reference point ``min + reference * (max - min)`` (the midpoint, 3 on
    1-5); *absent* when it lies below; *unclear* otherwise, and whenever the
    interval is missing. Their side is *unclear* too when the team's ratings
    of it are not shared (``them`` is ``None``; ``them_shared`` is false).
Pair rules
    Applied in file order; a play recommended by several rules is listed once,
    with the first rule's id and reason.

Only figures from release snapshots may be passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from analytics.coarsen import display_round
from analytics.counterparty import CounterpartyRating, Interval, TooFewRaters, mean_interval
from analytics.kit_schema import Condition, Kit, PairRule, load_kit

__all__ = [
    "BlockerGap",
    "GapAnalysis",
    "Interval",
    "PairPlay",
    "analyze_gap",
    "level_of",
    "rule_fires",
]


@dataclass(frozen=True)
class BlockerGap:
    """One blocker on both sides.

    ``us`` is the team's own mean and interval; ``them`` the team's rating of the
    counterparty, ``None`` when the team's ratings do not agree on it
    (``them_shared`` false) or it was withheld. ``gap`` is them minus us (``None``
    without ``them``). Levels are "present", "absent" or "unclear".
    """

    blocker_id: str
    name: str
    us: Interval | None
    them: Interval | None
    gap: float | None
    us_level: str
    them_level: str
    them_shared: bool
    them_withheld: bool = False


@dataclass(frozen=True)
class PairPlay:
    """A play that fits the pair, with the rule that chose it and why."""

    play_id: str
    name: str
    rule_id: str
    reason: str


@dataclass(frozen=True)
class GapAnalysis:
    """The us-vs-them view of one team and one counterparty.

    ``both_sides`` lists the blockers present on both sides (instrument order);
    ``split_counterparty`` whether the counterparty is internally split (its
    ``gap.split_blocker`` is present on their side); ``plays`` the plays that fit
    the pair; ``shared`` whether the team's view of the counterparty as a whole
    is shared (the rating's ``profile_shared``). ``findings`` are the sentences
    every page prints (framework ``agreement.wording`` and ``gap.wording``).
    """

    team_n: int
    rater_n: int
    blockers: tuple[BlockerGap, ...]
    both_sides: tuple[str, ...]
    split_counterparty: bool
    plays: tuple[PairPlay, ...]
    shared: bool
    findings: tuple[str, ...] = ()
    reference_point: float = 3.0

    def blocker(self, blocker_id: str) -> BlockerGap | None:
        """The gap of one blocker, or ``None``."""
        return next((b for b in self.blockers if b.blocker_id == blocker_id), None)


def level_of(interval: Interval | None, reference_point: float) -> str:
    """ "present", "absent" or "unclear": the printed interval against the reference point.

    Examples
    --------
    >>> level_of(Interval(3.6, 3.26, 3.9), 3.0), level_of(Interval(2.5, 2.1, 2.96), 3.0)
    ('present', 'unclear')
    >>> level_of(Interval(2.5, 2.1, 2.9), 3.0), level_of(None, 3.0)
    ('absent', 'unclear')
    """
    if interval is None or interval.ci_low is None or interval.ci_high is None:
        return "unclear"
    if display_round(interval.ci_low) > reference_point:
        return "present"
    if display_round(interval.ci_high) < reference_point:
        return "absent"
    return "unclear"


def _holds(condition: Condition, blocker: BlockerGap | None) -> bool:
    if blocker is None:
        return False
    if condition.level == "not_shared":
        return not blocker.them_shared and not blocker.them_withheld
    us = blocker.us_level == condition.level
    them = blocker.them_level == condition.level
    return {"us": us, "them": them, "both": us and them, "either": us or them}[condition.side]


def rule_fires(rule: PairRule, blockers: Mapping[str, BlockerGap]) -> bool:
    """Whether a pair rule holds: every ``all`` condition, and one ``any`` if given."""
    if not all(_holds(c, blockers.get(c.blocker)) for c in rule.all):
        return False
    return not rule.any or any(_holds(c, blockers.get(c.blocker)) for c in rule.any)


def analyze_gap(
    team_scores: pd.DataFrame,
    rating: CounterpartyRating,
    framework: Kit | None = None,
    *,
    threshold: int | None = None,
    play_names: Mapping[str, str] | None = None,
) -> GapAnalysis:
    """The us-vs-them view of a team and a counterparty it rated.

    Parameters
    ----------
    team_scores : pandas.DataFrame
        The team's members in its released self round: one row per member, one
        column per blocker id, blocker scores on the instrument scale (as from
        :func:`analytics.scoring.score_dimensions`); ``NaN`` = not scored.
        Blockers not in ``rating`` are ignored.
    rating : CounterpartyRating
        The team's released rating of the counterparty.
    framework : Kit, optional
        The kit sections of the framework file (:func:`analytics.kit_schema.load_kit`).
    threshold : int, optional
        The anonymity threshold: with it, a team blocker scored for fewer
        members is left without an interval ("unclear"), and a team smaller
        than it raises :class:`~analytics.counterparty.TooFewRaters`.
    play_names : mapping, optional
        Play names by id (default: the advice framework's names).
    """
    kit = framework or load_kit()
    if play_names is None:
        from analytics.advice import load_advice

        advice = load_advice()
        play_names = {p.id: p.name for p in advice.plays}
    team_n = len(team_scores)
    if threshold is not None and team_n < threshold:
        raise TooFewRaters(team_n, threshold)
    reference = rating.scale_min + kit.gap.reference * (rating.scale_max - rating.scale_min)

    gaps = []
    for rated in rating.blockers:
        us = None
        if rated.blocker_id in team_scores.columns:
            values = team_scores[rated.blocker_id].to_numpy(dtype="float64", na_value=float("nan"))
            scored = int((~pd.isna(values)).sum())
            if scored and (threshold is None or scored >= threshold):
                us = mean_interval(values, rating.confidence)
        them = rated.interval if rated.shared else None
        gaps.append(
            BlockerGap(
                blocker_id=rated.blocker_id,
                name=rated.name,
                us=us,
                them=them,
                gap=None if us is None or them is None else them.mean - us.mean,
                us_level=level_of(us, reference),
                them_level=level_of(them, reference),
                them_shared=rated.shared,
                them_withheld=rated.withheld,
            )
        )
    by_id = {g.blocker_id: g for g in gaps}
    both = tuple(g.blocker_id for g in gaps if g.us_level == g.them_level == "present")
    split = kit.gap.split_blocker in by_id and by_id[kit.gap.split_blocker].them_level == "present"

    plays: dict[str, PairPlay] = {}
    for rule in kit.pair_rules:
        if not rule_fires(rule, by_id):
            continue
        for play_id in rule.plays:
            if play_id not in plays:
                plays[play_id] = PairPlay(
                    play_id, play_names.get(play_id, play_id), rule.id, rule.reason
                )

    wording = kit.gap.wording
    findings = list(rating.findings(kit))
    if both:
        findings.extend(wording.both_sides[b].format(name=by_id[b].name) for b in both)
    else:
        findings.append(wording.no_both_sides)
    return GapAnalysis(
        team_n=team_n,
        rater_n=rating.n,
        blockers=tuple(gaps),
        both_sides=both,
        split_counterparty=split,
        plays=tuple(plays.values()),
        shared=rating.profile_shared,
        findings=tuple(findings),
        reference_point=reference,
    )
