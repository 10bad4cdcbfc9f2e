"""Counterparties: the other sides an organization's teams negotiate with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db
from survey.models.organization import Organization

#: What kind of other side a counterparty is (the check constraint repeats this list).
COUNTERPARTY_KINDS = ("customer", "supplier", "partner", "internal")
#: The instrument a counterparty round uses, and only a counterparty round
#: (``analytics/instruments/counterparty-blockers-v1.yaml``).
COUNTERPARTY_INSTRUMENT_KEY = "counterparty-blockers"
#: How each kind is named on pages and in reports.
COUNTERPARTY_KIND_LABELS = {
    "customer": "customer",
    "supplier": "supplier",
    "partner": "partner",
    "internal": "internal team",
}


class Counterparty(db.Model):
    """Another side a team negotiates with: a customer, supplier, partner or internal team.

    Scoped to one organization. A team rates it in a *counterparty round*
    (:attr:`survey.models.SurveyRound.counterparty_id`); a counterparty with
    rounds cannot be deleted (the rounds hold answers about it), which the
    foreign key enforces too.
    """

    __tablename__ = "counterparties"
    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        CheckConstraint("kind IN ('customer', 'supplier', 'partner', 'internal')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    deal_name: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship()

    def __repr__(self) -> str:
        return f"<Counterparty {self.name!r}>"
