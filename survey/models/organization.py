"""Organizations, their teams and the people in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db


class Organization(db.Model):
    """A customer: everything else belongs to exactly one organization."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Export key: team pseudonyms, and (HMAC'd with the round and snapshot) each
    # snapshot's response pseudonyms and row order; created on first use, never exported.
    export_key: Mapped[str | None] = mapped_column(String(64))
    # IANA time zone name: admin pages show times in it, and a closing date
    # entered as a day means the end of that day here.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Interface language (a code of survey.i18n.LANGUAGE_NAMES) of the invitation and
    # reminder emails, used when the round's instrument is complete in it.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    teams: Mapped[list[Team]] = relationship(
        back_populates="organization", order_by="Team.name", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Organization {self.name!r}>"


class Team(db.Model):
    """A group of people who negotiate together."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="teams")
    participants: WriteOnlyMapped[Participant] = relationship(
        back_populates="team", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Team {self.name!r}>"


class Participant(db.Model):
    """A team member who can be invited to answer.

    Name and email are optional and live only here, so erasing a person
    clears these two columns without touching any answer.
    """

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("team_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    team: Mapped[Team] = relationship(back_populates="participants")

    @property
    def display_name(self) -> str:
        """A label for admin pages: name, else email, else a neutral placeholder."""
        return self.name or self.email or f"Member #{self.id}"
