"""The advice sections of the framework file as pydantic models.

``analytics/data/framework.yaml`` documents itself; :mod:`analytics.advice`
reads it through :func:`validate_framework`, which returns a
:class:`FrameworkFile` or raises :class:`~analytics.advice.AdviceError` with
one ``file: field: problem`` line per problem, e.g.::

    framework.yaml: blockers.trust.plays: unknown play id(s) ['haggling']

Ids across sections (checklist topics, play ids) are checked with the ids of
the same document, passed as validation context. The sections of issue #16
(:data:`analytics.kit_schema.KIT_SECTIONS`) are accepted here and validated by
:mod:`analytics.kit_schema`; any other unknown key is an error.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from analytics.instrument_schema import field_name

__all__ = [
    "PILLAR_LEVELS",
    "PLACEHOLDERS",
    "RETIRED_PLACEHOLDERS",
    "ROUND_MODES",
    "WORDING_PLACEHOLDERS",
    "FrameworkFile",
    "framework_problems",
]

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

#: The pillar levels, lowest risk first; ``wording.pillar_levels`` words each.
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


def _fail(message: str) -> PydanticCustomError:
    # The message goes in as a value, so braces in it are never read as placeholders.
    return PydanticCustomError("advice", "{message}", {"message": message})


# --------------------------------------------------------------------------- leaves


def _text(value: Any) -> str:
    """A non-empty string, runs of whitespace folded to one space."""
    if value is None:
        raise _fail("required field is missing")
    if not isinstance(value, str) or not value.strip():
        raise _fail("must be a non-empty string")
    return " ".join(value.split())


def template(value: Any, allowed: frozenset[str] = PLACEHOLDERS) -> str:
    """A sentence whose ``{placeholders}`` are all in ``allowed``."""
    value = _text(value)
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
    except ValueError as exc:
        raise _fail(f"bad template ({exc})") from exc
    retired = sorted(fields & RETIRED_PLACEHOLDERS.keys())
    if retired:
        raise _fail(RETIRED_PLACEHOLDERS[retired[0]])
    unknown = sorted(fields - allowed)
    if unknown:
        usable = ", ".join("{" + p + "}" for p in sorted(allowed)) or "none"
        raise _fail(f"unknown placeholder(s) {unknown}; use only {usable}")
    return value


def _mapping(value: Any) -> Any:
    if value is None:
        raise _fail("required field is missing")
    if not isinstance(value, Mapping):
        raise _fail("must be a mapping")
    return {str(key): child for key, child in value.items()}


def _non_empty_list(value: Any) -> Any:
    if value is None:
        raise _fail("required field is missing")
    if not isinstance(value, list) or not value:
        raise _fail("must be a non-empty list")
    return value


def _id_list(kind: str, context_key: str) -> Any:
    def validate(value: Any, info: ValidationInfo) -> tuple[str, ...]:
        if value is None:
            raise _fail("required field is missing")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(f"must be a list of {kind} ids")
        known = (info.context or {}).get(context_key)
        unknown = [v for v in value if known is not None and v not in known]
        if unknown:
            raise _fail(f"unknown {kind} id(s) {unknown}")
        if len(set(value)) != len(value):
            raise _fail(f"lists a {kind} twice")
        return tuple(value)

    return PlainValidator(validate)


def _checklist(value: Any, info: ValidationInfo) -> tuple[tuple[str, str], ...]:
    """One line per checklist topic, in topic order."""
    lines = _mapping(value)
    topics: tuple[str, ...] = (info.context or {}).get("topics", ())
    missing = [t for t in topics if t not in lines]
    extra = sorted(set(lines) - set(topics))
    if missing or extra:
        raise _fail(
            f"needs exactly one line per checklist topic {list(topics)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unknown {extra}" if extra else "")
        )
    found = []
    for topic in topics:
        try:
            found.append((topic, _text(lines[topic])))
        except PydanticCustomError as exc:
            raise _fail(f"{topic}: {exc.message()}") from None
    return tuple(found)


def _questions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        raise _fail("give two or three discussion questions")
    for i, question in enumerate(value):
        if not isinstance(question, str) or not question.strip():
            raise PydanticCustomError("advice", "must be a non-empty string", {"at": i})
    return tuple(q.strip() for q in value)


def _no_counters(value: Any) -> Any:
    raise _fail("list the play under each blocker's `plays` instead (one source of truth)")


def _keyed(keys: tuple[str, ...]) -> Any:
    def validate(value: Any) -> tuple[tuple[str, str], ...]:
        entries = _mapping(value)
        if set(entries) != set(keys):
            raise _fail(f"needs exactly the entries {list(keys)}")
        return tuple((key, template(entries[key], frozenset())) for key in keys)

    return PlainValidator(validate)


Text = Annotated[str, PlainValidator(_text)]
Template = Annotated[str, PlainValidator(template)]
Checklist = Annotated[tuple[tuple[str, str], ...], PlainValidator(_checklist)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _section(model: type[BaseModel]) -> Any:
    return Annotated[model, BeforeValidator(_mapping)]


def _sections(model: type[BaseModel]) -> Any:
    return Annotated[dict[str, _section(model)], BeforeValidator(_mapping)]  # type: ignore[valid-type]


def _entries(model: type[BaseModel]) -> Any:
    return Annotated[tuple[_section(model), ...], BeforeValidator(_non_empty_list)]  # type: ignore[valid-type]


# --------------------------------------------------------------------------- sections


class TopicFile(_Model):
    """One prompt of the checklist."""

    id: Text
    heading: Text


class DefaultsFile(_Model):
    """Generic sentences for a blocker the file does not describe."""

    behaviour: Text
    summary: Template
    strength: Template
    checklist: Checklist


class BlockerFile(_Model):
    """What to tell a team about one blocker."""

    name: Text
    behaviour: Text
    summary: Template
    strength: Template
    checklist: Checklist
    plays: Annotated[tuple[str, ...], _id_list("play", "plays")]

    @field_validator("plays")
    @classmethod
    def _some_play(cls, plays: tuple[str, ...]) -> tuple[str, ...]:
        if not plays:
            raise _fail("list at least one play that counters this blocker")
        return plays


class PlayFile(_Model):
    """A win-win technique."""

    name: Text
    rationale: Text
    questions: Annotated[tuple[str, ...], PlainValidator(_questions)]
    counters: Annotated[Any, PlainValidator(_no_counters)] = None


class PillarFile(_Model):
    """A group of blockers."""

    id: Text
    name: Text
    description: Text
    blockers: Annotated[tuple[str, ...], _id_list("blocker", "blockers")]


class WordingFile(_Model):
    """Sentences every page words the same way."""

    tentative_summary: str
    tentative_small: str
    tentative_fragile: str
    no_blocker: str
    leading: str
    main_blocker: str
    tentative_blocker: str
    tentative_label: str
    reliability_caveat: str
    pillar_levels: Annotated[tuple[tuple[str, str], ...], _keyed(PILLAR_LEVELS)]
    round_modes: Annotated[tuple[tuple[str, str], ...], _keyed(ROUND_MODES)]

    @field_validator(*WORDING_PLACEHOLDERS, mode="plain")
    @classmethod
    def _placeholders(cls, value: Any, info: ValidationInfo) -> str:
        assert info.field_name is not None
        return template(value, WORDING_PLACEHOLDERS[info.field_name])


class FrameworkFile(_Model):
    """The advice sections; the #16 sections are kept as given for :mod:`analytics.kit_schema`."""

    checklist_topics: _entries(TopicFile)  # type: ignore[valid-type]
    defaults: _section(DefaultsFile)  # type: ignore[valid-type]
    wording: _section(WordingFile)  # type: ignore[valid-type]
    plays: _sections(PlayFile)  # type: ignore[valid-type]
    blockers: _sections(BlockerFile)  # type: ignore[valid-type]
    pillars: _entries(PillarFile)  # type: ignore[valid-type]
    # Sections of issue #16, validated by analytics.kit_schema.load_kit.
    agreement: Any = None
    gap: Any = None
    pair_rules: Any = None
    drills: Any = None
    session_kit: Any = None
    worksheet: Any = None
    trend: Any = None

    @field_validator("checklist_topics")
    @classmethod
    def _unique_topics(cls, topics: tuple[TopicFile, ...]) -> tuple[TopicFile, ...]:
        ids = [t.id for t in topics]
        if len(set(ids)) != len(ids):
            raise _fail("topic ids must be unique")
        return topics

    @model_validator(mode="after")
    def _pillars_partition_blockers(self) -> FrameworkFile:
        seen: dict[str, str] = {}
        for i, pillar in enumerate(self.pillars):
            for blocker_id in pillar.blockers:
                if blocker_id in seen:
                    raise PydanticCustomError(
                        "advice",
                        "{where}: {message}",
                        {
                            "where": f"pillars[{i}].blockers",
                            "message": f"{blocker_id!r} is already in pillar"
                            f" {seen[blocker_id]!r}; a blocker belongs to one pillar",
                        },
                    )
                seen[blocker_id] = pillar.id
        missing = sorted(set(self.blockers) - seen.keys())
        if missing:
            raise PydanticCustomError(
                "advice",
                "{where}: {message}",
                {"where": "pillars", "message": f"blockers {missing} belong to no pillar"},
            )
        return self


