"""API tokens: made on an admin page (shown once), stored hashed, scoped, revocable.

A token is ``ngs_`` followed by 256 random bits (URL-safe base64); only its
SHA-256 is stored, as for invitation links (:mod:`survey.services.tokens`), so
a lookup is one index probe and a leaked database gives no usable token.
Making and revoking a token is audited; so is every write made with one (the
API records ``api_write`` before the change it makes, in the same transaction).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from survey.extensions import db
from survey.models import API_SCOPES, ApiToken, Organization, User
from survey.services import audit
from survey.services.tokens import hash_token

TOKEN_PREFIX = "ngs_"
TOKEN_BYTES = 32
# last_used_at is written at most this often per token, so reads do not each take the write lock.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_NAME = 100


class TokenProblem(ValueError):
    """A token cannot be made as asked (the message says why)."""


def create_token(
    org: Organization, name: str, scope: str, *, actor: User | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token of the organization and its text, which is shown once and never stored."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise TokenProblem(f"Give the token a name of 1 to {MAX_NAME} characters.")
    if scope not in API_SCOPES:
        raise TokenProblem(f"The scope must be one of {', '.join(API_SCOPES)}.")
    text = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        organization_id=org.id,
        name=name,
        scope=scope,
        token_hash=hash_token(text),
        prefix=text[: len(TOKEN_PREFIX) + 4],
        created_at=now,
        created_by=actor.email if actor is not None else "",
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api_token_created",
        actor=actor,
        organization_id=org.id,
        target=token.label,
        detail=f"scope {scope}",
    )
    return token, text


def revoke_token(token: ApiToken, *, actor: User | None, now: datetime) -> bool:
    """Stop the token working at once; False when it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    audit.record(
        "api_token_revoked", actor=actor, organization_id=token.organization_id, target=token.label
    )
    db.session.flush()
    return True


def tokens_of(org: Organization) -> list[ApiToken]:
    """The organization's tokens, newest first (revoked ones too, marked so)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.organization_id == org.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def token_of(org: Organization, token_id: int) -> ApiToken | None:
    """One of the organization's tokens by id."""
    token = db.session.get(ApiToken, token_id)
    return token if token is not None and token.organization_id == org.id else None


def authenticate(text: str) -> ApiToken | None:
    """The live token with this text, or None (unknown, malformed or revoked)."""
    if not looks_like_api_token(text):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(text)))
    if token is None or token.revoked_at is not None:
        return None
    return token


def looks_like_api_token(text: str) -> bool:
    """Cheap shape check before touching the database."""
    body = text[len(TOKEN_PREFIX) :]
    return (
        text.startswith(TOKEN_PREFIX)
        and 40 <= len(body) <= 64
        and all(c.isalnum() or c in "-_" for c in body)
    )


def needs_touch(token: ApiToken, now: datetime) -> bool:
    """Whether :func:`touch` would write (last use unknown or older than the resolution)."""
    return token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION


def touch(token_id: int, now: datetime) -> None:
    """Record the token's last use in a short transaction of its own (reads write nothing else)."""
    from survey.database import IMMEDIATE_OPTION

    with db.engine.connect() as conn:
        conn = conn.execution_options(**{IMMEDIATE_OPTION: True})
        with conn.begin():
            conn.execute(
                update(ApiToken)
                .where(
                    ApiToken.id == token_id,
                    (ApiToken.last_used_at.is_(None))
                    | (ApiToken.last_used_at <= now - LAST_USED_RESOLUTION),
                )
                .values(last_used_at=now)
            )


def record_write(token: ApiToken, method: str, path: str) -> None:
    """Audit a write made with the token, in the caller's transaction."""
    audit.record(
        "api_write",
        actor_label=token.label,
        organization_id=token.organization_id,
        target=f"{method} {path}"[:400],
        detail=f"scope {token.scope}",
    )
