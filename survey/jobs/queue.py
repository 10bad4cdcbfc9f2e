"""Which Huey queue a deployment uses, chosen by one URL (``NEGOSCOPE_JOBS_URL``).

=================================  ==============================================
(unset)                            SQLite file ``instance/jobs.sqlite3`` (one host)
``sqlite:////path/jobs.sqlite3``   SQLite file at that path
``redis://host:6379/0``            Redis (``rediss://`` for TLS): several hosts
``postgresql://user@host/db``      PostgreSQL (Huey's tables ``huey_*``)
``immediate:``                     run each job at once, in the caller (tests)
=================================  ==============================================
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey

QUEUE_NAME = "negoscope"
DEFAULT_FILE = "jobs.sqlite3"


def make_huey(url: str | None, instance_path: str) -> Huey:
    """A Huey instance for ``url`` (see the module docstring); ValueError names a bad URL."""
    url = (url or "").strip()
    if not url:
        return SqliteHuey(QUEUE_NAME, filename=os.path.join(instance_path, DEFAULT_FILE))
    scheme = urlsplit(url).scheme.lower()
    if scheme == "immediate":
        return Huey(QUEUE_NAME, immediate=True)
    if scheme == "sqlite":
        path = url.split("://", 1)[1][1:] if "://" in url else ""
        if not path:
            raise ValueError(
                "NEGOSCOPE_JOBS_URL sqlite:/// needs a file, e.g. sqlite:////srv/jobs.db"
            )
        return SqliteHuey(QUEUE_NAME, filename=path)
    if scheme in ("redis", "rediss", "unix"):
        return RedisHuey(QUEUE_NAME, url=url)
    if scheme.startswith("postgres"):
        # SQLAlchemy's driver suffix (postgresql+psycopg://) means nothing to psycopg.
        return PostgresHuey(QUEUE_NAME, dsn="postgresql://" + url.split("://", 1)[1])
    raise ValueError(
        f"NEGOSCOPE_JOBS_URL must start with redis://, rediss://, postgresql://, sqlite:/// or "
        f"immediate: (got {scheme + '://' if scheme else 'no scheme'})"
    )
