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
    translations: {...}               # optional, stored but not interpreted (see below)

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
* ``translations`` is an optional mapping of JSON-like data (text keys; text,
  numbers, booleans, null, lists, mappings). It is kept in
  :attr:`~analytics.instrument.Instrument.definition`, so it counts towards the
  content hash, but nothing reads it yet; its inner layout is not part of the
  format yet.

Files using only the fields above will keep loading in later versions.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from analytics.instrument import (
    ContextQuestion,
    Dimension,
    Instrument,
    Item,
    ResponseScale,
)

__all__ = [
    "DEFAULT_INSTRUMENT_FILE",
    "RESERVED_IDS",
    "InstrumentError",
    "InstrumentProblem",
    "default_instrument_paths",
    "load_default_instrument",
    "load_instrument",
    "parse_instrument",
    "parse_instrument_yaml",
]

DEFAULT_INSTRUMENT_FILE = "negotiation-blockers-v1.yaml"
"""File name of the shipped default instrument in :mod:`analytics.instruments`."""

RESERVED_IDS = frozenset({"team", "respondent"})
"""Column names of response data that no item, dimension or context id may take."""

DIMENSION_KINDS = ("blocker", "practice")

_PACKAGE = "analytics.instruments"
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_TOP_KEYS = (
    {"id", "version", "title", "response_scale", "dimensions"},
    {"description", "context", "translations"},
)
_SCALE_KEYS = ({"min", "max", "labels"}, set())
_DIMENSION_KEYS = ({"id", "name", "description", "items"}, {"kind", "response_scale"})
_ITEM_KEYS = ({"id", "text"}, {"reverse"})
_CONTEXT_KEYS = ({"id", "text", "options"}, set())
# Bounds for the free-form ``translations`` data, which YAML aliases could
# otherwise blow up exponentially (or make cyclic) before it is hashed.
_MAX_FREE_DEPTH = 32
_MAX_FREE_NODES = 50_000


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
    >>> instrument = load_instrument(default_instrument_paths()[0])
    >>> instrument.id
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

    Every problem found is collected before raising, so one run lists them all.

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
    return _Checker(source).instrument(data)


