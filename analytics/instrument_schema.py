"""The instrument file format as pydantic models, with the format's own error messages.

:mod:`analytics.instrument_parser` documents the format and turns a validated
:class:`InstrumentFile` into an :class:`analytics.instrument.Instrument`. This
module holds the structure: which keys exist at each level, their types, and the
rules one value or one mapping can check on its own. Rules that relate distant
parts of a file (ids unique across the file, kinds declared by all dimensions
or none, translations naming existing ids) are checked by the parser, which
needs the whole file.

Every leaf is read by a validator that raises
:class:`~pydantic_core.PydanticCustomError` with the message a file author
sees ("must be text, got 3"); :func:`problems_of` turns a
:class:`~pydantic.ValidationError` into ``(location, message)`` pairs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "DIMENSION_KINDS",
    "IDENTIFIER",
    "MINIMUM_ENTRIES",
    "RESERVED_IDS",
    "ContextFile",
    "DimensionFile",
    "InstrumentFile",
    "ItemFile",
    "Location",
    "ScaleFile",
    "TranslationFile",
    "describe",
    "field_name",
    "problems_of",
]

RESERVED_IDS = frozenset({"team", "respondent"})
"""Column names of response data that no item, dimension or context id may take."""

DIMENSION_KINDS = ("blocker", "practice")

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# BCP 47 subset: language, optional script, optional region ("fr", "zh-Hant", "pt-BR").
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?")

Location = tuple[str | int, ...]


# --------------------------------------------------------------------------- messages


def describe(value: Any) -> str:
    """A short description of a wrong value for error messages.

    Examples
    --------
    >>> describe(None), describe(True), describe("x" * 50), describe([1])
    ('nothing (null)', 'true', "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'", 'a list')
    """
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


def _fail(kind: str, message: str, at: int | None = None) -> PydanticCustomError:
    """An error with a literal message; ``at`` adds a list position to its location."""
    # The message goes in as a value, so braces in it are never read as placeholders.
    context: dict[str, Any] = {"message": message}
    if at is not None:
        context["at"] = at
    return PydanticCustomError(kind, "{message}", context)


# --------------------------------------------------------------------------- leaves


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _fail("text", f"must be text, got {describe(value)}")
    if not value.strip():
        raise _fail("text", "must not be empty")
    return value.strip()


def _optional_text(value: Any) -> str:
    if not isinstance(value, str):
        raise _fail("text", f"must be text, got {describe(value)}")
    return value.strip()


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("integer", f"must be a whole number, got {describe(value)}")
    return value


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail("positive_int", f"must be a positive integer, got {describe(value)}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail("boolean", f"must be true or false, got {describe(value)}")
    return value


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise _fail(
            "identifier",
            "must be an identifier (ASCII letters, digits, '_' or '-', starting with a"
            f" letter), got {describe(value)}",
        )
    return value


def _column_id(value: Any) -> str:
    """An item, dimension or context id: an identifier that is not a reserved column name."""
    value = _identifier(value)
    if value.casefold() in RESERVED_IDS:
        raise _fail("reserved", f"{value!r} is reserved (it names a column of response data)")
    return value


def _kind(value: Any) -> str:
    if not isinstance(value, str) or value not in DIMENSION_KINDS:
        raise _fail("kind", f"must be one of {', '.join(DIMENSION_KINDS)}, got {describe(value)}")
    return value


@lru_cache(maxsize=256)
def _known_locale(code: str) -> bool:
    from babel import Locale, UnknownLocaleError  # Babel comes with Flask-Babel

    try:
        Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError):
        return False
    return True


def _language(value: Any) -> str:
    if not isinstance(value, str) or not _LANGUAGE_CODE.fullmatch(value):
        raise _fail(
            "language",
            "must be a language code such as fr, pt-BR or zh-Hant (ISO 639 language in"
            f" lower case, optional script and region), got {describe(value)}",
        )
    if not _known_locale(value):
        raise _fail("language", f"unknown language code {value!r} (not a known locale)")
    return value


def _mapping(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise _fail("mapping", f"must be a mapping, got {describe(value)}")
    return value


def _distinct(what: str) -> Callable[[Any, Any], tuple[str, ...]]:
    """A list of distinct non-empty texts (labels, options); duplicates ignore case."""

    def validate(value: Any, handler: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise _fail("list", f"must be a list of {what}s, got {describe(value)}")
        values: tuple[str, ...] = handler(value)
        seen: set[str] = set()
        for i, text in enumerate(values):
            if text.casefold() in seen:
                raise _fail("duplicate", f"duplicate {what} {text!r}", at=i)
            seen.add(text.casefold())
        return values

    return validate


def _sequence(value: Any, handler: Any) -> tuple[Any, ...]:
    """A list whose entries are validated one by one.

    How many entries a list needs is checked by the parser on the raw data, so
    a list that is both too short and has a bad entry gets both problems.
    """
    if not isinstance(value, list | tuple):
        raise _fail("list", f"must be a list, got {describe(value)}")
    entries: tuple[Any, ...] = handler(value)
    return entries


#: Fewest entries of a list of the format (checked by the parser).
MINIMUM_ENTRIES = {"dimensions": (1, "dimension"), "items": (2, "item")}


Text = Annotated[str, PlainValidator(_text)]
OptionalText = Annotated[str, PlainValidator(_optional_text)]
Integer = Annotated[int, PlainValidator(_integer)]
PositiveInt = Annotated[int, PlainValidator(_positive_int)]
Boolean = Annotated[bool, PlainValidator(_boolean)]
Identifier = Annotated[str, PlainValidator(_identifier)]
ColumnId = Annotated[str, PlainValidator(_column_id)]
Kind = Annotated[Literal["blocker", "practice"], PlainValidator(_kind)]
Language = Annotated[str, PlainValidator(_language)]
Labels = Annotated[tuple[Text, ...], WrapValidator(_distinct("label"))]
Options = Annotated[tuple[Text, ...], WrapValidator(_distinct("option"))]


# A text that may be left out, but not given as null.
MaybeText = Annotated[str | None, PlainValidator(_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_null(check: Callable[[Any], Any]) -> Any:
    """For an optional field: absent is fine, an explicit null gets ``check``'s message."""

    def validate(value: Any) -> Any:
        if value is None:
            check(value)
        return value

    return BeforeValidator(validate)


