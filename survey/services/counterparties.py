"""Counterparties: create, edit and delete an organization's other sides.

A counterparty belongs to one organization; an admin of it, or a coach of one
of its teams, manages them (:func:`can_manage`). Every change is audited.
Everything flushes; the caller commits.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    COUNTERPARTY_KINDS,
    CoachAssignment,
    Counterparty,
    Organization,
    SurveyRound,
    Team,
    User,
)
from survey.models.counterparty import COUNTERPARTY_KIND_LABELS
from survey.services import access, audit

MAX_NAME = 200

__all__ = [
    "CounterpartyError",
    "CounterpartyInUse",
    "CounterpartyNameTaken",
    "InvalidCounterparty",
    "can_manage",
    "counterparties_of",
    "create_counterparty",
    "delete_counterparty",
    "kind_label",
    "rounds_of_counterparty",
    "update_counterparty",
]


class CounterpartyError(ValueError):
    """A counterparty change that cannot be made; ``status`` is the HTTP status to answer."""

    status = 400


class InvalidCounterparty(CounterpartyError):
    """The name, kind or deal name cannot be used (400: fix the form)."""


class CounterpartyNameTaken(CounterpartyError):
    """Another counterparty of the organization has this name (409)."""

    status = 409


class CounterpartyInUse(CounterpartyError):
    """The counterparty has rounds, whose answers are about it (409)."""

    status = 409


def kind_label(kind: str) -> str:
    """How a kind is named on pages ("internal team" for ``internal``)."""
    return COUNTERPARTY_KIND_LABELS.get(kind, kind)


def can_manage(user: User, organization_id: int) -> bool:
    """Admins of the organization and coaches of one of its teams."""
    if access.is_admin_of(user, organization_id):
        return True
    if not access.is_member_of(user, organization_id):
        return False
    return (
        db.session.scalar(
            select(CoachAssignment.team_id)
            .join(Team, Team.id == CoachAssignment.team_id)
            .where(CoachAssignment.user_id == user.id, Team.organization_id == organization_id)
            .limit(1)
        )
        is not None
    )


def counterparties_of(org: Organization) -> list[Counterparty]:
    """The organization's counterparties, by name."""
    return list(
        db.session.scalars(
            select(Counterparty)
            .where(Counterparty.organization_id == org.id)
            .order_by(func.lower(Counterparty.name), Counterparty.id)
        )
    )


def rounds_of_counterparty(counterparty: Counterparty) -> list[SurveyRound]:
    """The rounds that rate the counterparty, newest first."""
    return list(
        db.session.scalars(
            select(SurveyRound)
            .where(SurveyRound.counterparty_id == counterparty.id)
            .order_by(SurveyRound.created_at.desc(), SurveyRound.id.desc())
        )
    )


def _clean(value: str | None, what: str, *, required: bool) -> str | None:
    text = " ".join((value or "").split())
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise InvalidCounterparty(f"The {what} contains a control character; type it again.")
    if not text:
        if required:
            raise InvalidCounterparty(f"Give the counterparty a {what}.")
        return None
    if len(text) > MAX_NAME:
        raise InvalidCounterparty(
            f"The {what} has {len(text)} characters; at most {MAX_NAME} are allowed."
        )
    return text


def _checked(
    org: Organization,
    name: str | None,
    kind: str | None,
    deal_name: str | None,
    counterparty: Counterparty | None = None,
) -> tuple[str, str, str | None]:
    clean_name = _clean(name, "name", required=True)
    assert clean_name is not None
    if kind not in COUNTERPARTY_KINDS:
        kinds = ", ".join(kind_label(k) for k in COUNTERPARTY_KINDS)
        raise InvalidCounterparty(f"Choose what kind of counterparty this is: {kinds}.")
    clash = db.session.scalar(
        select(Counterparty).where(
            Counterparty.organization_id == org.id,
            func.lower(Counterparty.name) == clean_name.lower(),
        )
    )
    if clash is not None and clash is not counterparty:
        raise CounterpartyNameTaken(f"There is already a counterparty called {clash.name!r}.")
    return clean_name, kind, _clean(deal_name, "deal name", required=False)


def create_counterparty(
    org: Organization,
    *,
    name: str | None,
    kind: str | None,
    deal_name: str | None = None,
    actor: User | None,
) -> Counterparty:
    """A new counterparty of the organization, checked and audited.

    Raises :class:`InvalidCounterparty` (a missing or too long name, an unknown
    kind) or :class:`CounterpartyNameTaken` (names are unique ignoring case).
    """
    clean_name, clean_kind, deal = _checked(org, name, kind, deal_name)
    counterparty = Counterparty(
        organization_id=org.id,
        name=clean_name,
        kind=clean_kind,
        deal_name=deal,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(counterparty)
    db.session.flush()
    audit.record(
        "counterparty_created",
        actor=actor,
        organization_id=org.id,
        target=clean_name,
        detail=kind_label(clean_kind) + (f", deal: {deal}" if deal else ""),
    )
    return counterparty


def update_counterparty(
    counterparty: Counterparty,
    *,
    name: str | None,
    kind: str | None,
    deal_name: str | None,
    actor: User | None,
) -> list[str]:
    """Change a counterparty's name, kind or deal name; what changed, in words (audited)."""
    org = counterparty.organization
    clean_name, clean_kind, deal = _checked(org, name, kind, deal_name, counterparty)
    changes = []
    if clean_name != counterparty.name:
        changes.append(f"renamed from {counterparty.name!r}")
        counterparty.name = clean_name
    if clean_kind != counterparty.kind:
        changes.append(f"kind {kind_label(counterparty.kind)} -> {kind_label(clean_kind)}")
        counterparty.kind = clean_kind
    if deal != counterparty.deal_name:
        changes.append(f"deal: {deal}" if deal else "deal name removed")
        counterparty.deal_name = deal
    if changes:
        audit.record(
            "counterparty_edited",
            actor=actor,
            organization_id=org.id,
            target=counterparty.name,
            detail="; ".join(changes),
        )
    db.session.flush()
    return changes


def delete_counterparty(counterparty: Counterparty, *, actor: User | None) -> None:
    """Delete a counterparty no round rates; :class:`CounterpartyInUse` otherwise."""
    used = rounds_of_counterparty(counterparty)
    if used:
        names = ", ".join(r.name for r in used[:5]) + (" ..." if len(used) > 5 else "")
        raise CounterpartyInUse(
            f"{counterparty.name} is rated in {len(used)} round{'s' if len(used) != 1 else ''}"
            f" ({names}), so it is kept with their answers."
        )
    audit.record(
        "counterparty_deleted",
        actor=actor,
        organization_id=counterparty.organization_id,
        target=counterparty.name,
    )
    db.session.delete(counterparty)
    db.session.flush()
