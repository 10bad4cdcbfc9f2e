"""The counterparty and session-kit sections of the framework file, checked with pydantic.

``analytics/data/framework.yaml`` holds, beside the advice sections that
:mod:`analytics.advice` reads, the sections of issue #16: ``agreement``,
``gap``, ``pair_rules``, ``drills``, ``session_kit``, ``worksheet`` and
``trend`` (documented in the file). :func:`load_kit` validates them and returns
an immutable :class:`Kit`. Every problem is reported with the file, the field
and what to do, the way the advice loader reports its own::

    framework.yaml: pair_rules[1].any[0].blocker: unknown blocker id 'trsut'; use one of [...]

Blocker, play and checklist-topic ids are checked against the ``blockers``,
``plays`` and ``checklist_topics`` sections of the same file.

Examples
--------
>>> kit = load_kit()
>>> kit.agreement.rwg_j_min, kit.gap.split_blocker
(0.7, 'misalignment')
>>> [rule.id for rule in kit.pair_rules][:2]
['guarded_fixed_pie', 'split_counterparty']
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "KIT_SECTIONS",
    "LEVELS",
    "SIDES",
    "AgendaPart",
    "AgreementSection",
    "Condition",
    "Drill",
    "GapSection",
    "Kit",
    "KitError",
    "PairRule",
    "SessionKitSection",
    "TrendSection",
    "WorksheetSection",
    "load_kit",
    "parse_kit",
]

DEFAULT_FRAMEWORK_PATH = Path(__file__).parent / "data" / "framework.yaml"

#: Top-level sections of the framework file that this module owns.
KIT_SECTIONS = (
    "agreement",
    "gap",
    "pair_rules",
    "drills",
    "session_kit",
    "worksheet",
    "trend",
)

#: Where a blocker is on one side of a pair ("not_shared": the team's ratings disagree).
LEVELS = ("present", "absent", "unclear")
#: Which side(s) a pair-rule condition looks at.
SIDES = ("us", "them", "both", "either")


class KitError(ValueError):
    """The kit sections of the framework file are invalid; ``problems`` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def _placeholders(text: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise ValueError(f"bad template ({exc})") from exc


def _template(text: str, allowed: frozenset[str]) -> str:
    """A non-empty sentence whose placeholders are all in ``allowed``, whitespace folded."""
    folded = " ".join(text.split())
    if not folded:
        raise ValueError("must be a non-empty string")
    unknown = sorted(_placeholders(folded) - allowed)
    if unknown:
        usable = ", ".join("{" + p + "}" for p in sorted(allowed)) or "none"
        raise ValueError(f"unknown placeholder(s) {unknown}; use only {usable}")
    return folded


def _context_ids(info: ValidationInfo, key: str) -> tuple[str, ...] | None:
    context = info.context or {}
    ids = context.get(key)
    return None if ids is None else tuple(ids)


def _known(value: str, info: ValidationInfo, key: str, kind: str) -> str:
    known = _context_ids(info, key)
    if known is not None and value not in known:
        raise ValueError(f"unknown {kind} id {value!r}; use one of {list(known)}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Text = Field(min_length=1)


# --------------------------------------------------------------------------- agreement


class AgreementWording(_Model):
    """Sentences about whether the team's view of a counterparty is shared."""

    profile_shared: str
    profile_not_shared: str
    blocker_not_shared: str
    too_few: str

    @model_validator(mode="after")
    def _templates(self) -> AgreementWording:
        _template(self.profile_shared, frozenset())
        _template(self.profile_not_shared, frozenset())
        _template(self.blocker_not_shared, frozenset({"name"}))
        _template(self.too_few, frozenset({"needed"}))
        return self


class AgreementSection(_Model):
    """Cut values of inter-rater agreement (see ``agreement`` in the framework file)."""

    rwg_j_min: float = Field(ge=0.0, le=1.0)
    icc_min: float = Field(ge=0.0, le=1.0)
    confidence: float = Field(gt=0.0, lt=1.0)
    wording: AgreementWording


# --------------------------------------------------------------------------- gap


class GapWording(_Model):
    """Sentences and labels of the us-vs-them page."""

    levels: dict[str, str]
    both_sides: dict[str, str]
    no_both_sides: str
    pair_play: str

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: dict[str, str]) -> dict[str, str]:
        if set(value) != set(LEVELS):
            raise ValueError(f"needs exactly the entries {list(LEVELS)}")
        return {k: _template(value[k], frozenset()) for k in LEVELS}

    @field_validator("both_sides")
    @classmethod
    def _both(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        known = _context_ids(info, "blockers")
        if known is not None:
            unknown = sorted(set(value) - set(known))
            missing = [b for b in known if b not in value]
            if unknown or missing:
                raise ValueError(
                    "needs one sentence per blocker id"
                    + (f"; unknown {unknown}" if unknown else "")
                    + (f"; missing {missing}" if missing else "")
                )
        return {k: _template(v, frozenset({"name"})) for k, v in value.items()}

    @model_validator(mode="after")
    def _templates(self) -> GapWording:
        _template(self.no_both_sides, frozenset())
        _template(self.pair_play, frozenset({"name", "reason"}))
        return self


class GapSection(_Model):
    """The rule deciding a blocker's level on each side, and the gap page's wording."""

    reference: float = Field(gt=0.0, lt=1.0)
    split_blocker: str
    wording: GapWording

    @field_validator("split_blocker")
    @classmethod
    def _split(cls, value: str, info: ValidationInfo) -> str:
        return _known(value, info, "blockers", "blocker")


# --------------------------------------------------------------------------- pair rules


class Condition(_Model):
    """One condition of a pair rule: a blocker's level on one side, both or either."""

    blocker: str
    side: Literal["us", "them", "both", "either"]
    level: Literal["present", "absent", "unclear", "not_shared"]

    @field_validator("blocker")
    @classmethod
    def _blocker(cls, value: str, info: ValidationInfo) -> str:
        return _known(value, info, "blockers", "blocker")

    @model_validator(mode="after")
    def _not_shared_is_theirs(self) -> Condition:
        if self.level == "not_shared" and self.side != "them":
            raise ValueError(
                "level not_shared describes the team's ratings of the other side; use side: them"
            )
        return self


class PairRule(_Model):
    """Which plays fit a pair of profiles, and why (one ``pair_rules`` entry)."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()
    plays: tuple[str, ...] = Field(min_length=1)
    reason: str

    @field_validator("plays")
    @classmethod
    def _plays(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for play in value:
            _known(play, info, "plays", "play")
        if len(set(value)) != len(value):
            raise ValueError("lists a play twice")
        return value

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _template(value, frozenset())

    @model_validator(mode="after")
    def _has_condition(self) -> PairRule:
        if not self.all and not self.any:
            raise ValueError("give at least one condition under `all` or `any`")
        return self


# --------------------------------------------------------------------------- drills, agenda


class Drill(_Model):
    """A drill that practises one play in the team session."""

    name: str = Text
    steps: tuple[str, ...] = Field(min_length=2)

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_template(step, frozenset()) for step in value)


_AGENDA_PLACEHOLDERS = frozenset({"name", "drill", "deal"})


class AgendaPart(_Model):
    """One kind of agenda item: its minutes, title, purpose and steps."""

    minutes: int = Field(gt=0, le=90)
    title: str
    purpose: str
    steps: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _templates(self) -> AgendaPart:
        for text in (self.title, self.purpose, *self.steps):
            _template(text, _AGENDA_PLACEHOLDERS)
        return self


class SessionKitSection(_Model):
    """The facilitator agenda's parts and limits (``session_kit``)."""

    min_total: int = Field(gt=0)
    max_total: int = Field(gt=0)
    max_blockers: int = Field(ge=1, le=3)
    max_drills: int = Field(ge=1)
    max_commitments: int = Field(ge=1, le=10)
    opening: AgendaPart
    blocker: AgendaPart
    no_blocker: AgendaPart
    leading_step: str
    tentative_step: str
    drill: AgendaPart
    checklist: AgendaPart
    commitments: AgendaPart
    review_step: str
    no_deal: str = Text

    @model_validator(mode="after")
    def _fits(self) -> SessionKitSection:
        _template(self.leading_step, frozenset({"name"}))
        _template(self.tentative_step, frozenset())
        _template(self.review_step, frozenset({"name", "owner", "due"}))
        if self.min_total > self.max_total:
            raise ValueError("min_total must not exceed max_total")
        least = (
            self.opening.minutes
            + self.no_blocker.minutes
            + self.checklist.minutes
            + self.commitments.minutes
        )
        most = (
            self.opening.minutes
            + self.max_blockers * self.blocker.minutes
            + self.drill.minutes
            + self.checklist.minutes
            + self.commitments.minutes
        )
        if least > self.max_total or most > self.max_total:
            raise ValueError(
                f"the fixed parts with one drill take up to {max(least, most)} minutes, more "
                f"than max_total {self.max_total}; shorten a part or raise max_total"
            )
        return self


# --------------------------------------------------------------------------- worksheet


class WorksheetSection(_Model):
    """The deal worksheet's questions and the counterparty's checklist lines."""

    questions: dict[str, str]
    not_shared: str
    no_rating: str
    them: dict[str, dict[str, str]]

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        _exactly(value, _context_ids(info, "topics"), "checklist topic")
        return {k: _template(v, frozenset({"deal"})) for k, v in value.items()}

    @field_validator("them")
    @classmethod
    def _them(
        cls, value: dict[str, dict[str, str]], info: ValidationInfo
    ) -> dict[str, dict[str, str]]:
        _exactly(value, _context_ids(info, "blockers"), "blocker")
        topics = _context_ids(info, "topics")
        checked = {}
        for blocker, lines in value.items():
            try:
                _exactly(lines, topics, "checklist topic")
            except ValueError as exc:
                raise ValueError(f"{blocker}: {exc}") from exc
            checked[blocker] = {k: _template(v, frozenset()) for k, v in lines.items()}
        return checked

    @model_validator(mode="after")
    def _templates(self) -> WorksheetSection:
        _template(self.not_shared, frozenset({"name"}))
        _template(self.no_rating, frozenset())
        return self


def _exactly(value: Mapping[str, Any], known: tuple[str, ...] | None, kind: str) -> None:
    if known is None:
        return
    unknown = sorted(set(value) - set(known))
    missing = [k for k in known if k not in value]
    if unknown or missing:
        raise ValueError(
            f"needs exactly one entry per {kind} id {list(known)}"
            + (f"; unknown {unknown}" if unknown else "")
            + (f"; missing {missing}" if missing else "")
        )


# --------------------------------------------------------------------------- trend


class TrendWording(_Model):
    """Sentences of the trend summary and the commitment follow-up."""

    rose: str
    fell: str
    since_first: str
    since_previous: str
    no_clear_change: str
    one_round: str
    followup: str
    unchanged: str
    not_measured: str

    @model_validator(mode="after")
    def _templates(self) -> TrendWording:
        name = frozenset({"name"})
        _template(self.rose, name)
        _template(self.fell, name)
        _template(self.unchanged, name)
        _template(self.not_measured, name)
        _template(self.since_first, frozenset({"first", "list"}))
        _template(self.since_previous, frozenset({"previous", "list"}))
        _template(self.no_clear_change, frozenset())
        _template(self.one_round, frozenset())
        _template(self.followup, frozenset({"play", "owner", "due", "changes"}))
        return self


class TrendSection(_Model):
    """The ``trend`` section."""

    wording: TrendWording


# --------------------------------------------------------------------------- the kit


class Kit(_Model):
    """Every #16 section of the framework file, validated."""

    agreement: AgreementSection
    gap: GapSection
    pair_rules: tuple[PairRule, ...] = Field(min_length=1)
    drills: dict[str, Drill]
    session_kit: SessionKitSection
    worksheet: WorksheetSection
    trend: TrendSection
    source: str = "framework.yaml"

    @field_validator("pair_rules")
    @classmethod
    def _unique_rules(cls, value: tuple[PairRule, ...]) -> tuple[PairRule, ...]:
        ids = [rule.id for rule in value]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"rule ids must be unique; {twice} appear more than once")
        return value

    @field_validator("drills")
    @classmethod
    def _drills(cls, value: dict[str, Drill], info: ValidationInfo) -> dict[str, Drill]:
        _exactly(value, _context_ids(info, "plays"), "play")
        return value

    def drill(self, play_id: str) -> Drill | None:
        """The drill practising a play, or ``None``."""
        return self.drills.get(play_id)


_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown key; check its spelling against the comments in the file",
}