# The order sections are checked in (the order of the file; #16 sections last).
_ORDER = {name: i for i, name in enumerate(FrameworkFile.model_fields)}


def _allowed(loc: tuple[str | int, ...]) -> str:
    models: dict[str, type[BaseModel]] = {
        "checklist_topics": TopicFile,
        "defaults": DefaultsFile,
        "wording": WordingFile,
        "plays": PlayFile,
        "blockers": BlockerFile,
        "pillars": PillarFile,
    }
    model: type[BaseModel] = FrameworkFile if len(loc) <= 1 else models[str(loc[0])]
    return ", ".join(sorted(model.model_fields))


def framework_problems(error: ValidationError) -> list[tuple[str, str]]:
    """``(field, problem)`` of every error, in the file's section order."""
    found = []
    for entry in error.errors(include_url=False, include_input=False):
        loc = tuple(entry["loc"])
        ctx = entry.get("ctx") or {}
        if entry["type"] == "missing":
            message = "required field is missing"
        elif entry["type"] in ("extra_forbidden", "invalid_key"):
            message = f"unknown key (allowed here: {_allowed(loc)})"
        elif "where" in ctx:
            loc, message = (), str(ctx["message"])
            field = str(ctx["where"])
            found.append(((_ORDER.get(field.split("[")[0], 99),), field, message))
            continue
        else:
            message = entry["msg"]
        if isinstance(ctx.get("at"), int):
            loc = (*loc, ctx["at"])
        rank = (_ORDER.get(str(loc[0]), 99),) if loc else (-1,)
        found.append((rank, field_name(loc) or "(top level)", message))
    found.sort(key=lambda entry: entry[0])
    return [(field, message) for _, field, message in found]