class _Checker:
    """Walks one instrument mapping, collecting problems instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[InstrumentProblem] = []
        self.ids: dict[str, tuple[str, str]] = {}  # casefolded id -> (id, field)

    def report(self, field: str, message: str) -> None:
        self.problems.append(InstrumentProblem(self.source, field, message))

    # ---- the structure

    def instrument(self, data: Any) -> Instrument:
        if not isinstance(data, Mapping):
            found = "an empty file" if data is None else _describe(data)
            self.report("", f"the top level must be a mapping of instrument fields, got {found}")
            raise InstrumentError(self.problems)
        self.keys(data, "", *_TOP_KEYS)
        instrument_id = self.identifier(data.get("id", _MISSING), "id")
        version = self.positive_int(data.get("version", _MISSING), "version")
        title = self.text(data.get("title", _MISSING), "title")
        description = self.text(data.get("description", ""), "description", allow_empty=True)
        scale = self.scale(data.get("response_scale", _MISSING), "response_scale")
        dimensions = self.dimensions(data.get("dimensions", _MISSING), "dimensions")
        context = self.context(data.get("context", ()), "context")
        self.translations(data.get("translations", _MISSING), "translations")
        if self.problems:
            raise InstrumentError(self.problems)
        return Instrument(
            id=instrument_id,
            version=version,
            title=title,
            response_scale=scale,
            dimensions=dimensions,
            context=context,
            description=description,
            definition=_freeze(data),
        )

    def scale(self, data: Any, field: str) -> ResponseScale | None:
        if data is _MISSING or not self.mapping(data, field):
            return None
        self.keys(data, field, *_SCALE_KEYS)
        low = self.integer(data.get("min", _MISSING), f"{field}.min")
        high = self.integer(data.get("max", _MISSING), f"{field}.max")
        labels = self.texts(data.get("labels", _MISSING), f"{field}.labels", "label")
        if low is None or high is None:
            return None
        if low >= high:
            self.report(field, f"min must be less than max, got min {low} and max {high}")
            return None
        if labels is None:
            return None
        if len(labels) != high - low + 1:
            self.report(
                f"{field}.labels",
                f"needs one label per point from {low} to {high} ({high - low + 1}),"
                f" got {len(labels)}",
            )
            return None
        return ResponseScale(min=low, max=high, labels=labels)

    def dimensions(self, data: Any, field: str) -> tuple[Dimension, ...]:
        entries = self.sequence(data, field, minimum=1, what="dimension")
        dimensions = tuple(self.dimension(entry, f"{field}[{i}]") for i, entry in entries)
        if any(dim is None for dim in dimensions):
            return ()
        kinds = [dim.kind for dim in dimensions]
        if any(kinds) and not all(kinds):
            for i, dim in enumerate(dimensions):
                if dim.kind is None:
                    self.report(f"{field}[{i}].kind", "required because other dimensions have one")
        elif any(kinds) and "blocker" not in kinds:
            self.report(field, "at least one dimension must have kind 'blocker'")
        return dimensions

    def dimension(self, data: Any, field: str) -> Dimension | None:
        if not self.mapping(data, field):
            return None
        self.keys(data, field, *_DIMENSION_KEYS)
        dim_id = self.claim_id(data.get("id", _MISSING), f"{field}.id")
        name = self.text(data.get("name", _MISSING), f"{field}.name")
        description = self.text(data.get("description", _MISSING), f"{field}.description")
        kind = None
        if "kind" in data:
            kind = data["kind"]
            if not isinstance(kind, str) or kind not in DIMENSION_KINDS:
                self.report(
                    f"{field}.kind",
                    f"must be one of {', '.join(DIMENSION_KINDS)}, got {_describe(kind)}",
                )
                kind = None
        scale = self.scale(data.get("response_scale", _MISSING), f"{field}.response_scale")
        entries = self.sequence(data.get("items", _MISSING), f"{field}.items", 2, "item")
        items = tuple(self.item(entry, f"{field}.items[{i}]") for i, entry in entries)
        if None in (dim_id, name, description) or None in items or not items:
            return None
        if "response_scale" in data and scale is None:
            return None
        return Dimension(dim_id, name, description, items, kind=kind, response_scale=scale)

    def item(self, data: Any, field: str) -> Item | None:
        if not self.mapping(data, field):
            return None
        self.keys(data, field, *_ITEM_KEYS)
        item_id = self.claim_id(data.get("id", _MISSING), f"{field}.id")
        text = self.text(data.get("text", _MISSING), f"{field}.text")
        reverse = data.get("reverse", False)
        if not isinstance(reverse, bool):
            self.report(f"{field}.reverse", f"must be true or false, got {_describe(reverse)}")
            return None
        if item_id is None or text is None:
            return None
        return Item(item_id, text, reverse)

    def context(self, data: Any, field: str) -> tuple[ContextQuestion, ...]:
        entries = self.sequence(data, field, minimum=0, what="question")
        questions = [self.question(entry, f"{field}[{i}]") for i, entry in entries]
        return tuple(q for q in questions if q is not None)

    def question(self, data: Any, field: str) -> ContextQuestion | None:
        if not self.mapping(data, field):
            return None
        self.keys(data, field, *_CONTEXT_KEYS)
        question_id = self.claim_id(data.get("id", _MISSING), f"{field}.id")
        text = self.text(data.get("text", _MISSING), f"{field}.text")
        options = self.texts(data.get("options", _MISSING), f"{field}.options", "option")
        if options is not None and len(options) < 2:
            self.report(f"{field}.options", f"needs at least 2 options, got {len(options)}")
            return None
        if question_id is None or text is None or options is None:
            return None
        return ContextQuestion(question_id, text, options)

    def translations(self, data: Any, field: str) -> None:
        if self.mapping(data, field):
            problem = _json_problem(data)
            if problem is not None:
                where, message = problem
                self.report(field + where, message)

    # ---- single values

    def keys(
        self, data: Mapping[Any, Any], field: str, required: set[str], optional: set[str]
    ) -> None:
        allowed = required | optional
        for key in data:
            if key not in allowed:
                self.report(
                    _join(field, key),
                    f"unknown key (allowed here: {', '.join(sorted(allowed))})",
                )
        for key in sorted(required):
            if key not in data:
                self.report(_join(field, key), "required field is missing")

    def mapping(self, data: Any, field: str) -> bool:
        if data is _MISSING:
            return False
        if not isinstance(data, Mapping):
            self.report(field, f"must be a mapping, got {_describe(data)}")
            return False
        return True

    def sequence(self, data: Any, field: str, minimum: int, what: str) -> Iterator[tuple[int, Any]]:
        if data is _MISSING:
            return iter(())
        if not isinstance(data, list | tuple):
            self.report(field, f"must be a list, got {_describe(data)}")
            return iter(())
        if len(data) < minimum:
            plural = what if minimum == 1 else f"{what}s"
            self.report(field, f"needs at least {minimum} {plural}, got {len(data)}")
        return iter(enumerate(data))

    def text(self, data: Any, field: str, allow_empty: bool = False) -> str | None:
        if data is _MISSING:
            return None
        if not isinstance(data, str):
            self.report(field, f"must be text, got {_describe(data)}")
            return None
        if not data.strip() and not allow_empty:
            self.report(field, "must not be empty")
            return None
        return data.strip()

    def texts(self, data: Any, field: str, what: str) -> tuple[str, ...] | None:
        """A list of distinct non-empty texts (labels, options)."""
        if data is _MISSING:
            return None
        if not isinstance(data, list | tuple):
            self.report(field, f"must be a list of {what}s, got {_describe(data)}")
            return None
        values = [self.text(value, f"{field}[{i}]") for i, value in enumerate(data)]
        if None in values:
            return None
        seen: set[str] = set()
        for i, value in enumerate(values):
            if value.casefold() in seen:
                self.report(f"{field}[{i}]", f"duplicate {what} {value!r}")
                return None
            seen.add(value.casefold())
        return tuple(values)

    def integer(self, data: Any, field: str) -> int | None:
        if data is _MISSING:
            return None
        if isinstance(data, bool) or not isinstance(data, int):
            self.report(field, f"must be a whole number, got {_describe(data)}")
            return None
        return data

    def positive_int(self, data: Any, field: str) -> int | None:
        if data is _MISSING:
            return None
        if isinstance(data, bool) or not isinstance(data, int) or data < 1:
            self.report(field, f"must be a positive integer, got {_describe(data)}")
            return None
        return data

    def identifier(self, data: Any, field: str) -> str | None:
        if data is _MISSING:
            return None
        if not isinstance(data, str) or not _IDENTIFIER.fullmatch(data):
            self.report(
                field,
                "must be an identifier (ASCII letters, digits, '_' or '-', starting with a"
                f" letter), got {_describe(data)}",
            )
            return None
        return data

    def claim_id(self, data: Any, field: str) -> str | None:
        """An item, dimension or context id, unique in the instrument's shared namespace."""
        value = self.identifier(data, field)
        if value is None:
            return None
        folded = value.casefold()
        if folded in RESERVED_IDS:
            self.report(field, f"{value!r} is reserved (it names a column of response data)")
            return None
        if folded in self.ids:
            first, where = self.ids[folded]
            same = "" if first == value else f" as {first!r} (ids are compared ignoring case)"
            self.report(field, f"duplicate id {value!r}: already used by {where}{same}")
            return None
        self.ids[folded] = (value, field.removesuffix(".id"))
        return value


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _join(field: str, key: Any) -> str:
    name = key if isinstance(key, str) else repr(key)
    return f"{field}.{name}" if field else name


