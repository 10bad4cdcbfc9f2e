"""Stored round analyses, shared by every worker and host."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db


class StoredAnalysis(db.Model):
    """The latest analysis of a round, valid while its fingerprint matches.

    The payload is a compressed pickle written only by this application.
    """

    __tablename__ = "round_analyses"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
