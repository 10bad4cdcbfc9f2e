"""Storing and loading instrument versions; an uploaded instrument file, checked and stored."""

from __future__ import annotations

import os
import unicodedata

from sqlalchemy import select

from analytics.instrument import Instrument, _plain
from analytics.instrument_parser import (
    InstrumentError,
    InstrumentProblem,
    parse_instrument,
    parse_instrument_yaml,
    with_shipped_translations,
)
from survey.extensions import db
from survey.models import InstrumentVersion, User
from survey.services import audit

MAX_UPLOAD_BYTES = 512_000

_PARSED_MAX = 64
_PARSED: dict[str, Instrument] = {}  # content hash -> parsed instrument


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
    """The parsed instrument of a stored version.

    Stored versions never change, so the parse is kept per content hash and the
    (deferred) definition column is read only on the first use in a process.
    A version stored before a shipped file gained a translation gets it
    (translations are outside the content hash; see ``with_shipped_translations``).
    """
    parsed = _PARSED.get(row.content_hash)
    if parsed is None:
        parsed = with_shipped_translations(
            parse_instrument(row.definition, source=f"stored instrument {row.label}")
        )
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[row.content_hash] = parsed
    return parsed


def instrument_by_hash(instrument_id: int, content_hash: str) -> Instrument:
    """The parsed instrument of version ``instrument_id``, whose hash the caller has read.

    Reads the stored definition only when this process has not parsed it yet.
    """
    parsed = _PARSED.get(content_hash)
    if parsed is not None:
        return parsed
    row = db.session.get(InstrumentVersion, instrument_id)
    if row is None or row.content_hash != content_hash:
        raise LookupError(f"no stored instrument version {instrument_id} with that content hash")
    return instrument_of(row)


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


def upload_name(filename: str | None) -> str:
    """The uploaded file's base name as shown in messages (printable, at most 80 characters)."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return (name or "uploaded file")[:80]


def check_upload(data: bytes, filename: str) -> Instrument:
    """The instrument in an uploaded YAML file; :class:`InstrumentError` lists every problem."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InstrumentError(
            [
                InstrumentProblem(
                    filename,
                    "",
                    f"the file is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes",
                )
            ]
        )
    return parse_instrument_yaml(data, source=filename)


def store_upload(
    instrument: Instrument, *, actor: User | None, organization_id: int
) -> tuple[InstrumentVersion, bool]:
    """Store a checked instrument (see :func:`store_instrument`) and audit a new version.

    Instrument versions are shared by every organization on the server; the
    event is logged in the uploading admin's organization.
    """
    row, created = store_instrument(instrument)
    if created:
        audit.record(
            "instrument_stored",
            actor=actor,
            organization_id=organization_id,
            target=row.label,
            detail=f"{row.title[:200]}; {len(instrument.items)} items",
        )
    return row, created
