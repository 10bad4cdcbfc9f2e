"""The app under gunicorn with the benchmark routes, and a closed-loop load generator.

:class:`BenchGunicorn` is :class:`tests.survey.live_server.Gunicorn` serving
``survey:create_app({'BENCH_ROUTES': True})``: the real app plus the baseline
route ``POST /bench/insert`` and a ``Server-Timing`` header on every response
(see :mod:`survey.web.bench_routes`). :func:`closed_loop` runs one client per
thread, each sending its next request as soon as the previous one answered,
for a fixed time, and collects throughput and latencies.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.common import percentile
from tests.survey.live_server import (
    Gunicorn,
    Reply,
)

BENCH_APP = "survey:create_app({'BENCH_ROUTES': True})"
SERVER_TIMING_RE = re.compile(r"\bapp;dur=([0-9.]+)")
GC_TIMING_RE = re.compile(r"\bgc;dur=([0-9.]+)")


class BenchGunicorn(Gunicorn):
    """A gunicorn master serving the app with ``BENCH_ROUTES`` on.

    Same start-up, readiness check and bounded shutdown as the parent class;
    only the application spec differs.
    """

    app_spec = BENCH_APP


def server_ms(header: str | None, pattern: re.Pattern[str] = SERVER_TIMING_RE) -> float | None:
    """Milliseconds of one metric in a ``Server-Timing`` header value (``app`` by default).

    Examples
    --------
    >>> server_ms("app;dur=12.50, gc;dur=0.10"), server_ms("app;dur=1, gc;dur=0.10", GC_TIMING_RE)
    (12.5, 0.1)
    """
    if not header:
        return None
    match = pattern.search(header)
    return float(match.group(1)) if match else None


@dataclass(frozen=True)
class TimedReply:
    """A GET's status, loopback seconds, server and garbage-collection ms, body size."""

    status: int
    seconds: float
    server_ms: float | None
    gc_ms: float | None
    size: int


def timed_get(base_url: str, path: str, cookie: str, timeout: float = 60.0) -> TimedReply:
    """GET ``path`` with a ``Cookie`` header, timed on the client and by the server."""
    host, port = base_url.removeprefix("http://").split(":")
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        headers = {"Host": f"{host}:{port}", "Connection": "close"}
        if cookie:
            headers["Cookie"] = cookie
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        header = response.getheader("Server-Timing")
        status = response.status
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    return TimedReply(
        status, seconds, server_ms(header), server_ms(header, GC_TIMING_RE), len(body)
    )


@dataclass
class LoadRun:
    """One closed-loop run: successes, failures, wall time, latencies (seconds)."""

    clients: int
    seconds: float = 0.0
    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    first_failure: str | None = None

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def latency(self, fraction: float) -> float:
        return percentile(self.latencies, fraction)


Operation = Callable[[], Reply]
Check = Callable[[Reply], bool]


def closed_loop(
    operations: Sequence[Operation], check: Check, seconds: float, timeout: float = 30.0
) -> LoadRun:
    """Run each operation back-to-back in its own thread for ``seconds``.

    A request counts when ``check(reply)`` holds; a failed check or a
    connection error counts as a failure. Throughput is successes divided by
    the time until the last request (started before the deadline) finished.
    """
    run = LoadRun(len(operations))
    lock = threading.Lock()
    barrier = threading.Barrier(len(operations) + 1)
    ends: list[float] = []
    box: dict[str, float] = {}

    def client(operation: Operation) -> None:
        barrier.wait(timeout)
        latencies, ok, failed, failure = [], 0, 0, None
        while time.perf_counter() < box["deadline"]:
            started = time.perf_counter()
            try:
                reply = operation()
                good = check(reply)
                if not good and failure is None:
                    failure = f"{reply.status} {reply.location or ''} {reply.text[:200]}"
            except (OSError, http.client.HTTPException) as error:
                good = False
                failure = failure or f"{type(error).__name__}: {error}"
            if good:
                ok += 1
                latencies.append(time.perf_counter() - started)
            else:
                failed += 1
        with lock:
            ends.append(time.perf_counter())
            run.ok += ok
            run.failed += failed
            run.latencies.extend(latencies)
            run.first_failure = run.first_failure or failure

    threads = [
        threading.Thread(target=client, args=(op,), daemon=True, name=f"client-{i}")
        for i, op in enumerate(operations)
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    box["deadline"] = started + seconds
    barrier.wait(timeout)
    for thread in threads:
        thread.join(seconds + timeout + 5)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError("load clients still running after their deadline")
    run.seconds = (max(ends) if ends else time.perf_counter()) - started
    return run
