"""Stored instrument versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db


class InstrumentVersion(db.Model):
    """One version of an instrument definition, immutable once stored."""

    __tablename__ = "instruments"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    # Loaded only when first read: the parsed instrument is cached by content hash.
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def label(self) -> str:
        """``key vN`` as shown to admins."""
        return f"{self.key} v{self.version}"
