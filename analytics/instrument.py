"""Instruments as immutable objects.

An instrument is a questionnaire definition: response scale, dimensions with
their items, and optional non-identifying context questions. It is written as a
YAML file (see :mod:`analytics.instrument_parser` for the public file format)
and loaded into the frozen dataclasses below, which both the web app (to render
the questionnaire) and the analytics (to score it) use.
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


@dataclass(frozen=True)
class Instrument:
    """A validated questionnaire definition; immutable and hashable by identity.

    ``definition`` keeps the parsed YAML mapping (read-only) so the exact file
    content can be stored and re-loaded later.
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

    def __hash__(self) -> int:
        return hash((self.id, self.version, self.content_hash))

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON form of the definition."""
        canonical = json.dumps(_plain(self.definition), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

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


def _plain(value: Any) -> Any:
    """Turn read-only mappings and tuples back into JSON-serialisable containers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
