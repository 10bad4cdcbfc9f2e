"""The advice framework: plays, blocker advice and pillars, loaded from a data file.

What a report says about a blocker and which plays it recommends is data, not
code: it lives in ``analytics/data/framework.yaml`` (see the comments there).
This module reads that file, checks it, and returns immutable objects. Every
error names the file and the field to fix.

Examples
--------
>>> advice = load_advice()
>>> [play.id for play in advice.plays_for("time_pressure")]
['objective_criteria', 'post_settlement', 'logrolling']
>>> advice.pillar_of("trust").id
'relationships'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from analytics.advice_schema import (
    PILLAR_LEVELS,
    PLACEHOLDERS,
    RETIRED_PLACEHOLDERS,
    ROUND_MODES,
    WORDING_PLACEHOLDERS,
    FrameworkFile,
    framework_problems,
)
from analytics.coarsen import count_phrase, format_score, shows_exact_count
from analytics.language import current_language

__all__ = [
    "DEFAULT_ADVICE_PATH",
    "PILLAR_LEVELS",
    "PLACEHOLDERS",
    "RETIRED_PLACEHOLDERS",
    "ROUND_MODES",
    "WORDING_PLACEHOLDERS",
    "Advice",
    "AdviceError",
    "BlockerAdvice",
    "ChecklistTopic",
    "Pillar",
    "Play",
    "Wording",
    "fill_sentence",
    "load_advice",
    "parse_advice",
    "verb_agreeing",
]

DEFAULT_ADVICE_PATH = Path(__file__).parent / "data" / "framework.yaml"

#: Top-level sections of the framework file that other modules read and this loader
#: accepts and ignores: the counterparty and session-kit sections of #16, validated by
#: :mod:`analytics.kit_schema` (its ``KIT_SECTIONS``).
OTHER_SECTIONS = frozenset(
    {"agreement", "gap", "pair_rules", "drills", "session_kit", "worksheet", "trend"}
)


#: A pillar without a level (too few answers): its label and its phrase, per language.
NOT_RATED = {
    "en": ("not rated", "not rated: too few answers"),
    "fr": ("non évalué", "non évalué : trop peu de réponses"),
}
#: What separates a level's label from its meaning in a ``pillar_levels`` phrase.
_LABEL_SEP = {"en": ": ", "fr": " : "}


class AdviceError(ValueError):
    """The advice file is malformed; one ``file: field: problem`` line per problem.

    ``problems`` lists the lines.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


@dataclass(frozen=True)
class ChecklistTopic:
    """One prompt of the "Before your next negotiation" checklist."""

    id: str
    heading: str


@dataclass(frozen=True)
class Play:
    """A win-win technique; ``id`` is the practice dimension that measures its use.

    ``counters`` is derived from the blockers' ``plays`` lists, in file order.
    """

    id: str
    name: str
    rationale: str
    questions: tuple[str, ...]
    counters: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlockerAdvice:
    """What to tell a team about one blocker.

    ``checklist`` pairs each checklist topic id with the line for this blocker;
    ``plays`` holds play ids, the one to try first first.
    """

    id: str
    name: str
    behaviour: str
    summary: str
    strength: str
    checklist: tuple[tuple[str, str], ...]
    plays: tuple[str, ...]

    def summary_sentence(self, prevalent: int, n: int) -> str:
        """The summary sentence for a team where this is the strongest blocker.

        ``prevalent`` of the ``n`` scored members are at or above the threshold;
        the sentence words the count with :func:`analytics.coarsen.count_phrase`.

        Examples
        --------
        >>> load_advice().blocker("time_pressure").summary_sentence(7, 12)
        "Deadline pressure is your team's strongest blocker: 7 of 12 members concede more than planned when a deadline nears."
        >>> load_advice().blocker("trust").summary_sentence(1, 6)
        "Guarded information is your team's strongest blocker: a few members hold back their real needs and priorities from the other side."
        """  # noqa: E501
        return _fill(self.summary, self, prevalent, n)

    def strength_sentence(self, prevalent: int, n: int) -> str:
        """The sentence for a team that is low on this blocker (count worded as above)."""
        return _fill(self.strength, self, prevalent, n)


