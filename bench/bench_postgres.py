"""A PostgreSQL server for the web benchmarks: the one named in the environment, or a throwaway.

``NEGOSCOPE_BENCH_POSTGRES_URL`` (an admin URL that may create databases) is
used when set. Otherwise a cluster is created with the local PostgreSQL
binaries the way ``.ci/postgres.sh`` does (``initdb`` as the ``postgres``
user when running as root), on loopback and a free port, with default
durability settings (``fsync`` and ``synchronous_commit`` on), and removed
afterwards. Without binaries the caller gets a reason instead of a URL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENV_URL = "NEGOSCOPE_BENCH_POSTGRES_URL"
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Postgres:
    """An admin URL (None when unavailable) and what it is, or why there is none."""

    admin_url: str | None
    description: str


def _binaries() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()],
    )
    if found and (found[-1] / "initdb").exists():
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    """``command`` run as the ``postgres`` user when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """The configured server, else a throwaway cluster stopped and deleted at exit."""
    if url := os.environ.get(ENV_URL):
        yield Postgres(url, f"server from {ENV_URL}")
        return
    binaries = _binaries()
    if binaries is None:
        yield Postgres(None, f"no PostgreSQL binaries found and {ENV_URL} is not set")
        return
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        yield Postgres(None, "running as root without runuser: cannot start initdb")
        return
    folder = Path(tempfile.mkdtemp(prefix="negoscope-bench-pg-"))
    data = folder / "data"
    port = _free_port()
    pg_ctl = str(binaries / "pg_ctl")
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        initdb = [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
        _run(_as_postgres(initdb))
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        log = str(folder / "log")
        _run(_as_postgres([pg_ctl, "-D", str(data), "-l", log, "-w", "-o", options, "start"]))
        started = True
        version = _run([str(binaries / "postgres"), "--version"]).split()[2]
        yield Postgres(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
            f"throwaway PostgreSQL {version} cluster on 127.0.0.1:{port}, default settings "
            "(fsync on, synchronous_commit on)",
        )
    finally:
        if started:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                _run(_as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "stop"]))
        shutil.rmtree(folder, ignore_errors=True)


def _run(command: list[str]) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()
