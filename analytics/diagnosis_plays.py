"""Plays and pillars of a diagnosis: the summary, checklist, pillar levels and plays.

Everything here reads the team's flags (:mod:`analytics.flags`) and findings
and the advice file; the rules are listed in :mod:`analytics.diagnosis`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analytics.advice import Advice, BlockerAdvice, fill_sentence
from analytics.coarsen import display_round_or_none, scale_point
from analytics.diagnosis_results import (
    DimensionFinding,
    OrgDimension,
    PillarSummary,
    PracticeGap,
    RecommendedPlay,
)
from analytics.diagnosis_stats import scale_of
from analytics.flags import (
    BlockerFlag,
    TeamFlags,
)
from analytics.instrument import Instrument


def with_note(sentence: str, flag: BlockerFlag, finding: DimensionFinding, advice: Advice) -> str:
    """A sentence about a flagged blocker, with why it is tentative when it is."""
    if not flag.tentative:
        return sentence
    return f"{sentence} {advice.wording.tentative_note(finding.n_scored, flag.fragile)}"


def summary_sentence(
    team_flags: TeamFlags,
    findings: Mapping[str, DimensionFinding],
    blocker_advice: Mapping[str, BlockerAdvice],
    advice: Advice,
) -> str | None:
    """The summary sentence: the first top blocker, or that none stands out."""
    wording = advice.wording
    if not team_flags.ranking:
        return None
    top = team_flags.above
    if top:
        first, finding = top[0], findings[top[0]]
        flag = team_flags.flags[first]
        if flag.level == "main":
            return blocker_advice[first].summary_sentence(finding.n_prevalent, finding.n_scored)
        sentence = fill_sentence(
            wording.tentative_summary,
            blocker_advice[first],
            finding.n_prevalent or 0,
            finding.n_scored,
        )
        return with_note(sentence, flag, finding, advice)
    leading = team_flags.flags[team_flags.ranking[0]]
    if leading.estimate > 0:
        name = blocker_advice[leading.dimension].name
        return f"{wording.no_blocker} {wording.leading.format(name=name)}"
    return wording.no_blocker


def checklist_lines(top: BlockerAdvice | None, advice: Advice) -> tuple[tuple[str, str], ...]:
    """The top blocker's checklist lines, else the generic lines, with topic headings."""
    lines = dict(top.checklist) if top is not None and top.checklist else {}
    lines = lines or dict(advice.default_blocker.checklist)
    return tuple((t.heading, lines[t.id]) for t in advice.checklist_topics if t.id in lines)


def pillar_level(
    flags: Mapping[str, BlockerFlag], blockers: tuple[str, ...]
) -> tuple[str | None, bool, tuple[str, ...]]:
    """A pillar's level from the flags of its blockers: the one rule behind every label.

    "at risk" when one of its blockers is flagged as holding the team back
    (tentative when only tentative flags make it), "strong" when every rated
    blocker of it is a strength, "mixed" otherwise, ``None`` when none is rated.

    Returns
    -------
    (str or None, bool, tuple of str)
        The level, whether it is tentative, and the blockers that decide it.
    """
    rated = [flags[b] for b in blockers if b in flags]
    if not rated:
        return None, False, ()
    above = [f for f in rated if f.above]
    if above:
        return (
            "at risk",
            all(f.level == "tentative" for f in above),
            tuple(f.dimension for f in above),
        )
    if all(f.level == "strength" for f in rated):
        return "strong", any(f.tentative for f in rated), tuple(f.dimension for f in rated)
    return "mixed", False, ()


def pillar_summaries(
    findings: Mapping[str, DimensionFinding], flags: Mapping[str, BlockerFlag], advice: Advice
) -> tuple[PillarSummary, ...]:
    """Each pillar of the advice file with its level from :func:`pillar_level`."""
    summaries = []
    for pillar in advice.pillars:
        present = tuple(b for b in pillar.blockers if b in findings)
        if not present:
            continue
        values = [findings[b].percentile for b in present if findings[b].percentile is not None]
        level, tentative, flagged = pillar_level(flags, present)
        summaries.append(
            PillarSummary(
                id=pillar.id,
                name=pillar.name,
                description=pillar.description,
                blockers=present,
                percentile=float(np.mean(values)) if values else None,
                level=level,
                tentative=tentative,
                flagged=flagged,
            )
        )
    return tuple(summaries)


def _practice_mean(play_id: str, findings: Mapping[str, DimensionFinding]) -> float | None:
    finding = findings.get(play_id)
    if finding is None or finding.kind != "practice" or finding.withheld:
        return None
    return finding.mean


def _is_gap(
    play_id: str, findings: Mapping[str, DimensionFinding], org: Mapping[str, OrgDimension]
) -> bool:
    """The practice mean, as printed, reads as a point below the scale's middle one."""
    mean = display_round_or_none(_practice_mean(play_id, findings))
    below = org[play_id].practice_gap_threshold if play_id in org else None
    return mean is not None and below is not None and mean < below


def _in_regular_use(
    play_id: str, findings: Mapping[str, DimensionFinding], instrument: Instrument
) -> bool:
    """The practice mean reads as "Often" or more: the point three quarters up the scale."""
    mean = _practice_mean(play_id, findings)
    if mean is None:
        return False
    scale = scale_of(instrument.dimension(play_id), instrument)
    point = scale_point(mean, scale.min, scale.max)
    return point is not None and point >= scale.min + 0.75 * (scale.max - scale.min)


def find_practice_gaps(
    top_ids: tuple[str, ...],
    blocker_advice: Mapping[str, BlockerAdvice],
    findings: Mapping[str, DimensionFinding],
    org: Mapping[str, OrgDimension],
) -> tuple[PracticeGap, ...]:
    """Top blockers paired with a countering play the team rarely uses."""
    return tuple(
        PracticeGap(blocker=b, play=p, practice_mean=float(_practice_mean(p, findings)))
        for b in top_ids
        for p in blocker_advice[b].plays
        if _is_gap(p, findings, org)
    )


def recommend_plays(
    top_ids: tuple[str, ...],
    blocker_advice: Mapping[str, BlockerAdvice],
    findings: Mapping[str, DimensionFinding],
    org: Mapping[str, OrgDimension],
    advice: Advice,
    instrument: Instrument,
) -> tuple[RecommendedPlay, ...]:
    """The plays countering the top blockers, in the order of the rules."""
    candidates = list(dict.fromkeys(p for b in top_ids for p in blocker_advice[b].plays))
    plays = []
    for play_id in candidates:
        play = advice.play(play_id)
        if play is None:
            continue
        plays.append(
            RecommendedPlay(
                id=play.id,
                name=play.name,
                rationale=play.rationale,
                questions=play.questions,
                addresses=tuple(b for b in top_ids if play_id in blocker_advice[b].plays),
                practice_mean=_practice_mean(play_id, findings),
                practice_gap=_is_gap(play_id, findings, org),
                in_regular_use=play_id in findings
                and _in_regular_use(play_id, findings, instrument),
            )
        )
    ranked = sorted(
        enumerate(plays), key=lambda ip: (-len(ip[1].addresses), not ip[1].practice_gap, ip[0])
    )
    return tuple(p for _, p in ranked)