@dataclass(frozen=True)
class Pillar:
    """A group of blockers a team can work on together."""

    id: str
    name: str
    description: str
    blockers: tuple[str, ...]


@dataclass(frozen=True)
class Wording:
    """Sentences every page words the same way (the ``wording`` section of the file).

    The PDF report, the dashboard and the charts read them from here, so a
    value is never worded in two ways.
    """

    tentative_summary: str
    tentative_small: str
    tentative_fragile: str
    no_blocker: str
    leading: str
    main_blocker: str
    tentative_blocker: str
    tentative_label: str
    pillar_levels: tuple[tuple[str, str], ...]
    reliability_caveat: str
    round_modes: tuple[tuple[str, str], ...]

    def pillar_phrase(self, level: str | None, tentative: bool = False) -> str:
        """A pillar level with what it means ("at risk: one of its blockers ...").

        Examples
        --------
        >>> load_advice().wording.pillar_phrase("at risk", tentative=True).split(":")[0]
        'at risk (tentative)'
        >>> load_advice().wording.pillar_phrase(None)
        'not rated: too few answers'
        """
        phrases = dict(self.pillar_levels)
        if level not in phrases:
            return NOT_RATED[current_language()][1]
        label, sep, meaning = phrases[level].partition(_LABEL_SEP[current_language()])
        return f"{self.level_label(level, tentative)}{sep}{meaning}" if meaning else label

    def level_label(self, level: str | None, tentative: bool = False) -> str:
        """The short label of a pillar level ("at risk", "at risk (tentative)"): the
        part of its phrase before the colon (the level itself in English)."""
        if level is None:
            return NOT_RATED[current_language()][0]
        phrase = dict(self.pillar_levels).get(level, level)
        label = phrase.partition(_LABEL_SEP[current_language()])[0]
        return f"{label} ({self.tentative_label})" if tentative else label

    def round_mode(self, mode: str | None) -> str:
        """How the round's answers are kept, for the change section.

        Examples
        --------
        >>> load_advice().wording.round_mode("anonymous").split(":")[0]
        'Answers in this round are anonymous'
        """
        modes = dict(self.round_modes)
        return modes.get(mode or "unknown", modes["unknown"])

    def caveat(self, name: str, alpha: float | None) -> str:
        """The reliability caveat of a scale, alpha to two decimals ("0.69")."""
        shown = "not estimated" if alpha is None else format_score(alpha, 2)
        return self.reliability_caveat.format(name=name, alpha=shown)

    def tentative_note(self, n: int, fragile: bool) -> str:
        """Why a flag is tentative: a team under 10, or one member's answers make it."""
        return self.tentative_fragile if fragile else self.tentative_small.format(n=n)


@dataclass(frozen=True)
class Advice:
    """The whole framework: plays, blocker advice, pillars and generic fallbacks.

    ``default_blocker`` holds the generic behaviour phrase, sentences and checklist
    used for a blocker dimension the file does not describe (its ``id`` and
    ``name`` are empty; see :meth:`blocker_or_generic`).
    """

    plays: tuple[Play, ...]
    blockers: tuple[BlockerAdvice, ...]
    pillars: tuple[Pillar, ...]
    checklist_topics: tuple[ChecklistTopic, ...]
    default_blocker: BlockerAdvice
    wording: Wording
    source: str = ""

    def play(self, play_id: str) -> Play | None:
        """The play with this id, or ``None``."""
        return next((p for p in self.plays if p.id == play_id), None)

    def blocker(self, blocker_id: str) -> BlockerAdvice | None:
        """The advice for this blocker id, or ``None`` when the file has none."""
        return next((b for b in self.blockers if b.id == blocker_id), None)

    def blocker_or_generic(self, blocker_id: str, name: str) -> BlockerAdvice:
        """The advice for a blocker, or generic sentences under the given name.

        The generic advice has the default behaviour phrase and sentences, no
        checklist lines and no plays.

        Examples
        --------
        >>> generic = load_advice().blocker_or_generic("impatience", "Impatience")
        >>> generic.name, generic.plays, generic.checklist
        ('Impatience', (), ())
        """
        found = self.blocker(blocker_id)
        if found is not None:
            return found
        base = self.default_blocker
        return BlockerAdvice(
            id=blocker_id,
            name=name,
            behaviour=base.behaviour,
            summary=base.summary,
            strength=base.strength,
            checklist=(),
            plays=(),
        )

    def plays_for(self, blocker_id: str) -> tuple[Play, ...]:
        """The plays that counter a blocker, in the order to try them."""
        found = self.blocker(blocker_id)
        if found is None:
            return ()
        return tuple(p for p in (self.play(pid) for pid in found.plays) if p is not None)

    def pillar_of(self, blocker_id: str) -> Pillar | None:
        """The pillar a blocker belongs to, or ``None``."""
        return next((p for p in self.pillars if blocker_id in p.blockers), None)


