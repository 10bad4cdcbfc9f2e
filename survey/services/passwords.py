"""Password hashing with argon2id at or above OWASP ASVS 5.0 Appendix C."""

from __future__ import annotations

import functools
import gzip
import re
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's first recommended argon2id setting: 46 MiB, 1 iteration, 1 lane.
_HASHER = PasswordHasher(time_cost=1, memory_cost=47_104, parallelism=1, type=Type.ID)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
# A well-formed hash of a random password, verified against when the account
# does not exist so that timing does not tell whether an email is registered.
_DUMMY_HASH = _HASHER.hash("negoscope-timing-equaliser")
# Stored for an invited account until its owner sets a password: matches nothing.
UNUSABLE_PASSWORD = "!unset"


def hash_password(password: str) -> str:
    """The argon2id hash to store for ``password``."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; spends the same effort when there is no hash."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def has_usable_password(stored_hash: str | None) -> bool:
    """Whether the stored value is a real password hash (not :data:`UNUSABLE_PASSWORD`)."""
    return bool(stored_hash) and stored_hash.startswith("$argon2")


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored_hash)


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a new password is not acceptable, or None.

    Beyond the length rules (12 to 256 characters, not only spaces), a
    password is refused when it is one of the 20,000 most common passwords
    (:func:`common_passwords`, shipped with the package: no network), one of
    them with digits or symbols added at either end, or one of them repeated;
    when it is one character or group of characters repeated (``aaaaaaaaaaaa``,
    ``abcabcabcabc``), a run along the alphabet, the digits or a keyboard row
    (``abcdefghijkl``, ``qwertyuiopas``), or has fewer than
    :data:`MIN_DISTINCT_CHARACTERS` different characters; or when it contains
    the name part of the account's email or the product's name.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if not password.strip():
        return "The password cannot be only spaces."
    folded = password.casefold()
    if len(set(folded)) < MIN_DISTINCT_CHARACTERS:
        return f"Use at least {MIN_DISTINCT_CHARACTERS} different characters."
    if _REPEATED.fullmatch(folded):
        return "The password repeats the same characters over and over; choose another."
    if _is_run(folded):
        return "The password is a run along the alphabet, the digits or the keyboard."
    if _is_common(folded):
        return "This password is one of the most common passwords; choose another."
    context = ["negoscope"]
    if email and len(local := email.split("@", 1)[0].casefold()) >= 4:
        context.append(local)
    if any(word in folded for word in context):
        return "The password must not contain your email address or the product's name."
    return None


MIN_DISTINCT_CHARACTERS = 5
_REPEATED = re.compile(r"(.{1,6}?)\1+", re.DOTALL)
_RUNS = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def _is_run(folded: str) -> bool:
    """A stretch of a sequence (either way), possibly repeated: abcdefghijkl, 987654321098."""
    text = folded.replace(" ", "")
    for run in _RUNS:
        cycle = run * (len(text) // len(run) + 2)
        if text in cycle or text in cycle[::-1]:
            return True
    return False


def _is_common(folded: str) -> bool:
    """A common password, one with digits or symbols around it, or one repeated."""
    common = common_passwords()
    if folded in common:
        return True
    core = _ENDS.sub("", folded)
    if len(core) >= 4 and core in common:
        return True
    unit = _REPEATED.fullmatch(folded) or re.fullmatch(r"(.+?)\1+", folded)
    return unit is not None and unit.group(1) in common


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common-password list shipped in ``survey/data`` (see its LICENSE file), folded."""
    path = resources.files("survey").joinpath("data/common-passwords.txt.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().casefold() for line in lines if line.strip())
