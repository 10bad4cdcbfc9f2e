"""Staff management and one-time set-password links (invitations and resets).

A link is 256 random bits of which only the SHA-256 is stored
(:mod:`survey.services.tokens`). It expires (:data:`INVITE_TTL`,
:data:`RESET_TTL`), works once, and issuing a new link for an account ends
every older one. :func:`redeem_link` claims it with one conditional
``UPDATE ... WHERE used_at IS NULL`` in the transaction that sets the
password, so two concurrent uses cannot both succeed, and ends every login
session of the account.

An admin manages the staff of the organizations they administer. Whatever
reaches beyond one organization (deactivating the account, issuing a link that
would let its holder into it) is allowed only when every organization the
account belongs to is administered by the acting admin (:func:`manages_account`);
otherwise the admin can still change the role in, or remove the person from,
their own organization. No organization may lose its last active admin.

Every function flushes and leaves the commit to the caller; none sends mail:
the caller commits first, then sends (never SMTP inside a write transaction).
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import delete, func, select, update

from survey.extensions import db
from survey.models import (
    ROLES,
    CoachAssignment,
    Membership,
    Organization,
    StaffToken,
    Team,
    User,
)
from survey.services import accounts, audit, sso, throttle
from survey.services.mailer import SmtpSettings, send_messages
from survey.services.passwords import has_usable_password
from survey.services.tokens import new_token

INVITE_TTL = timedelta(days=7)
RESET_TTL = timedelta(hours=24)
RESET_LIMIT_PER_ADDRESS = throttle.Limit(attempts=5, window=timedelta(minutes=15))
RESET_LIMIT_PER_ACCOUNT = throttle.Limit(attempts=3, window=timedelta(hours=1))

log = logging.getLogger(__name__)


class StaffRefused(Exception):
    """The change may not be made: ``message`` says why; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class StaffMember:
    """One row of an organization's staff list."""

    user: User
    role: str
    teams: list[Team]
    pending: bool  # has not set a password yet
    managed: bool  # every organization of the account is administered by the viewer


@dataclass(frozen=True)
class IssuedLink:
    """A fresh one-time link (plain data, usable after commit)."""

    user_id: int
    email: str
    token: str
    purpose: str
    expires_at: datetime


@dataclass(frozen=True)
class Invited:
    """What an invitation did: the account, whether it is new, and the link if one was issued."""

    user_id: int
    email: str
    created: bool
    link: IssuedLink | None
    note: str = ""


# --- reading -------------------------------------------------------------------------


def staff_of(org: Organization, viewer: User) -> list[StaffMember]:
    """The organization's admins and coaches, admins first, with each coach's teams."""
    rows = db.session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == org.id)
        .order_by(Membership.role, User.email)
    ).all()
    teams: dict[int, list[Team]] = {}
    for user_id, team in db.session.execute(
        select(CoachAssignment.user_id, Team)
        .join(Team, Team.id == CoachAssignment.team_id)
        .where(Team.organization_id == org.id)
        .order_by(Team.name)
    ).all():
        teams.setdefault(user_id, []).append(team)
    return [
        StaffMember(
            user=user,
            role=role,
            teams=teams.get(user.id, []),
            pending=not has_usable_password(user.password_hash),
            managed=manages_account(viewer, user),
        )
        for user, role in rows
    ]


def membership(org: Organization, user_id: int) -> Membership | None:
    """The user's membership in the organization, if any."""
    return db.session.scalar(select(Membership).filter_by(organization_id=org.id, user_id=user_id))


def manages_account(actor: User, user: User) -> bool:
    """Whether ``actor`` administers every organization ``user`` holds a role in."""
    outside = db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.user_id == user.id,
            Membership.organization_id.not_in(
                select(Membership.organization_id).where(
                    Membership.user_id == actor.id, Membership.role == "admin"
                )
            ),
        )
    )
    return not outside


def _active_admins(organization_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.organization_id == organization_id,
                Membership.role == "admin",
                User.active.is_(True),
            )
        )
        or 0
    )