def _options_check(value: Any) -> Any:
    return _distinct("option")(value, None)


def _nested(model: type[BaseModel]) -> Any:
    """A nested model field: anything but a mapping is refused with the format's message."""
    return Annotated[model, BeforeValidator(_mapping)]


# --------------------------------------------------------------------------- the format


class ScaleFile(_Model):
    """``response_scale``: integer ``min < max`` and one distinct label per point."""

    min: Integer
    max: Integer
    labels: Labels

    @field_validator("labels")
    @classmethod
    def _one_label_per_point(cls, labels: tuple[str, ...], info: ValidationInfo) -> Any:
        low, high = info.data.get("min"), info.data.get("max")
        if low is None or high is None or low >= high:
            return labels
        if len(labels) != high - low + 1:
            raise _fail(
                "label_count",
                f"needs one label per point from {low} to {high} ({high - low + 1}),"
                f" got {len(labels)}",
            )
        return labels

    @model_validator(mode="after")
    def _ordered(self) -> ScaleFile:
        if self.min >= self.max:
            raise _fail(
                "scale", f"min must be less than max, got min {self.min} and max {self.max}"
            )
        return self


class ItemFile(_Model):
    """One rated statement."""

    id: ColumnId
    text: Text
    reverse: Boolean = False


class DimensionFile(_Model):
    """A dimension with at least two items and optionally its own scale and a kind."""

    id: ColumnId
    name: Text
    description: Text
    kind: Annotated[Kind | None, _not_null(_kind)] = None
    response_scale: Annotated[_nested(ScaleFile) | None, _not_null(_mapping)] = None  # type: ignore[valid-type]
    items: Annotated[tuple[_nested(ItemFile), ...], WrapValidator(_sequence)]  # type: ignore[valid-type]


class ContextFile(_Model):
    """A non-identifying multiple-choice question."""

    id: ColumnId
    text: Text
    options: Options

    @field_validator("options")
    @classmethod
    def _two_or_more(cls, options: tuple[str, ...]) -> tuple[str, ...]:
        if len(options) < 2:
            raise _fail("too_few", f"needs at least 2 options, got {len(options)}")
        return options


class ScaleTranslation(_Model):
    """A scale's labels in another language, in scale order."""

    labels: Labels


class DimensionTranslation(_Model):
    """A dimension's name, description and (when it has its own scale) labels."""

    name: MaybeText = None
    description: MaybeText = None
    response_scale: Annotated[_nested(ScaleTranslation) | None, _not_null(_mapping)] = None  # type: ignore[valid-type]


class ContextTranslation(_Model):
    """A context question's text and its options, in the file's option order."""

    text: MaybeText = None
    options: Annotated[Options | None, _not_null(_options_check)] = None


def _id_map(model: Any) -> Any:
    return Annotated[dict[Identifier, model], BeforeValidator(_mapping)]