def _field(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _problems(error: ValidationError, source: str) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        # Drop pydantic's "function-after[...]" and literal-type frames from the location.
        loc = [p for p in item["loc"] if not (isinstance(p, str) and "[" in p)]
        message = _MESSAGES.get(item["type"], item["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(f"{source}: {_field(loc)}: {message}")
    return problems


def parse_kit(document: Any, source: str = "framework.yaml") -> Kit:
    """Validate the #16 sections of a parsed framework document.

    Parameters
    ----------
    document : Mapping
        The whole parsed framework file; its ``blockers``, ``plays`` and
        ``checklist_topics`` give the ids the kit sections may refer to.
    source : str
        The file name used in messages.

    Raises
    ------
    KitError
        Listing every problem as ``source: field: problem``.

    Examples
    --------
    >>> parse_kit({"blockers": {}, "plays": {}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analytics.kit_schema.KitError: framework.yaml: agreement: required field is missing
    ...
    """
    if not isinstance(document, Mapping):
        raise KitError([f"{source}: (top level): must be a mapping"])
    blockers = document.get("blockers")
    plays = document.get("plays")
    topics = document.get("checklist_topics")
    context = {
        "blockers": tuple(map(str, blockers)) if isinstance(blockers, Mapping) else (),
        "plays": tuple(map(str, plays)) if isinstance(plays, Mapping) else (),
        "topics": tuple(str(t["id"]) for t in topics or () if isinstance(t, Mapping) and "id" in t),
    }
    sections = {key: document.get(key) for key in KIT_SECTIONS if key in document}
    try:
        return Kit.model_validate({**sections, "source": source}, context=context)
    except ValidationError as exc:
        raise KitError(_problems(exc, source)) from None


def load_kit(path: str | Path | None = None, language: str | None = None) -> Kit:
    """Load and validate the kit sections of the framework file (the packaged one by default).

    Read once per process and path (the file is package data and does not change).
    ``language`` words the packaged framework in another language (its translation
    laid over the English file, :mod:`analytics.framework_i18n`); by default the
    current one (:func:`analytics.language.current_language`).
    """
    if language is None:
        from analytics.language import current_language

        language = current_language()
    if path is None and language != "en":
        return _load_translated(language)
    return _load_cached(str(Path(path) if path is not None else DEFAULT_FRAMEWORK_PATH))


@lru_cache(maxsize=4)
def _load_translated(language: str) -> Kit:
    from analytics.framework_i18n import framework_document, framework_path

    return parse_kit(framework_document(language), source=framework_path(language).name)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Kit:
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise KitError([f"{source.name}: cannot read the framework file ({exc})"]) from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KitError([f"{source.name}: not valid YAML ({exc})"]) from exc
    return parse_kit(document, source=source.name)