def _check_not_last_admin(user: User, organization_ids: list[int], what: str) -> None:
    """Refuse when ``user`` is the only active admin of one of the organizations.

    Changes to an organization's admins take turns (an advisory lock per
    organization on PostgreSQL; SQLite's write lock already serializes), so two
    admins demoting each other at once cannot leave it with none.
    """
    throttle.serialize([f"staff:admins:{org_id}" for org_id in organization_ids])
    admin_of = set(
        db.session.scalars(
            select(Membership.organization_id).where(
                Membership.user_id == user.id,
                Membership.role == "admin",
                Membership.organization_id.in_(organization_ids),
            )
        )
    )
    if user.active and any(_active_admins(org_id) <= 1 for org_id in admin_of):
        raise StaffRefused(
            f"{user.email} is the last active admin of an organization and cannot be {what}. "
            "Make someone else an admin first."
        )


# --- changing staff ------------------------------------------------------------------


def invite(org: Organization, email: str, role: str, *, actor: User, now: datetime) -> Invited:
    """Give ``email`` a role in the organization; a new account also gets an invitation link.

    An existing account that has never set a password gets a fresh link only
    when the actor manages it (:func:`manages_account`). Refused when the
    person already has a role here.
    """
    if role not in ROLES:
        raise StaffRefused(f"Choose a role: {', '.join(ROLES)}.", 400)
    address = accounts.normalize_email(email)
    user = accounts.find_user(address)
    created = user is None
    if user is None:
        user = accounts.create_invited_user(address)
        audit.record("user_created", actor=actor, organization_id=org.id, target=user.email)
    elif (existing := membership(org, user.id)) is not None:
        raise StaffRefused(
            f"{user.email} is already {existing.role} of {org.name}; change their role below."
        )
    accounts.set_role(user, org, role)
    audit.record(
        "staff_invited",
        actor=actor,
        organization_id=org.id,
        target=user.email,
        detail=f"role {role}" + ("" if created else ", existing account"),
    )
    link, note = None, ""
    if created or (not has_usable_password(user.password_hash) and manages_account(actor, user)):
        link = _issue(user, "invite", org.id, actor, now)
    elif not has_usable_password(user.password_hash):
        note = "They have not set a password yet; they can use \u201cForgot password?\u201d."
    else:
        note = "They log in with the password they already have."
    if not user.active:
        note = "Their account is deactivated." + (" " + note if note else "")
    return Invited(user.id, user.email, created, link, note)


def change_role(org: Organization, user: User, role: str, *, actor: User) -> str | None:
    """Set the user's role here; returns the old role (None when unchanged)."""
    if role not in ROLES:
        raise StaffRefused(f"Choose a role: {', '.join(ROLES)}.", 400)
    current = membership(org, user.id)
    if current is None:
        raise StaffRefused(f"{user.email} has no role in {org.name}.", 404)
    if current.role == role:
        return None
    if user.id == actor.id:
        raise StaffRefused("You cannot change your own role; ask another admin.", 403)
    if current.role == "admin":
        _check_not_last_admin(user, [org.id], "made a coach")
    _, old = accounts.set_role(user, org, role)
    audit.record(
        "role_changed",
        actor=actor,
        organization_id=org.id,
        target=user.email,
        detail=f"{old} -> {role}",
    )
    return old


def deactivate(org: Organization, user: User, *, actor: User, now: datetime) -> bool:
    """Block the account from logging in and end its sessions; False when already inactive."""
    _check_reach(org, user, actor, "deactivate")
    if not user.active:
        return False
    orgs = [m.organization_id for m in user.memberships]
    _check_not_last_admin(user, orgs, "deactivated")
    user.active = False
    accounts.end_all_sessions(user.id)
    _end_links(user.id, now)
    for organization_id in orgs:
        audit.record(
            "staff_deactivated", actor=actor, organization_id=organization_id, target=user.email
        )
    db.session.flush()
    return True


def reactivate(org: Organization, user: User, *, actor: User) -> bool:
    """Let the account log in again; False when already active."""
    _check_reach(org, user, actor, "reactivate")
    if user.active:
        return False
    user.active = True
    for m in user.memberships:
        audit.record(
            "staff_reactivated", actor=actor, organization_id=m.organization_id, target=user.email
        )
    db.session.flush()
    return True


