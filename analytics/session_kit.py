"""The coach's session kit: a facilitator agenda, a deal worksheet and commitments.

Everything here is built from results that are already decided elsewhere; this
module never recomputes them:

Which blockers (:func:`focus_blockers`)
    The team diagnosis's own ``top_blockers`` (main first, then tentative, in
    the diagnosis's ranking order), at most ``session_kit.max_blockers``; a
    tentative one is marked as such. When no blocker stands out, the blocker
    the report names as "closest to standing out" - the first of the
    diagnosis's ``ranking`` when its estimate is above the organization, the
    rule of :func:`analytics.diagnosis_plays.summary_sentence` - and none when
    the report names none.
Which plays get a drill
    The diagnosis's ``plays_to_practise_first``, then the plays that fit the
    pair (:class:`analytics.gap.GapAnalysis`), without repeats, at most
    ``session_kit.max_drills``. With no main blocker the report singles out no
    play, and neither does the agenda (only pair plays get drills then).
Timing
    The parts' minutes come from the framework file; drills that would take the
    agenda beyond ``max_total`` are left out, and time short of ``min_total``
    goes to the live-deal checklist.
Play -> blocker relation
    A commitment's related blockers are the blockers that list its play under
    their ``plays`` in the framework file (``Play.counters``): one fact, one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from analytics.advice import Advice, load_advice
from analytics.diagnosis_results import TeamDiagnosis
from analytics.gap import GapAnalysis
from analytics.kit_schema import AgendaPart, Kit, load_kit
from analytics.trend import BlockerChange, change_phrase

__all__ = [
    "AgendaItem",
    "CommitmentFollowup",
    "CommitmentRecord",
    "DealWorksheet",
    "Focus",
    "SessionAgenda",
    "WorksheetTopic",
    "build_agenda",
    "build_worksheet",
    "commitment_followup",
    "focus_blockers",
    "related_blockers",
]


@dataclass(frozen=True)
class AgendaItem:
    """One part of the session: its minutes, title, purpose and steps.

    ``kind`` is "opening", "blocker", "no_blocker", "drill", "checklist" or
    "commitments"; ``ref`` the blocker or play id the item is about.
    """

    minutes: int
    title: str
    purpose: str
    steps: tuple[str, ...]
    kind: str = ""
    ref: str | None = None


@dataclass(frozen=True)
class SessionAgenda:
    """A facilitator agenda for one team session (60-90 minutes by default)."""

    total_minutes: int
    items: tuple[AgendaItem, ...]
    blockers: tuple[str, ...] = ()
    plays: tuple[str, ...] = ()
    leading: bool = False


@dataclass(frozen=True)
class CommitmentRecord:
    """A commitment the coach recorded for a team: a play, who owns it, by when, in which round."""

    play_id: str
    owner_role: str
    due: date
    round_label: str


@dataclass(frozen=True)
class CommitmentFollowup:
    """A commitment beside the change in its related blocker(s).

    ``changes`` pairs each related blocker with its change (``None`` when it
    was not measured in both rounds); ``sentence`` words it all.
    """

    commitment: CommitmentRecord
    play_name: str
    blockers: tuple[str, ...]
    changes: tuple[BlockerChange | None, ...]
    sentence: str


@dataclass(frozen=True)
class WorksheetTopic:
    """One checklist topic of the deal worksheet, with prompts from both profiles."""

    topic_id: str
    heading: str
    question: str
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class DealWorksheet:
    """The pre-negotiation checklist filled in for one named deal."""

    deal_name: str
    counterparty_name: str
    team_name: str
    topics: tuple[WorksheetTopic, ...]


@dataclass(frozen=True)
class Focus:
    """The blockers a session is about (see :func:`focus_blockers`).

    ``blockers`` in the diagnosis's order; ``tentative`` those of them flagged
    tentative; ``leading`` true when none stands out and ``blockers`` holds the
    one closest to standing out.
    """

    blockers: tuple[str, ...]
    tentative: tuple[str, ...] = ()
    leading: bool = False


def focus_blockers(diagnosis: TeamDiagnosis, max_blockers: int | None = None) -> Focus:
    """The team's main blockers as the diagnosis gives them, or the one closest to standing out."""
    if diagnosis.suppressed:
        raise ValueError(f"team {diagnosis.name} is suppressed: it has no results to work with")
    limit = max_blockers if max_blockers is not None else load_kit().session_kit.max_blockers
    top = diagnosis.top_blockers[:limit]
    if top:
        tentative = tuple(b for b in top if diagnosis.flags[b].level != "main")
        return Focus(blockers=top, tentative=tentative)
    if diagnosis.ranking:
        first = diagnosis.flags.get(diagnosis.ranking[0])
        if first is not None and first.estimate > 0:
            return Focus(blockers=(first.dimension,), leading=True)
    return Focus(blockers=())


