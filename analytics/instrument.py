"""Instruments as immutable objects.

An instrument is a questionnaire definition: response scale, dimensions with
their items, and optional non-identifying context questions. It is written as a
YAML file (see :mod:`analytics.instrument_parser` for the public file format)
and loaded into the frozen dataclasses below, which both the web app (to render
the questionnaire) and the analytics (to score it) use.

Languages
---------
An instrument's texts are written in one language (:attr:`Instrument.language`,
``en`` unless the file says otherwise) and may carry translations into others
(:class:`Translation`). :attr:`Instrument.languages` lists the languages a
respondent can be offered: the file's own and every *complete* translation.
:meth:`Instrument.localized` gives the same instrument with its texts in another
language; :meth:`Instrument.untranslated` lists what a partial translation lacks.

Content hash
------------
:attr:`Instrument.content_hash` identifies what is measured and how it is scored:
every field of the file except ``translations`` (ids, texts in the file's own
language, scales, reverse keys, kinds, context questions). Stored versions,
answers and respondent sessions refer to it. Translations are outside it, so
adding a language to a stored version, or correcting a translation, keeps the
version's hash, answers and comparisons; :attr:`Instrument.translations_hash`
identifies the set of translations. A localized instrument has the same
``definition`` and therefore the same ``content_hash`` as its source: caches of
rendered texts must be keyed by hash *and* language.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

DimensionKind = Literal["blocker", "practice"]


@dataclass(frozen=True)
class ResponseScale:
    """An integer rating scale from ``min`` to ``max`` with one label per point."""

    min: int
    max: int
    labels: tuple[str, ...]

    @property
    def points(self) -> tuple[int, ...]:
        """Every allowed value, from ``min`` to ``max``."""
        return tuple(range(self.min, self.max + 1))

    def label(self, value: int) -> str:
        """The label of one scale point."""
        return self.labels[value - self.min]

    def reverse(self, value: float) -> float:
        """Reverse-key a value: ``min + max - value``."""
        return self.min + self.max - value


@dataclass(frozen=True)
class Item:
    """One rated statement."""

    id: str
    text: str
    reverse: bool = False


@dataclass(frozen=True)
class Dimension:
    """A scale: items that measure one behaviour pattern."""

    id: str
    name: str
    description: str
    items: tuple[Item, ...]
    kind: DimensionKind | None = None
    response_scale: ResponseScale | None = None

    @property
    def item_ids(self) -> tuple[str, ...]:
        """The ids of this dimension's items, in questionnaire order."""
        return tuple(item.id for item in self.items)


@dataclass(frozen=True)
class ContextQuestion:
    """A non-identifying multiple-choice question (role family, tenure band)."""

    id: str
    text: str
    options: tuple[str, ...]


DEFAULT_LANGUAGE = "en"
"""The language of an instrument file that does not declare one."""


@dataclass(frozen=True)
class Translation:
    """An instrument's texts in one more language, keyed by the ids of the file.

    Every part is optional: a text missing here is *untranslated* (see
    :meth:`Instrument.untranslated`). Labels and options are complete lists in
    scale or option order. The parser checks that every id exists and every
    list has the length of the list it translates.
    """

    language: str
    title: str | None = None
    description: str | None = None
    labels: tuple[str, ...] | None = None
    dimension_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    dimension_descriptions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    dimension_labels: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    items: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    context_texts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    context_options: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )


class IncompleteTranslation(ValueError):
    """:meth:`Instrument.localized` was asked for a language with untranslated texts."""


