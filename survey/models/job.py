"""Background jobs: one row per piece of work handed to the queue (:mod:`survey.jobs`).

The queue (Huey) carries the work; this row is what people see of it: its
state, its progress ("12 of 30"), a message when it failed, and its result
(for a download, the file's name under ``instance/``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db
from survey.models.account import User

#: What a job does; each kind is declared once, by its task in survey.jobs.tasks
#: (and the API's webhook delivery). A new kind needs a migration of the check.
JOB_KINDS = (
    "invitations",
    "reminders",
    "scheduled_reminders",
    "reports",
    "export",
    "webhook",
)
#: queued -> running -> done | failed (a retried job goes back to queued).
JOB_STATUSES = ("queued", "running", "done", "failed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Job(db.Model):
    """One background job and what became of it."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_one_of("kind", JOB_KINDS), name="kind"),
        CheckConstraint(_one_of("status", JOB_STATUSES), name="status"),
        CheckConstraint(
            "progress_done >= 0 AND (progress_total IS NULL OR progress_total >= 0)",
            name="progress",
        ),
        # The jobs a page shows: an organization's newest, of one round.
        Index("ix_jobs_organization_id_created_at", "organization_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    #: Shown to staff: what went wrong (never a stack trace), or a retry note.
    message: Mapped[str | None] = mapped_column(Text)
    #: What the job produced, e.g. {"file": "export-12.zip", "download_name": ...}.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship()

    @property
    def finished(self) -> bool:
        """Whether the job has come to an end (done or failed)."""
        return self.status in ("done", "failed")