def related_blockers(play_id: str, advice: Advice | None = None) -> tuple[str, ...]:
    """The blockers a play counters, from the blockers' ``plays`` lists in the framework."""
    play = (advice or load_advice()).play(play_id)
    return tuple(play.counters) if play is not None else ()


def _item(part: AgendaPart, kind: str, ref: str | None = None, **values: str) -> AgendaItem:
    fill = {"name": "", "drill": "", "deal": "", **values}
    return AgendaItem(
        minutes=part.minutes,
        title=part.title.format(**fill),
        purpose=part.purpose.format(**fill),
        steps=tuple(step.format(**fill) for step in part.steps),
        kind=kind,
        ref=ref,
    )


def build_agenda(
    diagnosis: TeamDiagnosis,
    gap: GapAnalysis | None,
    commitments: Sequence[CommitmentRecord],
    *,
    deal_name: str | None = None,
    kit: Kit | None = None,
    advice: Advice | None = None,
) -> SessionAgenda:
    """A facilitator agenda built from the team's released results.

    Parameters
    ----------
    diagnosis : TeamDiagnosis
        The team's diagnosis from its release (not suppressed).
    gap : GapAnalysis, optional
        The us-vs-them view with a counterparty, when there is one.
    commitments : sequence of CommitmentRecord
        Commitments recorded earlier, reviewed in the commitments part.
    deal_name : str, optional
        The live deal the checklist prepares.
    """
    kit = kit or load_kit()
    advice = advice or load_advice()
    parts = kit.session_kit
    deal = deal_name or parts.no_deal
    focus = focus_blockers(diagnosis, parts.max_blockers)

    def name_of(blocker_id: str) -> str:
        dimension = diagnosis.dimensions.get(blocker_id)
        fallback = dimension.dimension if dimension is not None else blocker_id
        return advice.blocker_or_generic(blocker_id, fallback).name

    opening = _item(parts.opening, "opening", deal=deal)
    blocker_items: list[AgendaItem] = []
    if focus.leading:
        none = _item(parts.no_blocker, "no_blocker", focus.blockers[0], deal=deal)
        step = parts.leading_step.format(name=name_of(focus.blockers[0]))
        blocker_items.append(
            AgendaItem(
                none.minutes, none.title, none.purpose, (*none.steps, step), none.kind, none.ref
            )
        )
    elif not focus.blockers:
        blocker_items.append(_item(parts.no_blocker, "no_blocker", deal=deal))
    for blocker_id in () if focus.leading else focus.blockers:
        item = _item(parts.blocker, "blocker", blocker_id, name=name_of(blocker_id), deal=deal)
        if blocker_id in focus.tentative:
            item = AgendaItem(
                item.minutes,
                item.title,
                item.purpose,
                (*item.steps, parts.tentative_step),
                item.kind,
                item.ref,
            )
        blocker_items.append(item)

    chosen = [p.id for p in diagnosis.plays_to_practise_first]
    if gap is not None:
        chosen.extend(p.play_id for p in gap.plays)
    plays = [p for p in dict.fromkeys(chosen) if kit.drill(p) is not None][: parts.max_drills]
    checklist = _item(parts.checklist, "checklist", deal=deal)
    review = tuple(
        parts.review_step.format(
            name=_play_name(c.play_id, advice), owner=c.owner_role, due=c.due.isoformat()
        )
        for c in commitments
    )
    closing = _item(parts.commitments, "commitments", deal=deal)
    closing = AgendaItem(
        closing.minutes, closing.title, closing.purpose, (*review, *closing.steps), closing.kind
    )
    fixed = opening.minutes + sum(i.minutes for i in blocker_items)
    fixed += checklist.minutes + closing.minutes
    while plays and fixed + len(plays) * parts.drill.minutes > parts.max_total:
        plays.pop()
    drills = []
    for play_id in plays:
        drill = kit.drill(play_id)
        assert drill is not None
        item = _item(
            parts.drill, "drill", play_id, name=_play_name(play_id, advice), drill=drill.name
        )
        drills.append(
            AgendaItem(item.minutes, item.title, item.purpose, drill.steps, "drill", play_id)
        )
    total = fixed + sum(d.minutes for d in drills)
    if total < parts.min_total:
        checklist = AgendaItem(
            checklist.minutes + parts.min_total - total,
            checklist.title,
            checklist.purpose,
            checklist.steps,
            checklist.kind,
        )
        total = parts.min_total
    items = (opening, *blocker_items, *drills, checklist, closing)
    return SessionAgenda(
        total_minutes=sum(i.minutes for i in items),
        items=items,
        blockers=focus.blockers,
        plays=tuple(plays),
        leading=focus.leading,
    )


