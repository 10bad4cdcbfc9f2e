"""Responses and their answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db
from survey.models.round import Invitation, SurveyRound


class Response(db.Model):
    """One person's answers to one round, as a draft until submitted.

    ``release_id`` is set when a team release publishes the response
    (:mod:`survey.models.release`); results are computed from released responses only.
    ``invitation_id`` links a draft to its invitation so the person can resume.
    In anonymous rounds it is cleared on submit and the timestamps coarsened to
    the day, so nothing joins the answers back to a person.
    """

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted')", name="status"),
        CheckConstraint(
            "(status = 'draft' AND submitted_at IS NULL AND invitation_id IS NOT NULL)"
            " OR (status = 'submitted' AND submitted_at IS NOT NULL)",
            name="submitted_state",
        ),
        # Counting a round's submitted responses (the analysis fingerprint) from the index alone.
        Index("ix_responses_round_id_status", "round_id", "status"),
        # A team's released and pending responses (the release rule counts both).
        Index("ix_responses_round_team_release", "round_id", "team_id", "release_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL"), unique=True
    )
    external_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    current_page: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The team release that first published this response; NULL while unreleased.
    release_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_releases.id", ondelete="SET NULL")
    )

    survey_round: Mapped[SurveyRound] = relationship()
    invitation: Mapped[Invitation | None] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )
    context_answers: Mapped[list[ContextAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )


class Answer(db.Model):
    """The answer to one item; ``value`` is NULL when the person chose to skip it."""

    __tablename__ = "answers"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int | None]

    response: Mapped[Response] = relationship(back_populates="answers")


class ContextAnswer(db.Model):
    """The answer to one context question; ``value`` is NULL when skipped."""

    __tablename__ = "context_answers"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(200))

    response: Mapped[Response] = relationship(back_populates="context_answers")
