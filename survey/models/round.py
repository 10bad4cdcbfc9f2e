"""Survey rounds and the invitations that open them to participants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db
from survey.models.counterparty import Counterparty
from survey.models.instrument import InstrumentVersion
from survey.models.organization import Organization, Participant, Team

ROUND_STATUSES = ("draft", "open", "closed")
ROUND_MODES = ("confidential", "anonymous")

round_teams = Table(
    "round_teams",
    db.metadata,
    Column("round_id", ForeignKey("survey_rounds.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
)


class SurveyRound(db.Model):
    """A wave of one instrument version sent to one or more teams."""

    __tablename__ = "survey_rounds"
    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
        CheckConstraint("mode IN ('confidential', 'anonymous')", name="mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    mode: Mapped[str] = mapped_column(String(16), default="confidential")
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set for a counterparty round: the team rates this counterparty with the
    # counterparty instrument. No ON DELETE action: a counterparty with rounds
    # cannot be deleted (their answers are about it), yet deleting the whole
    # organization still cascades to both in one statement.
    counterparty_id: Mapped[int | None] = mapped_column(ForeignKey("counterparties.id"), index=True)
    #: When the scheduled reminder (N days before closing, survey.jobs.tasks) was queued;
    #: set once, so that it is sent once.
    scheduled_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()
    instrument: Mapped[InstrumentVersion] = relationship()
    counterparty: Mapped[Counterparty | None] = relationship()
    teams: Mapped[list[Team]] = relationship(secondary=round_teams, order_by="Team.name")

    def accepts_answers(self, now: datetime) -> bool:
        """Whether respondents may save and submit answers at ``now``."""
        return accepts_answers(self.status, self.opens_at, self.closes_at, now)


def accepts_answers(
    status: str, opens_at: datetime | None, closes_at: datetime | None, now: datetime
) -> bool:
    """Whether a round in this state accepts answers at ``now``."""
    if status != "open":
        return False
    if opens_at is not None and now < opens_at:
        return False
    return closes_at is None or now < closes_at


class Invitation(db.Model):
    """One participant's personal access to one round.

    Only the SHA-256 of the random token is stored. ``submitted_at`` records
    *that* the person took part, kept apart from *what* they answered so that
    anonymous rounds can unlink the response on submit.
    """

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("round_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    survey_round: Mapped[SurveyRound] = relationship()
    participant: Mapped[Participant] = relationship()
