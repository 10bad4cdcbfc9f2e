"""Storing and loading instrument versions."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import select

from analytics.instrument import Instrument, _plain
from analytics.instrument_parser import parse_instrument
from survey.extensions import db
from survey.models import InstrumentVersion


class InstrumentConflict(ValueError):
    """The same id and version is already stored with different content."""


def store_instrument(instrument: Instrument) -> tuple[InstrumentVersion, bool]:
    """Store an instrument version; return the row and whether it was new.

    Storing the identical content again is a no-op; the same id and version
    with different content is refused, since answers refer to it.
    """
    existing = db.session.scalar(
        select(InstrumentVersion).filter_by(key=instrument.id, version=instrument.version)
    )
    if existing is not None:
        if existing.content_hash != instrument.content_hash:
            raise InstrumentConflict(
                f"instrument {instrument.id} version {instrument.version} is already stored"
                " with different content; give the changed file a new version number"
            )
        return existing, False
    row = InstrumentVersion(
        key=instrument.id,
        version=instrument.version,
        title=instrument.title,
        content_hash=instrument.content_hash,
        definition=_plain(instrument.definition),
    )
    db.session.add(row)
    db.session.flush()
    return row, True


def instrument_of(row: InstrumentVersion) -> Instrument:
    """The parsed instrument of a stored version (parsed once per content hash)."""
    return _parse_cached(row.content_hash, row.key, row.version, _Frozen(row.definition))


def find_instrument(key: str, version: int | None = None) -> InstrumentVersion | None:
    """A stored version, the newest when ``version`` is None."""
    query = select(InstrumentVersion).filter_by(key=key)
    if version is not None:
        query = query.filter_by(version=version)
    return db.session.scalar(query.order_by(InstrumentVersion.version.desc()).limit(1))


def list_instruments() -> list[InstrumentVersion]:
    """Every stored version, by id then version."""
    query = select(InstrumentVersion).order_by(InstrumentVersion.key, InstrumentVersion.version)
    return list(db.session.scalars(query))


class _Frozen:
    """Carries a definition through lru_cache without hashing it (the hash key does)."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.definition = definition

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Frozen)


@lru_cache(maxsize=64)
def _parse_cached(content_hash: str, key: str, version: int, frozen: _Frozen) -> Instrument:
    return parse_instrument(frozen.definition, source=f"stored instrument {key} v{version}")