def load_advice(path: str | Path | None = None, language: str | None = None) -> Advice:
    """Load and validate the advice file (the packaged framework by default).

    Parameters
    ----------
    path : str or Path, optional
        A YAML file in the format of ``analytics/data/framework.yaml``.
    language : str, optional
        For the packaged framework only: the language to word it in (its
        translation laid over the English file, :mod:`analytics.framework_i18n`);
        by default the current one (:func:`analytics.language.current_language`,
        English unless a report is being worded in another language).

    Returns
    -------
    Advice

    Raises
    ------
    AdviceError
        When the file is missing a field or its references do not resolve.

    Examples
    --------
    >>> advice = load_advice()
    >>> sorted(b.id for b in advice.blockers)
    ['fixed_pie', 'misalignment', 'power', 'time_pressure', 'trust']
    """
    language = current_language() if language is None else language
    if path is None and language != "en":
        return _load_translated(language)
    return _load_cached(str(Path(path) if path is not None else DEFAULT_ADVICE_PATH))


@lru_cache(maxsize=4)
def _load_translated(language: str) -> Advice:
    from analytics.framework_i18n import framework_document, framework_path

    return parse_advice(framework_document(language), source=framework_path(language).name)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Advice:
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise AdviceError(f"{source.name}: cannot read the advice file ({exc})") from exc
    try:
        mapping = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AdviceError(f"{source.name}: not valid YAML ({exc})") from exc
    return parse_advice(mapping, source=source.name)


def parse_advice(mapping: Any, source: str = "<advice>") -> Advice:
    """Build :class:`Advice` from a parsed mapping, checking every field.

    The structure is checked by the pydantic models of
    :mod:`analytics.advice_schema`; ids across sections are checked against
    the ids of the same document. Every problem is listed, one per line.

    Parameters
    ----------
    mapping : Mapping
        The parsed YAML document.
    source : str
        The file name used in error messages.

    Examples
    --------
    >>> parse_advice({"plays": {}}, source="mine.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analytics.advice.AdviceError: mine.yaml: checklist_topics: required field is missing
    ...
    """
    if not isinstance(mapping, Mapping):
        raise AdviceError(f"{source}: (top level): must be a mapping")
    topics = mapping.get("checklist_topics")
    context = {
        "topics": tuple(
            " ".join(t["id"].split())
            for t in (topics if isinstance(topics, list) else ())
            if isinstance(t, Mapping) and isinstance(t.get("id"), str)
        ),
        "plays": {str(k) for k in _keys(mapping.get("plays"))},
        "blockers": {str(k) for k in _keys(mapping.get("blockers"))},
    }
    try:
        doc = FrameworkFile.model_validate(mapping, context=context)
    except ValidationError as error:
        lines = [f"{source}: {field}: {problem}" for field, problem in framework_problems(error)]
        raise AdviceError("\n".join(lines), lines) from None
    blockers = tuple(
        BlockerAdvice(
            id=blocker_id,
            name=raw.name,
            behaviour=raw.behaviour,
            summary=raw.summary,
            strength=raw.strength,
            checklist=raw.checklist,
            plays=raw.plays,
        )
        for blocker_id, raw in doc.blockers.items()
    )
    plays = tuple(
        Play(
            id=play_id,
            name=raw.name,
            rationale=raw.rationale,
            questions=raw.questions,
            counters=tuple(b.id for b in blockers if play_id in b.plays),
        )
        for play_id, raw in doc.plays.items()
    )
    defaults = doc.defaults
    wording = doc.wording
    return Advice(
        plays=plays,
        blockers=blockers,
        pillars=tuple(Pillar(p.id, p.name, p.description, p.blockers) for p in doc.pillars),
        checklist_topics=tuple(ChecklistTopic(t.id, t.heading) for t in doc.checklist_topics),
        default_blocker=BlockerAdvice(
            id="",
            name="",
            behaviour=defaults.behaviour,
            summary=defaults.summary,
            strength=defaults.strength,
            checklist=defaults.checklist,
            plays=(),
        ),
        wording=Wording(
            **{key: getattr(wording, key) for key in WORDING_PLACEHOLDERS},
            pillar_levels=wording.pillar_levels,
            round_modes=wording.round_modes,
        ),
        source=source,
    )


