"""API tokens: an organization's keys to the JSON API (only a hash is stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db
from survey.models.organization import Organization

API_SCOPES = ("read", "write")


class ApiToken(db.Model):
    """One bearer token of an organization, with a scope, revocable.

    ``token_hash`` is the SHA-256 of a 256-bit random token shown once when
    it is made (:mod:`survey.services.api_tokens`); ``prefix`` is its first
    characters, enough to tell tokens apart on the admin page and no help in
    guessing one. A ``write`` token may also read.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('read', 'write')", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()

    @property
    def label(self) -> str:
        """How the token appears in the audit log and the anonymity ledger."""
        return f"API token {self.name!r} ({self.prefix}…)"
