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

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from analytics.coarsen import count_phrase, format_score, shows_exact_count

DEFAULT_ADVICE_PATH = Path(__file__).parent / "data" / "framework.yaml"

#: Top-level sections of the framework file that other modules read and this loader
#: accepts and ignores: the counterparty and session-kit sections of #16, validated by
#: :mod:`analytics.kit_schema` (its ``KIT_SECTIONS``).
OTHER_SECTIONS = frozenset(
    {"agreement", "gap", "pair_rules", "drills", "session_kit", "worksheet", "trend"}
)

#: Placeholders a sentence template may use. ``{members}`` is the count of members
#: at or above the threshold as :func:`analytics.coarsen.count_phrase` words it
#: ("a few members", "7 of 12 members"); there is no placeholder for the exact count.
PLACEHOLDERS = frozenset({"name", "behaviour", "members", "n"})

#: Placeholders of earlier versions, with what to use instead.
RETIRED_PLACEHOLDERS = {
    "prevalent": "{prevalent} was an exact count, which can point at one member; "
    'write "{members}" (e.g. "a few members", "7 of 12 members") instead of '
    '"{prevalent} of {n} members"',
}


class AdviceError(ValueError):
    """The advice file is malformed; the message names the file and the field."""


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


#: The pillar levels, lowest risk first; :data:`Wording.pillar_levels` words each.
PILLAR_LEVELS = ("strong", "mixed", "at risk")

#: The modes a survey round can have; ``unknown`` words a round whose mode is not known.
ROUND_MODES = ("confidential", "anonymous", "unknown")

#: Placeholders each ``wording`` sentence may use.
WORDING_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "tentative_summary": PLACEHOLDERS,
    "tentative_small": frozenset({"n"}),
    "tentative_fragile": frozenset(),
    "no_blocker": frozenset(),
    "leading": frozenset({"name"}),
    "main_blocker": frozenset({"name"}),
    "tentative_blocker": frozenset({"name"}),
    "tentative_label": frozenset(),
    "reliability_caveat": frozenset({"name", "alpha"}),
}


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
            return "not rated: too few answers"
        label, _, meaning = phrases[level].partition(": ")
        return f"{self.level_label(level, tentative)}: {meaning}" if meaning else label

    def level_label(self, level: str | None, tentative: bool = False) -> str:
        """The short label of a pillar level ("at risk", "at risk (tentative)")."""
        if level is None:
            return "not rated"
        return f"{level} ({self.tentative_label})" if tentative else level

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


def load_advice(path: str | Path | None = None) -> Advice:
    """Load and validate the advice file (the packaged framework by default).

    Parameters
    ----------
    path : str or Path, optional
        A YAML file in the format of ``analytics/data/framework.yaml``.

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
    return _load_cached(str(Path(path) if path is not None else DEFAULT_ADVICE_PATH))


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

    Parameters
    ----------
    mapping : Mapping
        The parsed YAML document.
    source : str
        The file name used in error messages.

    Examples
    --------
    >>> parse_advice({"plays": {}}, source="mine.yaml")
    Traceback (most recent call last):
    ...
    analytics.advice.AdviceError: mine.yaml: checklist_topics: required field is missing
    """
    reader = _Reader(source)
    doc = reader.mapping(mapping, "")
    topics = _parse_topics(reader, doc)
    topic_ids = tuple(t.id for t in topics)
    default_blocker = _parse_defaults(reader, doc, topic_ids)
    raw_plays = reader.mapping(reader.require(doc, "plays", ""), "plays")
    raw_blockers = reader.mapping(reader.require(doc, "blockers", ""), "blockers")

    blockers = tuple(
        _parse_blocker(reader, str(bid), raw, topic_ids, set(map(str, raw_plays)))
        for bid, raw in raw_blockers.items()
    )
    plays = tuple(_parse_play(reader, str(pid), raw, blockers) for pid, raw in raw_plays.items())
    pillars = _parse_pillars(reader, doc, {b.id for b in blockers})
    return Advice(
        plays=plays,
        blockers=blockers,
        pillars=pillars,
        checklist_topics=topics,
        default_blocker=default_blocker,
        wording=_parse_wording(reader, doc),
        source=source,
    )