def remove(org: Organization, user: User, *, actor: User) -> None:
    """Take away the user's role here and their coach assignments to this organization's teams."""
    if user.id == actor.id:
        raise StaffRefused("You cannot remove yourself; ask another admin.", 403)
    current = membership(org, user.id)
    if current is None:
        raise StaffRefused(f"{user.email} has no role in {org.name}.", 404)
    if current.role == "admin":
        _check_not_last_admin(user, [org.id], "removed")
    db.session.execute(
        delete(CoachAssignment).where(
            CoachAssignment.user_id == user.id,
            CoachAssignment.team_id.in_(select(Team.id).where(Team.organization_id == org.id)),
        )
    )
    db.session.delete(current)
    audit.record(
        "staff_removed",
        actor=actor,
        organization_id=org.id,
        target=user.email,
        detail=f"was {current.role}",
    )
    db.session.flush()


def issue_link(org: Organization, user: User, *, actor: User, now: datetime) -> IssuedLink:
    """A new set-password link for the account (an invitation until it has a password)."""
    _check_reach(org, user, actor, "send a set-password link to")
    if not user.active:
        raise StaffRefused(f"{user.email} is deactivated; reactivate them first.")
    purpose = "reset" if has_usable_password(user.password_hash) else "invite"
    return _issue(user, purpose, org.id, actor, now)


def _check_reach(org: Organization, user: User, actor: User, what: str) -> None:
    if membership(org, user.id) is None:
        raise StaffRefused(f"{user.email} has no role in {org.name}.", 404)
    if user.id == actor.id:
        raise StaffRefused(f"You cannot {what} yourself.", 403)
    if not manages_account(actor, user):
        raise StaffRefused(
            f"{user.email} also works for an organization you do not administer, so only "
            f"their role here can be changed: you cannot {what} them. You can remove them "
            f"from {org.name}.",
            403,
        )


def _issue(
    user: User, purpose: str, organization_id: int | None, actor: User | None, now: datetime
) -> IssuedLink:
    """Store a fresh link (ending the account's older ones) and return it with its token."""
    _end_links(user.id, now)
    token, token_hash = new_token()
    expires_at = now + (INVITE_TTL if purpose == "invite" else RESET_TTL)
    db.session.add(
        StaffToken(
            token_hash=token_hash,
            user_id=user.id,
            purpose=purpose,
            organization_id=organization_id,
            created_by_id=actor.id if actor else None,
            created_at=now,
            expires_at=expires_at,
        )
    )
    if actor is not None and organization_id is not None:
        audit.record(
            "staff_link_issued",
            actor=actor,
            organization_id=organization_id,
            target=user.email,
            detail=purpose,
        )
    db.session.flush()
    return IssuedLink(user.id, user.email, token, purpose, expires_at)


