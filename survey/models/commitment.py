"""Commitments: what a team agreed to practise after a round's results."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db
from survey.models.organization import Team
from survey.models.round import SurveyRound


class Commitment(db.Model):
    """One play a team commits to practise, with an owner role and a due date.

    ``round_id`` is the round whose results the commitment responds to; the
    next round's report shows it beside the change in the related blocker.
    ``owner_role`` is a role ("account lead"), never a person's name.
    """

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    play_id: Mapped[str] = mapped_column(String(40))
    owner_role: Mapped[str] = mapped_column(String(120))
    due_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    team: Mapped[Team] = relationship()
    survey_round: Mapped[SurveyRound] = relationship()