def _describe(value: Any) -> str:
    """A short description of a wrong value for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int | float):
        text = repr(value)
        return text if len(text) <= 40 else f"a {len(text)}-digit number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a value of type {type(value).__name__}"


def _json_problem(data: Any) -> tuple[str, str] | None:
    """``(field suffix, message)`` for the first part of ``data`` that is not JSON-like."""
    budget = [_MAX_FREE_NODES]

    def check(
        value: Any, where: str, depth: int, parents: tuple[int, ...]
    ) -> tuple[str, str] | None:
        budget[0] -= 1
        if budget[0] < 0:
            return "", f"is too large (more than {_MAX_FREE_NODES} values)"
        if depth > _MAX_FREE_DEPTH:
            return where, f"is nested more than {_MAX_FREE_DEPTH} levels deep"
        if isinstance(value, str | bool | int) or value is None:
            return None
        if isinstance(value, float):
            return None if math.isfinite(value) else (where, f"must be finite, got {value}")
        if not isinstance(value, Mapping | list | tuple):
            allowed = "text, numbers, true/false, null, lists and mappings"
            return where, f"must hold only {allowed}, got {_describe(value)}"
        if id(value) in parents:
            return where, "refers to itself"
        parents = (*parents, id(value))
        if isinstance(value, Mapping):
            children = []
            for key, child in value.items():
                if not isinstance(key, str):
                    return where, f"keys must be text, got {_describe(key)}"
                step = f".{key}" if _IDENTIFIER.fullmatch(key) else f"[{key!r}]"
                children.append((where + step, child))
        else:
            children = [(f"{where}[{i}]", child) for i, child in enumerate(value)]
        for child_where, child in children:
            problem = check(child, child_where, depth + 1, parents)
            if problem is not None:
                return problem
        return None

    return check(data, "", 0, ())


def _freeze(value: Any) -> Any:
    """A read-only deep copy: mappings become ``MappingProxyType``, sequences tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(child) for key, child in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(child) for child in value)
    return value
