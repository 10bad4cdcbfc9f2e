"""The anonymity ledger: which figures each staff user (or the CLI) has been shown.

Every team result shown (dashboard, PDF report, ``analyze``, ``--assignments``)
and every export is recorded once per actor, round snapshot, group and kind,
with a SHA-256 of the figures. Admins read it on the organization's privacy
page; exports use it to refuse a new export that differs from an earlier one by
fewer than the anonymity threshold.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from survey.database import IMMEDIATE_OPTION
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import DISCLOSURE_KINDS, Disclosure, SurveyRound, User

__all__ = ["Shown", "entries", "figures_hash", "last_export", "record", "record_now"]

_SEEN: set[tuple[object, ...]] = set()
_SEEN_LOCK = threading.Lock()
_MAX_SEEN = 50_000


def figures_hash(figures: str | bytes) -> str:
    """SHA-256 hex digest of the figures shown (text is hashed as UTF-8)."""
    data = figures.encode("utf-8") if isinstance(figures, str) else figures
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Shown:
    """One set of figures shown: what :func:`record` writes."""

    kind: str
    survey_round: SurveyRound
    snapshot_id: int
    group: str
    n: int
    figures: str | bytes


def _values(shown: Shown, user: User | None, actor: str | None) -> dict[str, object]:
    if shown.kind not in DISCLOSURE_KINDS:
        raise ValueError(f"unknown disclosure kind {shown.kind!r}")
    return {
        "organization_id": shown.survey_round.organization_id,
        "round_id": shown.survey_round.id,
        "user_id": user.id if user is not None else None,
        "actor": user.email if user is not None else (actor or "command line"),
        "kind": shown.kind,
        "snapshot_id": shown.snapshot_id,
        "group_name": shown.group[:200],
        "n": shown.n,
        "figures_hash": figures_hash(shown.figures),
        "created_at": utcnow(),
    }


def record(shown: Shown, *, user: User | None = None, actor: str | None = None) -> None:
    """Add an entry in the caller's transaction, unless the same one exists; flushes."""
    values = _values(shown, user, actor)
    if not _exists(values):
        db.session.execute(insert(Disclosure).values(**values))
        db.session.flush()


def record_now(shown: Shown, *, user: User | None = None) -> None:
    """Add an entry in a short transaction of its own (for pages that only read).

    Repeated views of the same figures by the same user write nothing: the
    entry is looked up first (and remembered in the process).
    """
    values = _values(shown, user, None)
    key = tuple(values[k] for k in ("round_id", "user_id", "kind", "snapshot_id", "group_name"))
    key += (values["figures_hash"], db.engine.url.render_as_string(hide_password=True))
    with _SEEN_LOCK:
        if key in _SEEN:
            return
    if not _exists(values):
        with db.engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE_OPTION: True})
            with conn.begin():
                conn.execute(insert(Disclosure).values(**values))
    with _SEEN_LOCK:
        if len(_SEEN) > _MAX_SEEN:
            _SEEN.clear()
        _SEEN.add(key)


def _exists(values: dict[str, object]) -> bool:
    user_id = values["user_id"]
    return (
        db.session.scalar(
            select(Disclosure.id)
            .where(
                Disclosure.round_id == values["round_id"],
                Disclosure.kind == values["kind"],
                Disclosure.snapshot_id == values["snapshot_id"],
                Disclosure.group_name == values["group_name"],
                Disclosure.figures_hash == values["figures_hash"],
                Disclosure.actor == values["actor"],
                Disclosure.user_id.is_(None) if user_id is None else Disclosure.user_id == user_id,
            )
            .limit(1)
        )
        is not None
    )


def last_export(survey_round: SurveyRound) -> Disclosure | None:
    """The latest export of the round by anyone, if any."""
    return db.session.scalars(
        select(Disclosure)
        .where(Disclosure.round_id == survey_round.id, Disclosure.kind == "export")
        .order_by(Disclosure.id.desc())
        .limit(1)
    ).first()


def entries(
    organization_id: int,
    *,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[tuple[Disclosure, str]]:
    """The organization's ledger, newest first, each entry with its round's name."""
    query = (
        select(Disclosure, SurveyRound.name)
        .join(SurveyRound, SurveyRound.id == Disclosure.round_id)
        .where(Disclosure.organization_id == organization_id)
        .order_by(Disclosure.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if since is not None:
        query = query.where(Disclosure.created_at >= since)
    return [(row[0], row[1]) for row in db.session.execute(query)]
