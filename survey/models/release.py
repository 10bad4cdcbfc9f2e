"""Published results: per-team releases of a round, and what staff were shown.

A round's results are never computed from live data. Each team's results come
from its latest :class:`TeamRelease`: the set of responses whose ``release_id``
points at one of that team's releases. A new release is made only when the
release rule (:mod:`analytics.release`) allows it, so two views of a team can
never differ by one person. :class:`Disclosure` is the anonymity ledger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db

RELEASE_REASONS = ("first", "step", "migration")
DISCLOSURE_KINDS = ("dashboard", "report", "export", "analyze", "assignments", "api")


class TeamRelease(db.Model):
    """One published snapshot of one team's responses in one round.

    ``n`` is how many responses the release holds (the team's previous release
    plus the responses it adds, minus those erased since). A round's snapshot
    id is the largest release id of the round: it changes exactly when some
    team's published results change.
    """

    __tablename__ = "team_releases"
    __table_args__ = (
        CheckConstraint("reason IN ('first', 'step', 'migration')", name="reason"),
        CheckConstraint("n >= 0", name="n_not_negative"),
        Index("ix_team_releases_round_team", "round_id", "team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    n: Mapped[int]
    added: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Ids of the responses in the release, comma-separated (kept after an erasure
    #: deletes a response: the release rule checks new releases against old ones).
    members: Mapped[str] = mapped_column(Text, default="")

    @property
    def member_ids(self) -> frozenset[int]:
        """The response ids the release holds."""
        return frozenset(int(part) for part in self.members.split(",") if part)


class Disclosure(db.Model):
    """The anonymity ledger: one set of figures shown to one staff user (or the CLI).

    Recorded once per (actor, round snapshot, group, kind). ``figures_hash``
    is a SHA-256 of the figures shown, so identical figures shown through the
    dashboard and the PDF carry the same hash; ``n`` is the group's size in that
    snapshot. Exports record the responses they held, so a later export can be
    refused when it differs from an earlier one by fewer than the threshold.
    """

    __tablename__ = "disclosures"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('dashboard', 'report', 'export', 'analyze', 'assignments', 'api')",
            name="kind",
        ),
        Index("ix_disclosures_round_kind", "round_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16))
    snapshot_id: Mapped[int]
    group_name: Mapped[str] = mapped_column(String(200))
    n: Mapped[int]
    figures_hash: Mapped[str] = mapped_column(String(64))
