"""`negoscope serve` keeps answering while clients send their requests slowly (slowloris)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from survey.cli import gunicorn_arguments


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return int(response.status)


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    """gunicorn with the arguments `negoscope serve` uses: 2 workers x 8 threads."""
    port = _free_port()
    env = dict(
        os.environ,
        NEGOSCOPE_ENV="production",
        NEGOSCOPE_SECURE_COOKIES="false",
        NEGOSCOPE_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        SECRET_KEY="slow-clients-test",
    )
    args = [sys.executable, "-m", "gunicorn", *gunicorn_arguments("127.0.0.1", port, 2, 8)]
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(f"{url}/healthz", 1.0) == 200:
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError((tmp_path / "gunicorn.log").read_text()) from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=15)
    log.close()


def test_six_half_sent_requests_do_not_stall_the_server(served: str):
    host, port = served.removeprefix("http://").split(":")
    slow = []
    for _ in range(6):  # the six: more than the workers, fewer than their threads
        client = socket.create_connection((host, int(port)), timeout=5)
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        slow.append(client)
    time.sleep(0.5)  # every one of them has been accepted and is being read
    try:
        started = time.monotonic()
        assert _get(f"{served}/healthz", 5.0) == 200
        assert time.monotonic() - started < 5.0
    finally:
        for client in slow:
            client.close()
