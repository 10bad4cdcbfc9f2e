"""Invitation tokens: 256 random bits, only a hash stored."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> tuple[str, str]:
    """A fresh URL-safe token and the hash to store for it."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in place of a token.

    A plain hash is enough: the token carries 256 bits of entropy, so it cannot
    be guessed from its hash, and lookups by hash stay a single index probe.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    """Cheap shape check before touching the database."""
    return 20 <= len(value) <= 100 and all(c.isalnum() or c in "-_" for c in value)