def _end_links(user_id: int, now: datetime) -> None:
    """Spend every unused link of the account."""
    db.session.execute(
        update(StaffToken)
        .where(StaffToken.user_id == user_id, StaffToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


# --- using a link --------------------------------------------------------------------


class LinkStatus(enum.Enum):
    """Whether a set-password link can be used."""

    OK = "ok"
    INVALID = "invalid"  # no such link
    USED = "used"  # used already, or replaced by a newer link
    EXPIRED = "expired"
    INACTIVE = "inactive"  # the account is deactivated


@dataclass(frozen=True)
class LinkCheck:
    """A link's status and, when it exists, what it is for."""

    status: LinkStatus
    purpose: str | None = None
    email: str | None = None
    user_id: int | None = None


def check_link(token_hash: str | None, now: datetime) -> LinkCheck:
    """Whether the link is usable now; reads only."""
    row = (
        db.session.scalar(select(StaffToken).filter_by(token_hash=token_hash))
        if token_hash
        else None
    )
    if row is None:
        return LinkCheck(LinkStatus.INVALID)
    user = row.user
    if row.used_at is not None:
        status = LinkStatus.USED
    elif row.expires_at <= now:
        status = LinkStatus.EXPIRED
    elif not user.active:
        status = LinkStatus.INACTIVE
    else:
        status = LinkStatus.OK
    return LinkCheck(status, row.purpose, user.email, user.id)


def redeem_link(
    token_hash: str, password_hash: str, now: datetime, remote_addr: str | None = None
) -> LinkCheck:
    """Spend the link and set the account's password (already hashed); ends every session.

    The claim is one conditional ``UPDATE`` whose row count says whether this
    request won it. Any status but OK means nothing should be kept: the caller
    rolls back (a claim of an inactive account's link included).
    """
    claimed = db.session.execute(
        update(StaffToken)
        .where(
            StaffToken.token_hash == token_hash,
            StaffToken.used_at.is_(None),
            StaffToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        check = check_link(token_hash, now)
        return check if check.status is not LinkStatus.OK else LinkCheck(LinkStatus.USED)
    row = db.session.scalar(select(StaffToken).filter_by(token_hash=token_hash))
    assert row is not None
    user = db.session.get(User, row.user_id, populate_existing=True)
    assert user is not None
    if not user.active:
        return LinkCheck(LinkStatus.INACTIVE, row.purpose, user.email, user.id)
    user.password_hash = password_hash
    _end_links(user.id, now)
    accounts.end_all_sessions(user.id)
    for m in user.memberships:
        audit.record(
            "password_set",
            actor=user,
            organization_id=m.organization_id,
            detail="invitation" if row.purpose == "invite" else "reset",
            remote_addr=remote_addr,
        )
    db.session.flush()
    return LinkCheck(LinkStatus.OK, row.purpose, user.email, user.id)


# --- forgotten passwords -------------------------------------------------------------


@dataclass(frozen=True)
class ResetRequest:
    """A forgotten-password request: how long to wait if throttled, else maybe a link to mail."""

    retry_after: timedelta | None = None
    link: IssuedLink | None = field(default=None, repr=False)


def request_reset(
    email: str, remote_addr: str | None, now: datetime, *, mail_enabled: bool
) -> ResetRequest:
    """Count the request and, when due, issue a reset link for an active account.

    Throttled per address (:data:`RESET_LIMIT_PER_ADDRESS`: the caller says so,
    which tells nothing about the email) and per email address whether or not
    an account has it (:data:`RESET_LIMIT_PER_ACCOUNT`: silently no link). No
    link is issued when mail is not configured: nobody could receive it.
    """
    address = accounts.normalize_email(email)[:320]
    account_key = f"reset:account:{address}"
    keys = [account_key] + ([f"reset:addr:{remote_addr}"] if remote_addr else [])
    throttle.serialize(keys)
    if remote_addr and (wait := throttle.blocked_for([keys[1]], RESET_LIMIT_PER_ADDRESS, now)):
        return ResetRequest(retry_after=wait)
    account_blocked = throttle.blocked_for([account_key], RESET_LIMIT_PER_ACCOUNT, now)
    throttle.record(keys, now)
    user = accounts.find_user(address)
    if account_blocked is not None or not mail_enabled or user is None or not user.active:
        return ResetRequest()
    if not sso.password_login_allowed(user):  # no local password to reset: same answer
        return ResetRequest()
    link = _issue(user, "reset", None, None, now)
    for m in user.memberships:
        audit.record(
            "password_reset_requested",
            actor_label=user.email,
            organization_id=m.organization_id,
            remote_addr=remote_addr,
        )
    return ResetRequest(link=link)


# --- mail that must not hold up the answer ---------------------------------------------

_background: set[threading.Thread] = set()
_background_lock = threading.Lock()


def send_in_background(settings: SmtpSettings, message: EmailMessage, what: str) -> None:
    """Send one message on a thread of its own; touches no database.

    Used where the answer must not depend on whether a message is sent (the
    forgotten-password form): the response goes out while SMTP runs. Failures
    are logged with ``what`` (never the address or the link).
    """

    def run() -> None:
        try:
            report = send_messages(settings, [message])
            if report.failed:
                log.warning("%s not sent: %s", what, report.failed[0][1])
        except Exception:  # pragma: no cover - send_messages reports, but never lose the log
            log.exception("%s not sent", what)
        finally:
            with _background_lock:
                _background.discard(thread)

    thread = threading.Thread(target=run, name="negoscope-mail", daemon=True)
    with _background_lock:
        _background.add(thread)
    thread.start()


def wait_for_background_mail(timeout: float = 30) -> None:
    """Wait for messages being sent in the background (tests, orderly shutdown)."""
    with _background_lock:
        threads = list(_background)
    for thread in threads:
        thread.join(timeout)