def _parse_wording(reader: _Reader, doc: Mapping[str, Any]) -> Wording:
    raw = reader.mapping(reader.require(doc, "wording", ""), "wording")
    known = {*WORDING_PLACEHOLDERS, "pillar_levels", "round_modes"}
    unknown = sorted(set(map(str, raw)) - known)
    if unknown:
        raise reader.error("wording", f"unknown entries {unknown}")
    sentences = {
        key: reader.template(raw, key, "wording", allowed=allowed)
        for key, allowed in WORDING_PLACEHOLDERS.items()
    }
    return Wording(
        **sentences,
        pillar_levels=_keyed_sentences(reader, raw, "pillar_levels", PILLAR_LEVELS),
        round_modes=_keyed_sentences(reader, raw, "round_modes", ROUND_MODES),
    )


def _keyed_sentences(
    reader: _Reader, raw: Mapping[str, Any], key: str, keys: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    where = f"wording.{key}"
    entries = reader.mapping(reader.require(raw, key, "wording"), where)
    if set(map(str, entries)) != set(keys):
        raise reader.error(where, f"needs exactly the entries {list(keys)}")
    return tuple((k, reader.template(entries, k, where, allowed=frozenset())) for k in keys)


def _parse_topics(reader: _Reader, doc: Mapping[str, Any]) -> tuple[ChecklistTopic, ...]:
    raw = reader.require(doc, "checklist_topics", "")
    if not isinstance(raw, list) or not raw:
        raise reader.error("checklist_topics", "must be a non-empty list")
    topics = []
    for i, entry in enumerate(raw):
        where = f"checklist_topics[{i}]"
        entry = reader.mapping(entry, where)
        topics.append(
            ChecklistTopic(
                id=reader.text(entry, "id", where), heading=reader.text(entry, "heading", where)
            )
        )
    ids = [t.id for t in topics]
    if len(set(ids)) != len(ids):
        raise reader.error("checklist_topics", "topic ids must be unique")
    return tuple(topics)


def _parse_defaults(
    reader: _Reader, doc: Mapping[str, Any], topic_ids: tuple[str, ...]
) -> BlockerAdvice:
    raw = reader.mapping(reader.require(doc, "defaults", ""), "defaults")
    return BlockerAdvice(
        id="",
        name="",
        behaviour=reader.text(raw, "behaviour", "defaults"),
        summary=reader.template(raw, "summary", "defaults"),
        strength=reader.template(raw, "strength", "defaults"),
        checklist=reader.checklist(raw, "defaults", topic_ids),
        plays=(),
    )


def _parse_blocker(
    reader: _Reader, blocker_id: str, raw: Any, topic_ids: tuple[str, ...], play_ids: set[str]
) -> BlockerAdvice:
    where = f"blockers.{blocker_id}"
    raw = reader.mapping(raw, where)
    plays = reader.id_list(raw, "plays", where, known=play_ids, kind="play")
    if not plays:
        raise reader.error(f"{where}.plays", "list at least one play that counters this blocker")
    return BlockerAdvice(
        id=blocker_id,
        name=reader.text(raw, "name", where),
        behaviour=reader.text(raw, "behaviour", where),
        summary=reader.template(raw, "summary", where),
        strength=reader.template(raw, "strength", where),
        checklist=reader.checklist(raw, where, topic_ids),
        plays=plays,
    )


def _parse_play(
    reader: _Reader, play_id: str, raw: Any, blockers: tuple[BlockerAdvice, ...]
) -> Play:
    where = f"plays.{play_id}"
    raw = reader.mapping(raw, where)
    if "counters" in raw:
        raise reader.error(
            f"{where}.counters",
            "list the play under each blocker's `plays` instead (one source of truth)",
        )
    questions = raw.get("questions")
    if not isinstance(questions, list) or not 2 <= len(questions) <= 3:
        raise reader.error(f"{where}.questions", "give two or three discussion questions")
    for i, question in enumerate(questions):
        if not isinstance(question, str) or not question.strip():
            raise reader.error(f"{where}.questions[{i}]", "must be a non-empty string")
    return Play(
        id=play_id,
        name=reader.text(raw, "name", where),
        rationale=reader.text(raw, "rationale", where),
        questions=tuple(q.strip() for q in questions),
        counters=tuple(b.id for b in blockers if play_id in b.plays),
    )


def _parse_pillars(
    reader: _Reader, doc: Mapping[str, Any], blocker_ids: set[str]
) -> tuple[Pillar, ...]:
    raw = reader.require(doc, "pillars", "")
    if not isinstance(raw, list) or not raw:
        raise reader.error("pillars", "must be a non-empty list")
    pillars: list[Pillar] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(raw):
        where = f"pillars[{i}]"
        entry = reader.mapping(entry, where)
        pillar_id = reader.text(entry, "id", where)
        members = reader.id_list(entry, "blockers", where, known=blocker_ids, kind="blocker")
        for blocker_id in members:
            if blocker_id in seen:
                raise reader.error(
                    f"{where}.blockers",
                    f"{blocker_id!r} is already in pillar {seen[blocker_id]!r}; "
                    "a blocker belongs to one pillar",
                )
            seen[blocker_id] = pillar_id
        pillars.append(
            Pillar(
                id=pillar_id,
                name=reader.text(entry, "name", where),
                description=reader.text(entry, "description", where),
                blockers=members,
            )
        )
    missing = sorted(blocker_ids - seen.keys())
    if missing:
        raise reader.error("pillars", f"blockers {missing} belong to no pillar")
    return tuple(pillars)


class _Reader:
    """Field accessors that raise :class:`AdviceError` naming file and field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, field: str, problem: str) -> AdviceError:
        return AdviceError(f"{self.source}: {field}: {problem}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(where or "(top level)", "must be a mapping")
        return value

    def require(self, raw: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in raw or raw[key] is None:
            raise self.error(_join(where, key), "required field is missing")
        return raw[key]

    def text(self, raw: Mapping[str, Any], key: str, where: str) -> str:
        value = self.require(raw, key, where)
        if not isinstance(value, str) or not value.strip():
            raise self.error(_join(where, key), "must be a non-empty string")
        return " ".join(value.split())

    def template(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
        allowed: frozenset[str] = PLACEHOLDERS,
    ) -> str:
        value = self.text(raw, key, where)
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise self.error(_join(where, key), f"bad template ({exc})") from exc
        retired = sorted(fields & RETIRED_PLACEHOLDERS.keys())
        if retired:
            raise self.error(_join(where, key), RETIRED_PLACEHOLDERS[retired[0]])
        unknown = sorted(fields - allowed)
        if unknown:
            usable = ", ".join("{" + p + "}" for p in sorted(allowed)) or "none"
            raise self.error(
                _join(where, key), f"unknown placeholder(s) {unknown}; use only {usable}"
            )
        return value

    def checklist(
        self, raw: Mapping[str, Any], where: str, topic_ids: tuple[str, ...]
    ) -> tuple[tuple[str, str], ...]:
        lines = self.mapping(self.require(raw, "checklist", where), f"{where}.checklist")
        missing = [t for t in topic_ids if t not in lines]
        extra = sorted(set(map(str, lines)) - set(topic_ids))
        if missing or extra:
            raise self.error(
                f"{where}.checklist",
                f"needs exactly one line per checklist topic {list(topic_ids)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {extra}" if extra else ""),
            )
        return tuple((t, self.text(lines, t, f"{where}.checklist")) for t in topic_ids)

    def id_list(
        self, raw: Mapping[str, Any], key: str, where: str, *, known: set[str], kind: str
    ) -> tuple[str, ...]:
        value = self.require(raw, key, where)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(_join(where, key), f"must be a list of {kind} ids")
        unknown = [v for v in value if v not in known]
        if unknown:
            raise self.error(_join(where, key), f"unknown {kind} id(s) {unknown}")
        if len(set(value)) != len(value):
            raise self.error(_join(where, key), f"lists a {kind} twice")
        return tuple(value)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


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
    if count != 1:
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
