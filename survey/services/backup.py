"""Online backup of the embedded SQLite database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """The backup could not be made."""


def backup_sqlite(
    database_url: str, out: Path, progress: Callable[[int, int], None] | None = None
) -> int:
    """Copy a live SQLite database to ``out`` with SQLite's backup API.

    The copy is consistent even while the app writes (WAL mode); it is checked
    with ``PRAGMA integrity_check`` and its page count returned.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "negoscope backup copies the embedded SQLite database; "
            "back PostgreSQL up with pg_dump (see the README)."
        )
    source_path = Path(url.database)
    if not source_path.exists():
        raise BackupError(f"There is no database at {source_path}.")
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file name.")
    out.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(out)
    try:
        source.execute("PRAGMA busy_timeout = 10000")

        def report(_status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        source.backup(target, pages=256, progress=report)
        target.execute("PRAGMA journal_mode = DELETE")
        result = target.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"The copy failed its integrity check: {result}")
        return int(target.execute("PRAGMA page_count").fetchone()[0])
    finally:
        target.close()
        source.close()
