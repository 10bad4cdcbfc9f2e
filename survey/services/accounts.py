"""Accounts: creating users, logging in and out, server-side login sessions.

Login throttling (stored in the database, so shared by every worker and host)
must slow guessing without letting a guesser lock the real user out. Every
failure counts under the account, the account from that address, the address,
and (when the client presents one) the trusted-device cookie. Which limits an
attempt must pass depends on who asks:

* A client without a trusted-device cookie for the account must pass three:
  5 failures per 15 minutes for the account *from its address* (a guesser
  elsewhere does not lock this user's address), 20 per 15 minutes from its
  address over all accounts, and 20 per 15 minutes for the account from
  anywhere (at most 80 guesses an hour at one account, ASVS 6.3.x).
* A client with a trusted-device cookie for the account (set at each
  successful login, signed with the app's secret key, valid 180 days) must
  pass only its own 5 per 15 minutes. So the real user, on a browser they
  have logged in from before, is never locked out by anyone else's failures;
  on a new browser they wait at most the rest of the 15-minute window after
  the guessing stops.

While throttled the password is not checked, so a throttled guesser learns
nothing. Changing one's password is throttled too (5 wrong current passwords
per 15 minutes per account).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select, update

from survey.extensions import db
from survey.models import AuthSession, CoachAssignment, Membership, Organization, Team, User
from survey.services import audit, throttle
from survey.services.passwords import (
    UNUSABLE_PASSWORD,
    has_usable_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from survey.services.tokens import hash_token

WINDOW = timedelta(minutes=15)
LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS = throttle.Limit(attempts=5, window=WINDOW)
LOGIN_LIMIT_PER_ADDRESS = throttle.Limit(attempts=20, window=WINDOW)
LOGIN_LIMIT_PER_ACCOUNT = throttle.Limit(attempts=20, window=WINDOW)
LOGIN_LIMIT_PER_DEVICE = throttle.Limit(attempts=5, window=WINDOW)
PASSWORD_CHANGE_LIMIT = throttle.Limit(attempts=5, window=WINDOW)
DEVICE_COOKIE_MAX_AGE = timedelta(days=180)
_DEVICE_SALT = "negoscope-trusted-login-device"
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


def create_invited_user(email: str) -> User:
    """A new account with no usable password: its owner sets one through a one-time link."""
    user = User(email=normalize_email(email), password_hash=UNUSABLE_PASSWORD)
    db.session.add(user)
    db.session.flush()
    return user


def end_all_sessions(user_id: int) -> None:
    """Delete every login session of the user, so every cookie of theirs stops working."""
    db.session.execute(delete(AuthSession).where(AuthSession.user_id == user_id))


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


def assign_coach(
    user: User, team: Team, *, actor: User | None = None, actor_label: str | None = None
) -> bool:
    """Let a coach see a team (audited as ``actor``, else ``actor_label``); False when already."""
    if db.session.get(CoachAssignment, (user.id, team.id)) is not None:
        return False
    db.session.add(CoachAssignment(user_id=user.id, team_id=team.id))
    audit.record(
        "coach_assigned",
        actor=actor,
        actor_label=actor_label,
        organization_id=team.organization_id,
        target=f"{user.email} -> {team.name}",
    )
    db.session.flush()
    return True


def unassign_coach(user_id: int, team_id: int, *, actor: User | None = None) -> bool:
    """Stop a coach seeing a team (audited); False when they were not assigned."""
    result = db.session.execute(
        delete(CoachAssignment).where(
            CoachAssignment.user_id == user_id, CoachAssignment.team_id == team_id
        )
    )
    if not result.rowcount:
        return False
    coach, team = db.session.get(User, user_id), db.session.get(Team, team_id)
    if coach is not None and team is not None:
        audit.record(
            "coach_unassigned",
            actor=actor,
            organization_id=team.organization_id,
            target=f"{coach.email} -> {team.name}",
        )
    db.session.flush()
    return True


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


def _login_limits(
    email: str, remote_addr: str | None, device: str | None
) -> tuple[list[tuple[str, throttle.Limit]], list[str]]:
    """The (key, limit) pairs an attempt must pass, and every key a failure counts under."""
    account = normalize_email(email)[:320]
    account_key = f"login:account:{account}"
    counted = [account_key]
    checked: list[tuple[str, throttle.Limit]] = []
    if device:
        device_key = f"login:device:{device}"
        counted.append(device_key)
        checked.append((device_key, LOGIN_LIMIT_PER_DEVICE))
    if remote_addr:
        pair_key, address_key = (
            f"login:account-addr:{account}|{remote_addr}",
            f"login:addr:{remote_addr}",
        )
        counted += [pair_key, address_key]
        if not device:
            checked += [
                (pair_key, LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS),
                (address_key, LOGIN_LIMIT_PER_ADDRESS),
            ]
    if not device:
        checked.append((account_key, LOGIN_LIMIT_PER_ACCOUNT))
    return checked, counted


def _wait(checked: list[tuple[str, throttle.Limit]], now: datetime) -> timedelta | None:
    """The longest wait any of the limits imposes now; None when every one allows an attempt."""
    waits = [w for key, limit in checked if (w := throttle.blocked_for([key], limit, now))]
    return max(waits) if waits else None


def authenticate(
    email: str,
    password: str,
    remote_addr: str | None,
    now: datetime,
    device: str | None = None,
) -> LoginResult:
    """Check a login under the limits of the module docstring.

    ``device`` is the nonce of a trusted-device cookie already verified for
    this email (:func:`trusted_device`). Throttling is checked before the
    password, so a blocked attacker learns nothing; the caller commits so that
    failures are counted.
    """
    checked, counted = _login_limits(email, remote_addr, device)
    throttle.serialize(counted)
    wait = _wait(checked, now)
    if wait is not None:
        return LoginResult(LoginOutcome.THROTTLED, retry_after=wait)
    user = find_user(email)
    # An account without a password yet is verified against the dummy hash: same effort.
    usable = user is not None and has_usable_password(user.password_hash)
    valid = verify_password(user.password_hash if user and usable else None, password)
    if not valid or user is None or not user.active:
        throttle.record(counted, now)
        return LoginResult(LoginOutcome.WRONG)
    # Forget this client's own failures; the address's and the account's stay in force.
    throttle.clear([k for k in counted if k.startswith(("login:account-addr:", "login:device:"))])
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    return LoginResult(LoginOutcome.OK, user=user)


def _device_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_DEVICE_SALT)


def _account_tag(email: str) -> str:
    return hashlib.sha256(normalize_email(email).encode("utf-8")).hexdigest()[:32]


def device_cookie(email: str, secret_key: str, nonce: str | None = None) -> tuple[str, str]:
    """A signed trusted-device cookie value for the account, and its nonce (new unless given)."""
    nonce = nonce or secrets.token_urlsafe(16)
    value = _device_serializer(secret_key).dumps({"a": _account_tag(email), "n": nonce})
    return value, nonce


def trusted_device(cookie: str | None, email: str, secret_key: str) -> str | None:
    """The nonce of a valid trusted-device cookie for this account, else None."""
    if not cookie or len(cookie) > 400:
        return None
    try:
        data = _device_serializer(secret_key).loads(
            cookie, max_age=int(DEVICE_COOKIE_MAX_AGE.total_seconds())
        )
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("a") != _account_tag(email):
        return None
    nonce = data.get("n")
    return nonce if isinstance(nonce, str) and 0 < len(nonce) <= 64 else None


class PasswordChange(enum.Enum):
    """How a password change ended."""

    CHANGED = "changed"
    WRONG = "wrong"  # the current password was not right
    THROTTLED = "throttled"


def change_password(
    user: User, current: str, new: str, now: datetime
) -> tuple[PasswordChange, timedelta | None]:
    """Replace the password when ``current`` is right; ends every other session.

    At most :data:`PASSWORD_CHANGE_LIMIT` wrong current passwords per account
    are checked; then the answer is THROTTLED with the wait, without checking.
    """
    key = f"password:user:{user.id}"
    throttle.serialize([key])
    wait = throttle.blocked_for([key], PASSWORD_CHANGE_LIMIT, now)
    if wait is not None:
        return PasswordChange.THROTTLED, wait
    if not verify_password(user.password_hash, current):
        throttle.record([key], now)
        return PasswordChange.WRONG, None
    throttle.clear([key])
    user.password_hash = hash_password(new)
    end_all_sessions(user.id)
    for membership in user.memberships:
        audit.record("password_changed", actor=user, organization_id=membership.organization_id)
    db.session.flush()
    return PasswordChange.CHANGED, None


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


def log_in(user: User, now: datetime, remote_addr: str | None, *, method: str = "") -> str:
    """Start a session for a user whose password (or sign-in) was checked, audited.

    ``method`` names a sign-in other than the password (e.g. the single
    sign-on issuer) in the audit entries. Returns the session id.
    """
    session_id = start_session(user, now)
    for membership in user.memberships:
        audit.record(
            "login",
            actor=user,
            organization_id=membership.organization_id,
            remote_addr=remote_addr,
            detail=method,
        )
    db.session.flush()
    return session_id


def record_failed_login(email: str, remote_addr: str | None) -> None:
    """Audit a failed login (under each organization of the account, if there is one)."""
    user = find_user(email)
    orgs = [m.organization_id for m in user.memberships] if user else [None]
    for organization_id in orgs:
        audit.record(
            "login_failed",
            actor_label=normalize_email(email)[:320],
            organization_id=organization_id,
            remote_addr=remote_addr,
        )
    db.session.flush()


def log_out(session_id: str | None, user: User | None) -> None:
    """End a session, audited when the user is known."""
    end_session(session_id)
    if user is not None:
        for membership in user.memberships:
            audit.record("logout", actor=user, organization_id=membership.organization_id)
    db.session.flush()


def end_session(session_id: str | None) -> None:
    """Delete a session so its cookie no longer works."""
    if session_id:
        db.session.execute(delete(AuthSession).where(AuthSession.id_hash == hash_token(session_id)))
