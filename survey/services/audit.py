"""The audit log: who did what, when. Never answers, tokens or passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, User

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "password_changed",
    "password_reset_requested",
    "password_set",
    "user_created",
    "role_changed",
    "staff_invited",
    "staff_link_issued",
    "staff_deactivated",
    "staff_reactivated",
    "staff_removed",
    "coach_assigned",
    "coach_unassigned",
    "team_created",
    "team_renamed",
    "team_archived",
    "members_added",
    "member_edited",
    "member_moved",
    "instrument_stored",
    "round_created",
    "round_edited",
    "round_deleted",
    "round_opened",
    "round_extended",
    "round_closed",
    "invitations_issued",
    "invitation_revoked",
    "invitations_emailed",
    "report_downloaded",
    "export_downloaded",
    "participant_erased",
    "timezone_changed",
)


def record(
    action: str,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    organization_id: int | None = None,
    target: str = "",
    detail: str = "",
    remote_addr: str | None = None,
) -> AuditEvent:
    """Append one event; the caller commits with the change it describes."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        actor=actor.email if actor else (actor_label or "system"),
        organization_id=organization_id,
        target=target[:400],
        detail=detail[:1000],
        remote_addr=remote_addr,
    )
    db.session.add(event)
    db.session.flush()
    return event


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log."""

    events: list[AuditEvent]
    page: int
    pages: int
    total: int


def page_of_events(
    organization_id: int,
    *,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """The organization's events, newest first, filtered by action and time."""
    query = select(AuditEvent).where(AuditEvent.organization_id == organization_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at < until)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    events = db.session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return AuditPage(list(events), page, pages, total)
