"""A fingerprint of the analytics code itself, for caches of its results.

A stored analysis is valid for a set of responses *and* the code that computed
it: after an upgrade that changes scoring, profiling or diagnosis, results
cached by the older code must be recomputed, not served.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def code_version() -> str:
    """SHA-256 (hex) over the analytics package's Python sources and data files.

    Examples
    --------
    >>> len(code_version())
    64
    >>> code_version() == code_version()
    True
    """
    digest = hashlib.sha256()
    files = sorted(
        path
        for pattern in ("*.py", "*.yaml")
        for path in PACKAGE_DIR.rglob(pattern)
        if "__pycache__" not in path.parts
    )
    for path in files:
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
