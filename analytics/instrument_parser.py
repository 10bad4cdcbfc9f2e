"""Read and validate instrument files: the public instrument file format.

An instrument file is a YAML mapping::

    id: negotiation-blockers          # identifier (see below)
    version: 1                        # positive integer; bump it whenever the content changes
    title: Negotiation blockers profile
    description: optional text
    response_scale: {min: 1, max: 5, labels: [Strongly disagree, Disagree, Neutral,
                                              Agree, Strongly agree]}
    dimensions:                       # at least one
      - id: trust
        name: Trust
        description: One or two sentences a respondent or coach understands.
        kind: blocker                 # optional: blocker | practice
        response_scale: {...}         # optional, overrides the instrument's scale
        items:                        # at least two
          - {id: TR1, text: "I tell the other side what we really need.", reverse: true}
    context:                          # optional non-identifying multiple-choice questions
      - {id: role, text: Your role, options: [sales, procurement, engineering, management, other]}
    language: en                      # optional: the language of the texts above (default en)
    translations:                     # optional: the texts in other languages (see below)
      fr:
        title: Profil des freins à la négociation
        description: optional text
        response_scale: {labels: [Pas du tout d'accord, ..., Tout à fait d'accord]}
        dimensions:
          trust: {name: Confiance, description: ..., response_scale: {labels: [...]}}
        items:
          TR1: "Je dis à l'autre partie ce dont nous avons vraiment besoin."
        context:
          role: {text: Votre famille de métier, options: [ventes, achats, ...]}

Rules (every broken rule is reported with the file, the field and the problem):

* Unknown keys are errors at every level, so a typo never goes unnoticed.
* Ids are identifiers: ASCII letters, digits, ``_`` and ``-``, starting with a
  letter. Item, dimension and context ids share one namespace, are compared
  ignoring case (they become column names) and must not be ``team`` or
  ``respondent``.
* A scale has integer ``min < max`` and exactly ``max - min + 1`` distinct,
  non-empty labels.
* ``reverse`` is a real boolean. Files are read with YAML 1.2 booleans: only
  ``true``/``false`` are booleans, so ``reverse: yes`` is refused instead of
  silently read as true (and ``options: [yes, no]`` stays text).
* ``kind`` is ``blocker`` or ``practice``; either every dimension declares a
  kind (and at least one is a blocker) or none does.
* A context question has at least two distinct options.
* Texts (title, names, descriptions of dimensions, item texts, labels, options)
  are non-empty; surrounding whitespace is stripped.

The structure is defined by the pydantic models of
:mod:`analytics.instrument_schema`; the rules across the file are checked here.

Languages
---------
``language`` is a language code (ISO 639 language in lower case, optional
script and region: ``en``, ``fr``, ``pt-BR``, ``zh-Hant``) of a locale the
Unicode CLDR knows. ``translations`` maps other language codes to the texts in
that language, each keyed by the ids of the file:

* ``title``, ``description``, ``response_scale.labels``;
* ``dimensions.<dimension id>``: ``name``, ``description`` and, only for a
  dimension with its own scale, ``response_scale.labels``;
* ``items.<item id>``: the item text;
* ``context.<question id>``: ``text`` and ``options``.

Labels and options are complete lists in the order of the list they translate
(an answer is stored as the file's own option, whatever language it was given
in: see :meth:`~analytics.instrument.Instrument.option_pairs`). Every id must
exist in the file, every list must have the length of the one it translates,
texts are non-empty and a translation cannot be into the file's own language.
A translation may be *partial* while it is being written:
:meth:`~analytics.instrument.Instrument.untranslated` lists every missing text,
and only complete languages are in
:attr:`~analytics.instrument.Instrument.languages` (those a respondent is
offered). The shipped instruments are complete in every language they declare.

Translations are not part of the content hash
(:attr:`~analytics.instrument.Instrument.content_hash`): it covers every other
field, so a stored version keeps its hash, its answers and its comparisons when
a language is added to its file or a translation is corrected (see
:func:`with_shipped_translations` for versions stored before). Everything else
follows the rule of the shipped files' header: once answers exist, change the
file only under a new version number.

Files using only the fields above will keep loading in later versions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError

from analytics.instrument import (
    ContextQuestion,
    Dimension,
    Instrument,
    Item,
    ResponseScale,
    Translation,
)
from analytics.instrument_schema import (
    DIMENSION_KINDS,
    IDENTIFIER,
    MINIMUM_ENTRIES,
    RESERVED_IDS,
    InstrumentFile,
    Location,
    ScaleFile,
    SortKey,
    TranslationFile,
    describe,
    field_name,
    problems_of,
    sort_key,
)

__all__ = [
    "DEFAULT_INSTRUMENT_FILE",
    "DIMENSION_KINDS",
    "RESERVED_IDS",
    "InstrumentError",
    "InstrumentProblem",
    "default_instrument_paths",
    "load_default_instrument",
    "load_instrument",
    "parse_instrument",
    "parse_instrument_yaml",
    "with_shipped_translations",
]

DEFAULT_INSTRUMENT_FILE = "negotiation-blockers-v1.yaml"
"""File name of the shipped default instrument in :mod:`analytics.instruments`."""

_PACKAGE = "analytics.instruments"


@dataclass(frozen=True)
class InstrumentProblem:
    """One thing wrong with an instrument file.

    Parameters
    ----------
    source : str
        The file (or other origin) the instrument came from.
    field : str
        Where in the file, e.g. ``dimensions[2].items[0].reverse``; empty when
        the problem concerns the whole file.
    message : str
        What is wrong, in words a file author can act on.

    Examples
    --------
    >>> str(InstrumentProblem("negotiation.yaml", "version", "must be a positive integer, got 0"))
    'negotiation.yaml: version: must be a positive integer, got 0'
    """

    source: str
    field: str
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.source}: {self.field}: {self.message}"
        return f"{self.source}: {self.message}"


class InstrumentError(ValueError):
    """An instrument file is invalid; ``problems`` lists everything found.

    ``str(error)`` has one problem per line.

    Examples
    --------
    >>> try:
    ...     parse_instrument({"id": "x"}, source="x.yaml")
    ... except InstrumentError as error:
    ...     print(error)
    x.yaml: dimensions: required field is missing
    x.yaml: response_scale: required field is missing
    x.yaml: title: required field is missing
    x.yaml: version: required field is missing
    """

    def __init__(self, problems: Sequence[InstrumentProblem]) -> None:
        super().__init__(tuple(problems))
        self.problems: list[InstrumentProblem] = list(problems)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


# --------------------------------------------------------------------------- loading


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` with YAML 1.2 booleans, no implicit dates, no duplicate keys."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found duplicate key {key_node.value!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_instrument_yaml(text: str | bytes, source: str = "<instrument>") -> Instrument:
    """Parse and validate an instrument from YAML text.

    Parameters
    ----------
    text : str or bytes
        The YAML document (bytes may be UTF-8 or UTF-16 with a BOM).
    source : str
        Name used in error messages, usually the file name.

    Returns
    -------
    Instrument

    Raises
    ------
    InstrumentError
        On YAML syntax errors (with line and column) or any invalid content.

    Examples
    --------
    >>> try:
    ...     parse_instrument_yaml("id: x\\nversion: [1", source="x.yaml")
    ... except InstrumentError as error:
    ...     print(error)
    x.yaml: invalid YAML at line 2, column 12: expected ',' or ']', but got '<stream end>'
    """
    try:
        data = yaml.load(text, Loader=_Loader)  # safe: _Loader subclasses SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "unreadable document"
        raise InstrumentError(
            [InstrumentProblem(source, "", f"invalid YAML{where}: {what}")]
        ) from exc
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise InstrumentError([InstrumentProblem(source, "", f"invalid YAML: {message}")]) from exc
    except RecursionError as exc:
        raise InstrumentError(
            [InstrumentProblem(source, "", "invalid YAML: nested too deeply")]
        ) from exc
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # Explicit tags with unusable values, e.g. ``!!int abc`` or ``!!timestamp x``.
        raise InstrumentError(
            [InstrumentProblem(source, "", f"invalid YAML: a tagged value cannot be read ({exc})")]
        ) from exc
    return parse_instrument(data, source=source)


def load_instrument(path: str | os.PathLike[str]) -> Instrument:
    """Read, parse and validate an instrument file.

    Parameters
    ----------
    path : str or os.PathLike
        The YAML file; it is named as given in error messages.

    Returns
    -------
    Instrument

    Raises
    ------
    InstrumentError
        When the file is not valid YAML or not a valid instrument.
    OSError
        When the file cannot be read.

    Examples
    --------
    >>> path = next(p for p in default_instrument_paths() if p.name == DEFAULT_INSTRUMENT_FILE)
    >>> load_instrument(path).id
    'negotiation-blockers'
    """
    return parse_instrument_yaml(Path(path).read_bytes(), source=os.fspath(path))


@lru_cache(maxsize=1)
def load_default_instrument() -> Instrument:
    """The shipped default instrument, ``negotiation-blockers`` version 1.

    Read from the package data of :mod:`analytics.instruments` once per process
    (instruments are immutable, so every call returns the same object).

    Examples
    --------
    >>> instrument = load_default_instrument()
    >>> instrument.id, instrument.version, len(instrument.items)
    ('negotiation-blockers', 1, 37)
    """
    resource = resources.files(_PACKAGE).joinpath(DEFAULT_INSTRUMENT_FILE)
    return parse_instrument_yaml(resource.read_bytes(), source=DEFAULT_INSTRUMENT_FILE)


def default_instrument_paths() -> list[Path]:
    """Paths of every instrument file shipped in :mod:`analytics.instruments`, sorted.

    The package must be installed as plain files (not zipped), as it is by pip.

    Examples
    --------
    >>> [path.name for path in default_instrument_paths()]  # doctest: +SKIP
    ['negotiation-blockers-v1.yaml']
    """
    root = resources.files(_PACKAGE)
    return sorted(
        Path(str(entry))
        for entry in root.iterdir()
        if entry.is_file() and entry.name.endswith((".yaml", ".yml"))
    )


# --------------------------------------------------------------------------- validation


def parse_instrument(data: Mapping[str, Any], source: str = "<instrument>") -> Instrument:
    """Validate a parsed instrument mapping and build the :class:`Instrument`.

    The structure is checked by the pydantic models of
    :mod:`analytics.instrument_schema`; rules across the file (unique ids,
    kinds, translations naming existing ids) are checked here. Every problem
    found is collected before raising, so one run lists them all.

    Parameters
    ----------
    data : Mapping
        The instrument as parsed from YAML or JSON (lists or tuples for
        sequences). Anything else is reported as a problem, not a crash.
    source : str
        Name used in error messages, usually the file name.

    Returns
    -------
    Instrument
        Its ``definition`` is a read-only deep copy of ``data``, so
        ``content_hash`` depends only on the content, not on key order.

    Raises
    ------
    InstrumentError
        Listing every problem, each naming the source, the field and the issue.

    Examples
    --------
    >>> scale = {"min": 1, "max": 2, "labels": ["No", "Yes"]}
    >>> items = [{"id": "A1", "text": "I ask."}, {"id": "A2", "text": "I listen."}]
    >>> dim = {"id": "a", "name": "A", "description": "About A.", "items": items}
    >>> data = {"id": "demo", "version": 1, "title": "Demo",
    ...         "response_scale": scale, "dimensions": [dim]}
    >>> parse_instrument(data).item_ids
    ('A1', 'A2')
    >>> try:
    ...     parse_instrument({**data, "version": "2", "extra": 1}, source="demo.yaml")
    ... except InstrumentError as error:
    ...     print([problem.field for problem in error.problems])
    ...     print(error.problems[-1])
    ['extra', 'version']
    demo.yaml: version: must be a positive integer, got '2'
    """
    if not isinstance(data, Mapping):
        found = "an empty file" if data is None else describe(data)
        raise InstrumentError(
            [
                InstrumentProblem(
                    source, "", f"the top level must be a mapping of instrument fields, got {found}"
                )
            ]
        )
    problems: list[tuple[SortKey, Location, str]] = []
    model: InstrumentFile | None = None
    try:
        model = InstrumentFile.model_validate(data)
    except ValidationError as error:
        problems += problems_of(error)
    except RecursionError:
        problems.append((sort_key(()), (), "is nested too deeply"))
    problems += _too_few(data)
    problems += _duplicate_ids(data)
    if model is not None:
        problems += _kind_problems(model)
        problems += _translation_problems(model)
    if problems:
        problems.sort(key=lambda problem: problem[0])
        raise InstrumentError(
            [InstrumentProblem(source, field_name(loc), message) for _, loc, message in problems]
        )
    assert model is not None
    return _build(model, data)


def _problem(loc: Location, message: str) -> tuple[SortKey, Location, str]:
    return sort_key(loc), loc, message


def _duplicate_ids(data: Mapping[str, Any]) -> list[tuple[SortKey, Location, str]]:
    """Item, dimension and context ids used twice (ignoring case), in file order.

    Walks the raw mapping as far as its shape allows, so duplicates are reported
    together with any other problem; ids that are not valid identifiers or are
    reserved are reported by the schema and not claimed here.
    """
    claimed: dict[str, tuple[str, str]] = {}  # casefolded id -> (id, field)
    problems = []

    def claim(entry: Any, loc: Location) -> None:
        if not isinstance(entry, Mapping):
            return
        value = entry.get("id")
        if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
            return
        folded = value.casefold()
        if folded in RESERVED_IDS:
            return
        if folded in claimed:
            first, where = claimed[folded]
            same = "" if first == value else f" as {first!r} (ids are compared ignoring case)"
            message = f"duplicate id {value!r}: already used by {where}{same}"
            problems.append(_problem((*loc, "id"), message))
            return
        claimed[folded] = (value, field_name(loc))

    for i, dim in enumerate(_entries(data.get("dimensions"))):
        claim(dim, ("dimensions", i))
        if isinstance(dim, Mapping):
            for j, item in enumerate(_entries(dim.get("items"))):
                claim(item, ("dimensions", i, "items", j))
    for i, question in enumerate(_entries(data.get("context"))):
        claim(question, ("context", i))
    return problems


def _too_few(data: Mapping[str, Any]) -> list[tuple[SortKey, Location, str]]:
    """Lists with fewer entries than the format needs (at least 1 dimension, 2 items each)."""
    problems = []

    def check(value: Any, loc: Location, key: str) -> None:
        minimum, what = MINIMUM_ENTRIES[key]
        if isinstance(value, list | tuple) and len(value) < minimum:
            plural = what if minimum == 1 else f"{what}s"
            message = f"needs at least {minimum} {plural}, got {len(value)}"
            problems.append(_problem(loc, message))

    check(data.get("dimensions"), ("dimensions",), "dimensions")
    for i, dim in enumerate(_entries(data.get("dimensions"))):
        if isinstance(dim, Mapping):
            check(dim.get("items"), ("dimensions", i, "items"), "items")
    return problems


def _entries(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()


def _kind_problems(model: InstrumentFile) -> list[tuple[SortKey, Location, str]]:
    """Every dimension declares a kind, at least one a blocker, or none declares one."""
    kinds = [dim.kind for dim in model.dimensions]
    if not any(kinds):
        return []
    if not all(kinds):
        return [
            _problem(("dimensions", i, "kind"), "required because other dimensions have one")
            for i, kind in enumerate(kinds)
            if kind is None
        ]
    if "blocker" not in kinds:
        return [_problem(("dimensions",), "at least one dimension must have kind 'blocker'")]
    return []


def _translation_problems(model: InstrumentFile) -> list[tuple[SortKey, Location, str]]:
    """Translations name existing ids and have one label or option per original one."""
    problems = []
    item_ids = {item.id for dim in model.dimensions for item in dim.items}
    dimensions = {dim.id: (i, dim) for i, dim in enumerate(model.dimensions)}
    questions = {q.id: (i, q) for i, q in enumerate(model.context)}

    def count(loc: Location, got: int, want: int, what: str, of: str) -> None:
        if got != want:
            message = f"needs {want} {what}s, one per {what} of {of} in the same order; got {got}"
            problems.append(_problem(loc, message))

    for language, translation in model.translations.items():
        here: Location = ("translations", language)
        if language == model.language:
            problems.append(
                _problem(
                    here,
                    f"{language!r} is the language of the file's own texts (language:"
                    f" {model.language}); translate into other languages only",
                )
            )
        if translation.response_scale is not None:
            count(
                (*here, "response_scale", "labels"),
                len(translation.response_scale.labels),
                len(model.response_scale.labels),
                "label",
                "response_scale.labels",
            )
        for item_id in translation.items:
            if item_id not in item_ids:
                problems.append(
                    _problem(
                        (*here, "items", item_id), f"{item_id!r} is not an item id of the file"
                    )
                )
        for dim_id, dim_translation in translation.dimensions.items():
            loc = (*here, "dimensions", dim_id)
            if dim_id not in dimensions:
                problems.append(_problem(loc, f"{dim_id!r} is not a dimension id of the file"))
                continue
            position, dim = dimensions[dim_id]
            if dim_translation.response_scale is None:
                continue
            if dim.response_scale is None:
                problems.append(
                    _problem(
                        (*loc, "response_scale"),
                        f"dimensions[{position}] has no response_scale of its own; translate the"
                        " instrument's response_scale instead",
                    )
                )
                continue
            count(
                (*loc, "response_scale", "labels"),
                len(dim_translation.response_scale.labels),
                len(dim.response_scale.labels),
                "label",
                f"dimensions[{position}].response_scale.labels",
            )
        for question_id, question_translation in translation.context.items():
            loc = (*here, "context", question_id)
            if question_id not in questions:
                problems.append(_problem(loc, f"{question_id!r} is not a context question id"))
                continue
            position, question = questions[question_id]
            if question_translation.options is not None:
                count(
                    (*loc, "options"),
                    len(question_translation.options),
                    len(question.options),
                    "option",
                    f"context[{position}].options",
                )
    return problems


def _scale(model: ScaleFile | None) -> ResponseScale | None:
    return None if model is None else ResponseScale(model.min, model.max, model.labels)


def _build(model: InstrumentFile, data: Mapping[str, Any]) -> Instrument:
    """The :class:`Instrument` of a validated file."""
    dimensions = tuple(
        Dimension(
            dim.id,
            dim.name,
            dim.description,
            tuple(Item(item.id, item.text, item.reverse) for item in dim.items),
            kind=dim.kind,
            response_scale=_scale(dim.response_scale),
        )
        for dim in model.dimensions
    )
    context = tuple(ContextQuestion(q.id, q.text, q.options) for q in model.context)
    translations = {
        language: _translation(language, translation)
        for language, translation in model.translations.items()
    }
    scale = _scale(model.response_scale)
    assert scale is not None
    return Instrument(
        id=model.id,
        version=model.version,
        title=model.title,
        response_scale=scale,
        dimensions=dimensions,
        context=context,
        description=model.description,
        definition=_freeze(data),
        language=model.language,
        translations=MappingProxyType(translations),
    )


def _translation(language: str, model: TranslationFile) -> Translation:
    def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
        return MappingProxyType({key: value for key, value in mapping.items() if value is not None})

    dims = model.dimensions
    return Translation(
        language=language,
        title=model.title,
        description=model.description,
        labels=model.response_scale.labels if model.response_scale is not None else None,
        dimension_names=frozen({key: dim.name for key, dim in dims.items()}),
        dimension_descriptions=frozen({key: dim.description for key, dim in dims.items()}),
        dimension_labels=frozen(
            {
                key: dim.response_scale.labels if dim.response_scale is not None else None
                for key, dim in dims.items()
            }
        ),
        items=MappingProxyType(dict(model.items)),
        context_texts=frozen({key: q.text for key, q in model.context.items()}),
        context_options=frozen({key: q.options for key, q in model.context.items()}),
    )


# --------------------------------------------------------------------------- shipped translations


@lru_cache(maxsize=1)
def _shipped() -> dict[tuple[str, int], Instrument]:
    return {
        (instrument.id, instrument.version): instrument
        for instrument in map(load_instrument, default_instrument_paths())
    }


def with_shipped_translations(instrument: Instrument) -> Instrument:
    """A stored copy of a shipped version, with the translations of the shipped file.

    A version stored before its shipped file gained a language has the same
    content hash (translations are outside it) but lacks the language. Given
    such a stored instrument, this returns it with the translations of both:
    those stored and those of the shipped file, the shipped one winning for a
    language both have. Any other instrument is returned unchanged.

    Examples
    --------
    >>> shipped = load_default_instrument()
    >>> stored = parse_instrument({k: v for k, v in shipped.definition.items()
    ...                            if k != "translations"}, source="stored")
    >>> stored.languages, stored.content_hash == shipped.content_hash
    (('en',), True)
    >>> with_shipped_translations(stored).languages
    ('en', 'fr')
    """
    original = instrument.original
    shipped = _shipped().get((original.id, original.version))
    if shipped is None or shipped.content_hash != original.content_hash:
        return instrument
    if shipped.translations_hash == original.translations_hash:
        return instrument
    merged = dict(original.definition)
    merged["translations"] = {
        **dict(original.definition.get("translations", {})),
        **dict(shipped.definition.get("translations", {})),
    }
    combined = parse_instrument(merged, source=f"{original.id} v{original.version}")
    if instrument.source is not None:
        return combined.localized(instrument.language, fallback=True)
    return combined


def _freeze(value: Any) -> Any:
    """A read-only deep copy: mappings become ``MappingProxyType``, sequences tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(child) for key, child in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(child) for child in value)
    return value