def _play_name(play_id: str, advice: Advice) -> str:
    play = advice.play(play_id)
    return play.name if play is not None else play_id


def build_worksheet(
    diagnosis: TeamDiagnosis,
    gap: GapAnalysis | None,
    deal_name: str,
    counterparty_name: str,
    team_name: str,
    *,
    kit: Kit | None = None,
    advice: Advice | None = None,
) -> DealWorksheet:
    """The five checklist topics filled in for one deal, with prompts from both profiles.

    Per topic: our focus blockers' checklist lines (the generic line when none
    stands out), then the line for each blocker present on their side, then -
    under ``their_values`` - a prompt for each blocker the team sees
    differently, or that the team has no shared rating of them yet.
    """
    kit = kit or load_kit()
    advice = advice or load_advice()
    focus = focus_blockers(diagnosis, kit.session_kit.max_blockers)
    ours = [advice.blocker(b) for b in focus.blockers]
    our_lines = [dict(b.checklist) for b in ours if b is not None and b.checklist]
    if not our_lines:
        our_lines = [dict(advice.default_blocker.checklist)]
    present = [] if gap is None else [b for b in gap.blockers if b.them_level == "present"]
    unshared = (
        []
        if gap is None
        else [b for b in gap.blockers if not b.them_shared and not b.them_withheld]
    )
    topics = []
    for topic in advice.checklist_topics:
        prompts = [lines[topic.id] for lines in our_lines if topic.id in lines]
        prompts.extend(
            kit.worksheet.them[b.blocker_id][topic.id]
            for b in present
            if b.blocker_id in kit.worksheet.them
        )
        if topic.id == "their_values":
            if gap is None:
                prompts.append(kit.worksheet.no_rating)
            prompts.extend(kit.worksheet.not_shared.format(name=b.name) for b in unshared)
        question = kit.worksheet.questions.get(topic.id, topic.heading).format(deal=deal_name)
        topics.append(
            WorksheetTopic(
                topic_id=topic.id,
                heading=topic.heading,
                question=question,
                prompts=tuple(dict.fromkeys(prompts)),
            )
        )
    return DealWorksheet(
        deal_name=deal_name,
        counterparty_name=counterparty_name,
        team_name=team_name,
        topics=tuple(topics),
    )


def commitment_followup(
    commitments: Sequence[CommitmentRecord],
    change_by_blocker: Mapping[str, BlockerChange],
    *,
    kit: Kit | None = None,
    advice: Advice | None = None,
) -> tuple[CommitmentFollowup, ...]:
    """Each commitment beside the change in the blockers its play counters.

    ``change_by_blocker`` holds the change between the round the commitment was
    made in and the round reported (e.g. :attr:`analytics.trend.Trend.last_changes`,
    or :func:`analytics.trend.changes_from_frame`), from release snapshots only.
    """
    kit = kit or load_kit()
    advice = advice or load_advice()
    wording = kit.trend.wording
    out = []
    for commitment in commitments:
        blockers = related_blockers(commitment.play_id, advice)
        changes = tuple(change_by_blocker.get(b) for b in blockers)
        phrases = [
            change_phrase(c, kit)
            if c is not None
            else wording.not_measured.format(name=advice.blocker_or_generic(b, b).name)
            for b, c in zip(blockers, changes, strict=True)
        ]
        play_name = _play_name(commitment.play_id, advice)
        sentence = wording.followup.format(
            play=play_name,
            owner=commitment.owner_role,
            due=commitment.due.isoformat(),
            changes="; ".join(phrases),
        )
        out.append(CommitmentFollowup(commitment, play_name, blockers, changes, sentence))
    return tuple(out)
