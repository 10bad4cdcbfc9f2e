"""Accounts: creating users, logging in and out, server-side login sessions."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from survey.extensions import db
from survey.models import AuthSession, CoachAssignment, Membership, Organization, Team, User
from survey.services import throttle
from survey.services.passwords import hash_password, needs_rehash, verify_password
from survey.services.tokens import hash_token

LOGIN_LIMIT_PER_ACCOUNT = throttle.Limit(attempts=5, window=timedelta(minutes=15))
LOGIN_LIMIT_PER_ADDRESS = throttle.Limit(attempts=20, window=timedelta(minutes=15))
# Throttle events older than this are dropped at login: well past every limit's window.
THROTTLE_KEEP = timedelta(days=1)


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def find_user(email: str) -> User | None:
    """The account with this email, if any."""
    return db.session.scalar(select(User).filter_by(email=normalize_email(email)))


def create_user(email: str, password: str) -> User:
    """A new account (the caller checks the password policy)."""
    user = User(email=normalize_email(email), password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def set_role(user: User, org: Organization, role: str) -> tuple[Membership, str | None]:
    """Give the user a role in the organization; returns the membership and the old role."""
    if role not in ("admin", "coach"):
        raise ValueError(f"unknown role {role!r}")
    membership = db.session.scalar(
        select(Membership).filter_by(user_id=user.id, organization_id=org.id)
    )
    if membership is None:
        membership = Membership(user_id=user.id, organization_id=org.id, role=role)
        db.session.add(membership)
        db.session.flush()
        return membership, None
    old = membership.role
    membership.role = role
    db.session.flush()
    return membership, old


def assign_coach(user: User, team: Team) -> bool:
    """Let a coach see a team; False when already assigned."""
    if db.session.get(CoachAssignment, (user.id, team.id)) is not None:
        return False
    db.session.add(CoachAssignment(user_id=user.id, team_id=team.id))
    db.session.flush()
    return True


def unassign_coach(user_id: int, team_id: int) -> bool:
    """Stop a coach seeing a team; False when they were not assigned."""
    result = db.session.execute(
        delete(CoachAssignment).where(
            CoachAssignment.user_id == user_id, CoachAssignment.team_id == team_id
        )
    )
    return bool(result.rowcount)


class LoginOutcome(enum.Enum):
    """How a login attempt ended."""

    OK = "ok"
    WRONG = "wrong"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    """The outcome, the user on success, and how long to wait when throttled."""

    outcome: LoginOutcome
    user: User | None = None
    retry_after: timedelta | None = None


def login_throttle_keys(email: str, remote_addr: str | None) -> list[str]:
    """The throttle keys a login attempt counts under: the account and the address."""
    keys = [f"login:account:{normalize_email(email)[:320]}"]
    if remote_addr:
        keys.append(f"login:addr:{remote_addr}")
    return keys


def authenticate(email: str, password: str, remote_addr: str | None, now: datetime) -> LoginResult:
    """Check a login, counting failures per account and per address.

    Throttling is checked before the password, so a blocked attacker learns
    nothing; the caller commits so that failures are counted.
    """
    keys = login_throttle_keys(email, remote_addr)
    throttle.serialize(keys)
    account_key, address_keys = keys[:1], keys[1:]
    wait = throttle.blocked_for(account_key, LOGIN_LIMIT_PER_ACCOUNT, now)
    if address_keys:
        address_wait = throttle.blocked_for(address_keys, LOGIN_LIMIT_PER_ADDRESS, now)
        if address_wait is not None:
            wait = max(wait or address_wait, address_wait)
    if wait is not None:
        return LoginResult(LoginOutcome.THROTTLED, retry_after=wait)
    user = find_user(email)
    valid = verify_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.active:
        throttle.record(keys, now)
        return LoginResult(LoginOutcome.WRONG)
    throttle.clear(account_key)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    return LoginResult(LoginOutcome.OK, user=user)


def change_password(user: User, current: str, new: str) -> bool:
    """Replace the password when ``current`` is right; ends every other session."""
    if not verify_password(user.password_hash, current):
        return False
    user.password_hash = hash_password(new)
    db.session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    db.session.flush()
    return True


def start_session(user: User, now: datetime) -> str:
    """A new server-side session; returns the id for the cookie (only its hash is stored)."""
    session_id = secrets.token_urlsafe(32)
    db.session.add(
        AuthSession(
            id_hash=hash_token(session_id), user_id=user.id, created_at=now, last_seen_at=now
        )
    )
    db.session.flush()
    return session_id


@dataclass(frozen=True)
class SessionPolicy:
    """How long a login lasts: idle and absolute limits, and how often the idle timer is saved."""

    idle: timedelta
    absolute: timedelta
    touch_every: timedelta = timedelta(minutes=1)


class SessionState(enum.Enum):
    """What a request's login session needs (see :func:`session_state`)."""

    MISSING = "missing"  # no such session: logged out or never logged in
    ENDED = "ended"  # past the idle or absolute limit: delete it
    DUE = "due"  # live, and its idle timer is due to be saved
    LIVE = "live"  # live, saved recently: nothing to write


def _session_row(session_id: str | None) -> AuthSession | None:
    return db.session.get(AuthSession, hash_token(session_id)) if session_id else None


def _ended(row: AuthSession, policy: SessionPolicy, now: datetime) -> bool:
    return now - row.created_at > policy.absolute or now - row.last_seen_at > policy.idle


def session_state(session_id: str | None, policy: SessionPolicy, now: datetime) -> SessionState:
    """Whether the session is live and whether its idle timer is due; reads only."""
    row = _session_row(session_id)
    if row is None:
        return SessionState.MISSING
    if _ended(row, policy, now):
        return SessionState.ENDED
    return SessionState.DUE if now - row.last_seen_at > policy.touch_every else SessionState.LIVE


def resume_session(session_id: str | None, policy: SessionPolicy, now: datetime) -> User | None:
    """The user of a live session; None when it ended. Reads only: see :func:`touch_session`."""
    row = _session_row(session_id)
    if row is None or _ended(row, policy, now):
        return None
    user = row.user
    return user if user.active else None


def touch_session(session_id: str, policy: SessionPolicy, now: datetime) -> bool:
    """Save ``now`` as the session's last activity when ``touch_every`` has passed.

    One conditional ``UPDATE``, so workers racing on one session write it once.
    The caller holds a write transaction (:func:`survey.database.begin_write`)
    and commits at once: the refresh must not stay pending while a page renders.
    """
    result = db.session.execute(
        update(AuthSession)
        .where(
            AuthSession.id_hash == hash_token(session_id),
            AuthSession.last_seen_at < now - policy.touch_every,
        )
        .values(last_seen_at=now)
    )
    return bool(result.rowcount)


def prune_expired(policy: SessionPolicy, now: datetime) -> None:
    """Delete sessions past either limit and throttle events older than :data:`THROTTLE_KEEP`.

    Cheap enough to run at each login (both tables hold little once pruned);
    the caller holds a write transaction and commits.
    """
    db.session.execute(
        delete(AuthSession).where(
            or_(
                AuthSession.last_seen_at < now - policy.idle,
                AuthSession.created_at < now - policy.absolute,
            )
        )
    )
    throttle.prune(now - THROTTLE_KEEP)


def end_session(session_id: str | None) -> None:
    """Delete a session so its cookie no longer works."""
    if session_id:
        db.session.execute(delete(AuthSession).where(AuthSession.id_hash == hash_token(session_id)))
