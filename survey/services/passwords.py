"""Password hashing with argon2id at or above OWASP ASVS 5.0 Appendix C."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's first recommended argon2id setting: 46 MiB, 1 iteration, 1 lane.
_HASHER = PasswordHasher(time_cost=1, memory_cost=47_104, parallelism=1, type=Type.ID)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
# A well-formed hash of a random password, verified against when the account
# does not exist so that timing does not tell whether an email is registered.
_DUMMY_HASH = _HASHER.hash("negoscope-timing-equaliser")


def hash_password(password: str) -> str:
    """The argon2id hash to store for ``password``."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; spends the same effort when there is no hash."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if password.strip() != password and not password.strip():
        return "The password cannot be only spaces."
    return None
