"""Attempt throttling stored in the database, shared by every worker and host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text

from survey.extensions import db
from survey.models import ThrottleEvent


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` counted events per ``window`` under one key."""

    attempts: int
    window: timedelta


def serialize(keys: list[str]) -> None:
    """Make concurrent attempts under the same keys take turns until commit.

    Counting and recording must not interleave, or parallel attempts all see
    a count under the limit. SQLite already serializes writers (the caller
    holds ``BEGIN IMMEDIATE``); PostgreSQL takes a transaction-scoped advisory
    lock per key, in a fixed order so two requests cannot deadlock.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


def blocked_for(keys: list[str], limit: Limit, now: datetime) -> timedelta | None:
    """How long until one more attempt is allowed under every key; None if allowed now."""
    since = now - limit.window
    waits = []
    for key in keys:
        count, oldest = db.session.execute(
            select(func.count(), func.min(ThrottleEvent.at)).where(
                ThrottleEvent.key == key, ThrottleEvent.at > since
            )
        ).one()
        if count >= limit.attempts and oldest is not None:
            waits.append(oldest + limit.window - now)
    return max(waits) if waits else None


def record(keys: list[str], now: datetime) -> None:
    """Count one attempt under each key."""
    db.session.add_all(ThrottleEvent(key=key, at=now) for key in keys)
    db.session.flush()


def clear(keys: list[str]) -> None:
    """Forget the attempts under these keys (after a successful login)."""
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.key.in_(keys)))


def prune(older_than: datetime) -> None:
    """Drop events too old to matter."""
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.at < older_than))