@dataclass(frozen=True)
class Instrument:
    """A validated questionnaire definition; immutable and hashable by identity.

    ``definition`` keeps the parsed YAML mapping (read-only) so the exact file
    content can be stored and re-loaded later. ``language`` is the language of
    the texts of this object; ``translations`` holds the file's translations by
    language code (see the module docstring for languages and the content hash).
    """

    id: str
    version: int
    title: str
    response_scale: ResponseScale
    dimensions: tuple[Dimension, ...]
    context: tuple[ContextQuestion, ...] = ()
    description: str = ""
    definition: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )
    language: str = DEFAULT_LANGUAGE
    translations: Mapping[str, Translation] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    source: Instrument | None = field(default=None, compare=False, repr=False)
    """The instrument in its file's own language when this one is localized, else None."""

    def __hash__(self) -> int:
        return hash((self.id, self.version, self.content_hash))

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON form of the definition without ``translations``.

        For a file without translations this is the hash of the whole definition.
        """
        content = {k: v for k, v in self.definition.items() if k != TRANSLATIONS_KEY}
        return _sha256(content)

    @cached_property
    def translations_hash(self) -> str:
        """SHA-256 of the canonical JSON form of ``translations`` (of ``{}`` when none)."""
        return _sha256(self.definition.get(TRANSLATIONS_KEY, {}))

    # ---- languages

    @property
    def original(self) -> Instrument:
        """This instrument in its file's own language (itself unless localized)."""
        return self.source if self.source is not None else self

    @property
    def source_language(self) -> str:
        """The language the file's own texts are written in."""
        return self.original.language

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages a respondent can be offered: the file's own, then each complete one.

        Partial translations are left out (see :meth:`untranslated`).
        """
        original = self.original
        complete = (lang for lang in original.translations if not original.untranslated(lang))
        return (original.language, *complete)

    @property
    def declared_languages(self) -> tuple[str, ...]:
        """The file's own language and every translated one, complete or not."""
        original = self.original
        return (original.language, *original.translations)

    def untranslated(self, language: str) -> tuple[str, ...]:
        """Where the file lacks a text in ``language``, as fields of the file.

        Empty for the file's own language and for a complete translation, e.g.
        ``("translations.fr.items.TR3", "translations.fr.context.role.options")``.
        ``KeyError`` for a language the file does not declare.
        """
        original = self.original
        if language == original.language:
            return ()
        found = original.translations[language]
        where = f"translations.{language}"
        missing: list[str] = []
        if found.title is None:
            missing.append(f"{where}.title")
        if original.description and found.description is None:
            missing.append(f"{where}.description")
        if found.labels is None:
            missing.append(f"{where}.response_scale.labels")
        for dim in original.dimensions:
            dim_where = f"{where}.dimensions.{dim.id}"
            if dim.id not in found.dimension_names:
                missing.append(f"{dim_where}.name")
            if dim.id not in found.dimension_descriptions:
                missing.append(f"{dim_where}.description")
            if dim.response_scale is not None and dim.id not in found.dimension_labels:
                missing.append(f"{dim_where}.response_scale.labels")
        missing += [f"{where}.items.{i.id}" for i in original.items if i.id not in found.items]
        for question in original.context:
            if question.id not in found.context_texts:
                missing.append(f"{where}.context.{question.id}.text")
            if question.id not in found.context_options:
                missing.append(f"{where}.context.{question.id}.options")
        return tuple(missing)

    def localized(self, language: str, *, fallback: bool = False) -> Instrument:
        """The same instrument with its texts in ``language``.

        Ids, order, scale points, reverse keys, kinds, ``definition`` and so
        ``content_hash`` are those of this instrument: answers given to the
        localized instrument are answers to this version. Only titles,
        descriptions, names, item texts, labels and options change, and
        ``language`` says which language they are in. Asking for the file's own
        language gives the original.

        Parameters
        ----------
        language : str
            A code of :attr:`declared_languages` (``"fr"``).
        fallback : bool
            Use the file's own text where the translation lacks one. Without
            it, a partial translation raises :class:`IncompleteTranslation`.

        Raises
        ------
        KeyError
            When the file has no translation into ``language``.
        IncompleteTranslation
            When the translation is partial and ``fallback`` is false.
        """
        original = self.original
        if language == original.language:
            return original
        found = original.translations[language]
        missing = original.untranslated(language)
        if missing and not fallback:
            raise IncompleteTranslation(
                f"instrument {original.id} v{original.version} is not fully translated into"
                f" {language}: {len(missing)} texts missing, first {missing[0]}"
            )

        def scale(own: ResponseScale | None, labels: tuple[str, ...] | None):  # type: ignore[no-untyped-def]
            if own is None or labels is None:
                return own
            return ResponseScale(own.min, own.max, labels)

        dimensions = tuple(
            Dimension(
                dim.id,
                found.dimension_names.get(dim.id, dim.name),
                found.dimension_descriptions.get(dim.id, dim.description),
                tuple(
                    Item(item.id, found.items.get(item.id, item.text), item.reverse)
                    for item in dim.items
                ),
                kind=dim.kind,
                response_scale=scale(dim.response_scale, found.dimension_labels.get(dim.id)),
            )
            for dim in original.dimensions
        )
        context = tuple(
            ContextQuestion(
                q.id,
                found.context_texts.get(q.id, q.text),
                found.context_options.get(q.id, q.options),
            )
            for q in original.context
        )
        return Instrument(
            id=original.id,
            version=original.version,
            title=found.title if found.title is not None else original.title,
            response_scale=scale(original.response_scale, found.labels),
            dimensions=dimensions,
            context=context,
            description=(
                found.description if found.description is not None else original.description
            ),
            definition=original.definition,
            language=language,
            translations=original.translations,
            source=original,
        )

    def option_pairs(self, question_id: str) -> tuple[tuple[str, str], ...]:
        """``(stored value, shown text)`` of each option of a context question.

        Answers are stored as the option text of the file's own language, so
        every language's answers analyse together; a localized page shows the
        second element and stores the first. ``KeyError`` for an unknown id.
        """
        shown = next((q for q in self.context if q.id == question_id), None)
        if shown is None:
            raise KeyError(question_id)
        stored = next(q for q in self.original.context if q.id == question_id)
        return tuple(zip(stored.options, shown.options, strict=True))

    # ---- structure

    @property
    def items(self) -> tuple[Item, ...]:
        """Every item of every dimension, in questionnaire order."""
        return tuple(item for dim in self.dimensions for item in dim.items)

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Every item id, in questionnaire order."""
        return tuple(item.id for item in self.items)

    @property
    def context_ids(self) -> tuple[str, ...]:
        """Every context question id, in questionnaire order."""
        return tuple(q.id for q in self.context)

    def dimension(self, dimension_id: str) -> Dimension:
        """The dimension with this id (``KeyError`` when there is none)."""
        for dim in self.dimensions:
            if dim.id == dimension_id:
                return dim
        raise KeyError(dimension_id)

    def dimension_of(self, item_id: str) -> Dimension:
        """The dimension an item belongs to (``KeyError`` when unknown)."""
        for dim in self.dimensions:
            if item_id in dim.item_ids:
                return dim
        raise KeyError(item_id)

    def item(self, item_id: str) -> Item:
        """The item with this id (``KeyError`` when unknown)."""
        return self.dimension_of(item_id).items[self.dimension_of(item_id).item_ids.index(item_id)]

    def scale_for(self, item_id: str) -> ResponseScale:
        """The response scale an item is answered on (its dimension's, else the default)."""
        return self.dimension_of(item_id).response_scale or self.response_scale

    def dimensions_of_kind(self, kind: DimensionKind) -> tuple[Dimension, ...]:
        """Dimensions of one kind; every dimension when the instrument declares no kinds."""
        if all(dim.kind is None for dim in self.dimensions):
            return self.dimensions
        return tuple(dim for dim in self.dimensions if dim.kind == kind)

    @property
    def blocker_dimensions(self) -> tuple[Dimension, ...]:
        """The dimensions profiles and diagnoses are built on."""
        return self.dimensions_of_kind("blocker")

    @property
    def practice_dimensions(self) -> tuple[Dimension, ...]:
        """Dimensions of kind ``practice`` (empty when kinds are not declared)."""
        return tuple(dim for dim in self.dimensions if dim.kind == "practice")


TRANSLATIONS_KEY = "translations"


def _sha256(value: Any) -> str:
    canonical = json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """Turn read-only mappings and tuples back into JSON-serialisable containers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