class TranslationFile(_Model):
    """The texts of the instrument in one more language (each part optional)."""

    title: MaybeText = None
    description: MaybeText = None
    response_scale: Annotated[_nested(ScaleTranslation) | None, _not_null(_mapping)] = None  # type: ignore[valid-type]
    items: _id_map(Text) = {}  # type: ignore[valid-type]
    dimensions: _id_map(_nested(DimensionTranslation)) = {}  # type: ignore[valid-type]
    context: _id_map(_nested(ContextTranslation)) = {}  # type: ignore[valid-type]


class InstrumentFile(_Model):
    """A whole instrument file."""

    id: Identifier
    version: PositiveInt
    title: Text
    description: OptionalText = ""
    language: Language = "en"
    response_scale: _nested(ScaleFile)  # type: ignore[valid-type]
    dimensions: Annotated[
        tuple[_nested(DimensionFile), ...],  # type: ignore[valid-type]
        WrapValidator(_sequence),
    ]
    context: Annotated[
        tuple[_nested(ContextFile), ...],  # type: ignore[valid-type]
        WrapValidator(_sequence),
    ] = ()
    translations: Annotated[
        dict[Language, _nested(TranslationFile)],  # type: ignore[valid-type]
        BeforeValidator(_mapping),
    ] = {}


# --------------------------------------------------------------------------- errors

# The order fields are checked and reported in, whatever model they belong to.
_FIELD_ORDER = {
    name: i
    for i, name in enumerate(
        [
            "id",
            "version",
            "title",
            "name",
            "description",
            "language",
            "kind",
            "min",
            "max",
            "labels",
            "response_scale",
            "items",
            "text",
            "reverse",
            "options",
            "dimensions",
            "context",
            "translations",
        ]
    )
}
_KEY_MARK = "[key]"
SortKey = tuple[tuple[int, int, str], ...]


def field_name(loc: Location) -> str:
    """A location as the format names fields: ``dimensions[2].items[0].reverse``.

    Examples
    --------
    >>> field_name(("dimensions", 2, "items", 0, "reverse"))
    'dimensions[2].items[0].reverse'
    >>> field_name(("translations", "fr", "items", "TR1"))
    'translations.fr.items.TR1'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            if IDENTIFIER.fullmatch(part) or part.isdigit():
                out += f".{part}" if out else part
            else:
                out += f"[{part!r}]"
    return out


def sort_key(loc: Location, kind: str = "value") -> SortKey:
    """Report order: at each level unknown keys, then missing ones (by name), then fields."""
    key: list[tuple[int, int, str]] = []
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if last and kind == "unknown":
            key.append((0, 0, ""))
        elif last and kind == "missing":
            key.append((1, 0, str(part)))
        elif isinstance(part, int):
            key.append((2, part, ""))
        else:
            key.append((2, _FIELD_ORDER.get(part, len(_FIELD_ORDER)), ""))
    return tuple(key)


def _model_at(loc: Location) -> type[BaseModel] | None:
    """The model whose mapping sits at ``loc`` (to list the keys it allows)."""
    current: Any = InstrumentFile
    for part in loc:
        inner = _strip(current)
        origin = get_origin(inner)
        if origin in (tuple, dict):  # ``part`` is a position or a key
            current = get_args(inner)[-1 if origin is dict else 0]
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            info = inner.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
        else:
            return None
    inner = _strip(current)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _strip(annotation: Any) -> Any:
    """The annotation without Annotated wrappers and ``| None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or str(origin) == "<class 'types.UnionType'>":
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _unknown_key(loc: Location) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown key"
    allowed = ", ".join(sorted(model.model_fields))
    return f"unknown key (allowed here: {allowed})"


def problems_of(error: ValidationError) -> list[tuple[SortKey, Location, str]]:
    """``(sort key, location, message)`` of every error; sort by the key to report them."""
    found: list[tuple[SortKey, Location, str]] = []
    for entry in error.errors(include_url=False, include_input=False):
        kind = entry["type"]
        loc: Location = tuple(entry["loc"])
        if kind in ("invalid_key", "extra_forbidden"):  # invalid_key: not text, e.g. ``7: 1``
            kind = "unknown"
            loc = (*loc[:-1], str(loc[-1]))
            message = _unknown_key(loc)
        elif _KEY_MARK in loc:  # a bad key of an id or language mapping
            loc = tuple(part for part in loc if part != _KEY_MARK)
            message = entry["msg"]
        elif kind == "missing":
            message = "required field is missing"
        else:
            message = entry["msg"]
        at = (entry.get("ctx") or {}).get("at")
        if isinstance(at, int):
            loc = (*loc, at)
        found.append((sort_key(loc, kind), loc, message))
    return found