def _keys(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, Mapping) else ()


def fill_sentence(template: str, advice: BlockerAdvice, prevalent: int, n: int) -> str:
    """Fill a blocker sentence template (``{name}``, ``{behaviour}``, ``{members}``, ``{n}``).

    The count is worded by :func:`analytics.coarsen.count_phrase` and the verb
    agrees with it.

    Examples
    --------
    >>> advice = load_advice()
    >>> fill_sentence(advice.wording.tentative_summary, advice.blocker("power"), 2, 6)
    'Power imbalance may be holding your team back: a few members feel that the other side can dictate the terms.'
    """  # noqa: E501
    return _fill(template, advice, prevalent, n)


def _fill(template: str, advice: BlockerAdvice, prevalent: int, n: int) -> str:
    """Fill a sentence template; the count is worded, and the verb agrees with the words."""
    exact = prevalent if shows_exact_count(prevalent, n) else None
    behaviour = verb_agreeing(advice.behaviour, exact)
    members = count_phrase(prevalent, n)
    return template.format(name=advice.name, behaviour=behaviour, members=members, n=n)


_SINGULAR = {
    "are": "is",
    "have": "has",
    "do": "does",
    "go": "goes",
    "aren't": "isn't",
    "don't": "doesn't",
    "haven't": "hasn't",
}
_UNCHANGED = frozenset(
    [
        "is",
        "has",
        "does",
        "was",
        "can",
        "cannot",
        "can't",
        "could",
        "may",
        "might",
        "must",
        "should",
        "will",
        "won't",
        "would",
    ]
)
_ADVERBS = frozenset({"always", "never", "often", "seldom", "sometimes", "still", "also", "even"})


def verb_agreeing(phrase: str, count: int | None) -> str:
    """A behaviour phrase ("hold back ...") whose verb agrees with ``count`` members.

    Behaviour phrases are written for several members ("7 of 12 members hold
    back ..."); one member takes the third person singular ("1 of 12 members
    holds back ..."). ``None`` stands for a count in words ("a few members"),
    which takes the plural. Leading frequency adverbs are kept as they are.

    Examples
    --------
    >>> verb_agreeing("hold back their real needs", 1)
    'holds back their real needs'
    >>> verb_agreeing("hold back their real needs", 3)
    'hold back their real needs'
    >>> [verb_agreeing(p, 1) for p in ("see our side", "push", "worry", "say no", "are calm")]
    ['sees our side', 'pushes', 'worries', 'says no', 'is calm']
    >>> verb_agreeing("often concede more", 1), verb_agreeing("can dictate", 1)
    ('often concedes more', 'can dictate')
    """
    if count != 1 or current_language() != "en":  # other languages: infinitive phrases
        return phrase
    words = phrase.split(" ")
    index = 0
    while index < len(words) - 1 and (words[index] in _ADVERBS or words[index].endswith("ly")):
        index += 1
    words[index] = _third_person(words[index])
    return " ".join(words)


def _third_person(verb: str) -> str:
    lower = verb.lower()
    if lower in _SINGULAR:
        return _SINGULAR[lower]
    if lower in _UNCHANGED or not lower.isalpha():
        return verb
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"
