"""The audit log: who did what, when. Never answers, tokens or passwords.

Members are recorded by number ("member #12"), never by name or email, so an
erasure leaves nothing of them in the log; :func:`readable` puts the current
names back when the log is shown or exported (an erased member stays a number).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select

from analytics.anonymity import neutralize
from survey.extensions import db
from survey.models import AuditEvent, Invitation, Participant, SurveyRound, Team, User

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
    "audit_exported",
    "timezone_changed",
    "language_changed",
    "sso_settings_changed",
    "commitment_added",
    "commitment_edited",
    "commitment_deleted",
    "worksheet_downloaded",
    "counterparty_created",
    "counterparty_edited",
    "counterparty_deleted",
    "api_token_created",
    "api_token_revoked",
    "api_write",
    "webhook_created",
    "webhook_disabled",
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
        actor=actor.email if actor else (actor_label or _request_actor() or "system"),
        organization_id=organization_id,
        target=target[:400],
        detail=detail[:1000],
        remote_addr=remote_addr,
    )
    db.session.add(event)
    db.session.flush()
    return event


def _request_actor() -> str | None:
    """Who acts in this request when no user does: an API token sets ``g.audit_actor``."""
    from flask import g, has_app_context

    return g.get("audit_actor") if has_app_context() else None


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log."""

    events: list[AuditEvent]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class Filters:
    """Which events to show: one action, and a time range [since, until)."""

    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _query(organization_id: int, filters: Filters) -> Select[tuple[AuditEvent]]:
    query = select(AuditEvent).where(AuditEvent.organization_id == organization_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.since:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.at < filters.until)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


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
    query = _query(organization_id, Filters(action, since, until))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    events = db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return AuditPage(list(events), page, pages, total)


@dataclass(frozen=True)
class ShownEvent:
    """An event as people read it: the actor's current email, members by name."""

    at: datetime
    actor: str
    action: str
    target: str
    detail: str
    remote_addr: str


_MEMBER = re.compile(r"\bmember #(\d{1,9})\b")
# Before members were recorded by number, a revoked or re-issued link named its invitation.
_INVITATION = re.compile(r"\binvitation (\d{1,9})\b")
# Only these actions write member or invitation numbers (a team may be called "member #1").
_NAMES_MEMBERS = frozenset(
    {"members_added", "member_edited", "member_moved", "invitation_revoked", "invitations_issued"}
)


def readable(organization_id: int, events: Sequence[AuditEvent]) -> list[ShownEvent]:
    """The events with ids put back into words, as far as the organization's data allows.

    ``member #N`` becomes the member's name (or email) and team, ``invitation N``
    the invited member and round, and a staff actor their current email. An
    erased or unknown member stays a number.
    """
    texts = [f"{e.target}\n{e.detail}" for e in events if e.action in _NAMES_MEMBERS]
    member_ids = {int(m) for text in texts for m in _MEMBER.findall(text)}
    invitation_ids = {int(m) for text in texts for m in _INVITATION.findall(text)}
    members = _member_names(organization_id, member_ids)
    invitations = _invitation_names(organization_id, invitation_ids)
    emails = _actor_emails({e.actor_id for e in events if e.actor_id is not None})

    def words(event: AuditEvent, text: str) -> str:
        if event.action not in _NAMES_MEMBERS:
            return text
        text = _MEMBER.sub(lambda m: members.get(int(m.group(1)), m.group(0)), text)
        return _INVITATION.sub(lambda m: invitations.get(int(m.group(1)), m.group(0)), text)

    return [
        ShownEvent(
            at=e.at,
            actor=emails.get(e.actor_id, e.actor) if e.actor_id is not None else e.actor,
            action=e.action,
            target=words(e, e.target),
            detail=words(e, e.detail),
            remote_addr=e.remote_addr or "",
        )
        for e in events
    ]


def _member_names(organization_id: int, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(Participant, Team.name)
        .join(Team, Team.id == Participant.team_id)
        .where(
            Participant.id.in_(sorted(ids)),
            Team.organization_id == organization_id,
            Participant.erased_at.is_(None),
        )
    ).all()
    return {person.id: f"{person.display_name} ({team})" for person, team in rows}


def _invitation_names(organization_id: int, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(Invitation.id, Participant, SurveyRound.name)
        .join(Participant, Participant.id == Invitation.participant_id)
        .join(SurveyRound, SurveyRound.id == Invitation.round_id)
        .where(
            Invitation.id.in_(sorted(ids)),
            SurveyRound.organization_id == organization_id,
            Participant.erased_at.is_(None),
        )
    ).all()
    return {
        invitation_id: f"the link of {person.display_name} in {round_name}"
        for invitation_id, person, round_name in rows
    }


def _actor_emails(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(User.id, User.email).where(User.id.in_(sorted(ids)))
    return {user_id: email for user_id, email in db.session.execute(query)}


CSV_BATCH = 1_000


def export_csv(organization_id: int, filters: Filters, zone: ZoneInfo) -> Iterator[str]:
    """The filtered log as CSV text, newest first, in pieces (header first).

    Times are local to ``zone`` with their UTC offset; every cell is made inert
    for spreadsheets (:func:`analytics.anonymity.neutralize`).
    """
    yield _csv_line(["when", "who", "action", "what", "detail", "from address"])
    result = db.session.scalars(
        _query(organization_id, filters).execution_options(yield_per=CSV_BATCH)
    )
    for batch in result.partitions(CSV_BATCH):
        yield "".join(
            _csv_line(
                [
                    event.at.astimezone(zone).isoformat(sep=" ", timespec="seconds"),
                    event.actor,
                    event.action,
                    event.target,
                    event.detail,
                    event.remote_addr,
                ]
            )
            for event in readable(organization_id, batch)
        )


def _csv_line(cells: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([neutralize(cell) for cell in cells])
    return out.getvalue()
