"""Load test of the respondent flow against gunicorn, with an optional worker crash.

Starts ``gunicorn survey.wsgi:app`` (4 sync workers) on loopback over a fresh
SQLite WAL database (and a throw-away PostgreSQL database with ``--postgres``),
drives ``--respondents`` people through the whole questionnaire with
``--concurrency`` clients, optionally SIGKILLs one worker half-way
(``--kill-worker``), and re-sends a request that failed the way a patient user
would (every respondent request is idempotent, submit included). At the end it
checks the database: one submitted response per confirmed submit, none doubled,
none lost. Prints throughput and latency, and a markdown section; appends that
section to ``bench/RESULTS.md`` with ``--write-results``.

Run from the project root::

    .venv/bin/python -m bench.load_submit
    .venv/bin/python -m bench.load_submit --kill-worker --respondents 400 --concurrency 32
    .venv/bin/python -m bench.load_submit --postgres postgresql+psycopg://u:p@127.0.0.1/postgres

Exit status 0 when every check held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from tests.survey.live_server import (
    ALREADY_SUBMITTED,
    Browser,
    FlowError,
    LiveServer,
    answer_all_pages,
    live_server,
    scratch_postgres_database,
    stored_outcome,
    submit_survey,
)

# Kept beside RESULTS.md, which `make bench` rewrites and which embeds this file.
RESULTS_PATH = Path(__file__).with_name("LOAD_TEST.md")
RETRIES = 8  # re-sends per request before the simulated user gives up


class Stopped(Exception):
    """The run's time ran out (or it was interrupted) before this respondent finished."""


@dataclass
class Sample:
    """One HTTP attempt."""

    method: str
    path: str
    status: int | None
    seconds: float


@dataclass
class Outcome:
    """What happened to one respondent."""

    index: int
    submit_attempted: bool = False
    confirmed: bool = False
    already: bool = False
    error: str | None = None


@dataclass
class RunStats:
    """Everything measured during one run."""

    backend: str
    respondents: int
    concurrency: int
    workers: int
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    retries: int = 0
    killed: tuple[int, float] | None = None  # (pid, seconds into the run)
    workers_after: int | None = None


class BenchBrowser(Browser):
    """A patient user's browser that also stops when the run is over."""

    stop: threading.Event

    def request(self, method: str, path: str, data: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
        if self.stop.is_set() or (self.deadline is not None and time.monotonic() > self.deadline):
            raise Stopped(f"stopped before {method} {path}")
        return super().request(method, path, data)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN for no values.

    Examples
    --------
    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
    2.0
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def drive(
    live: LiveServer, args: argparse.Namespace, backend: str
) -> tuple[RunStats, dict[int, int]]:
    """Send every respondent through the flow; returns the stats and index -> invitation id."""
    stats = RunStats(backend, len(live.seed.tokens), args.concurrency, args.workers)
    stop = threading.Event()
    lock = threading.Lock()
    done = threading.Event()
    finished = [0]
    started = time.monotonic()
    deadline = started + args.max_seconds

    def record(method: str, path: str, status: int | None, seconds: float) -> None:
        stats.samples.append(Sample(method, path, status, seconds))

    def respond(index: int) -> Outcome:
        outcome = Outcome(index)
        browser = BenchBrowser(
            live.base_url,
            timeout=min(30.0, args.max_seconds),
            retries=RETRIES,
            recorder=record,
            deadline=deadline,
        )
        browser.stop = stop
        try:
            csrf = answer_all_pages(browser, live.seed.tokens[index])
            outcome.submit_attempted = True
            result = submit_survey(browser, csrf)
            outcome.confirmed = True
            outcome.already = result == ALREADY_SUBMITTED
        except (Stopped, FlowError, OSError, http.client.HTTPException) as error:
            outcome.error = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        finally:
            with lock:
                stats.retries += browser.retried
                finished[0] += 1
                if finished[0] * 2 >= stats.respondents:
                    done.set()
        return outcome

    killer = None
    if args.kill_worker:

        def kill_half_way() -> None:
            done.wait(args.max_seconds / 2)
            if stop.is_set():
                return
            pid = live.server.kill_one_worker()
            stats.killed = (pid, time.monotonic() - started)
            time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
            stats.workers_after = len(live.server.worker_pids())

        killer = threading.Thread(target=kill_half_way, name="killer", daemon=True)
        killer.start()

    executor = ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="respondent")
    try:
        futures = [executor.submit(respond, i) for i in range(stats.respondents)]
        stats.outcomes = [future.result() for future in futures]
    finally:
        stop.set()
        executor.shutdown(wait=True, cancel_futures=True)
    stats.seconds = time.monotonic() - started
    if killer is not None:
        done.set()
        killer.join(15)
    return stats, dict(enumerate(live.seed.invitation_ids))


@dataclass(frozen=True)
class Verdict:
    """The database checks after a run."""

    stored: int
    confirmed: int
    doubled: int
    lost: int
    unconfirmed_stored: int
    phantom: int
    incomplete: int

    @property
    def ok(self) -> bool:
        return not (self.doubled or self.lost or self.phantom or self.incomplete)


def check(live: LiveServer, stats: RunStats, invitations: dict[int, int]) -> Verdict:
    """Compare what the clients were told with what the database holds."""
    stored = stored_outcome(live.database_url, live.seed.round_id)
    confirmed = {invitations[o.index] for o in stats.outcomes if o.confirmed}
    attempted = {invitations[o.index] for o in stats.outcomes if o.submit_attempted}
    unconfirmed = stored.submitted_invitations - confirmed
    doubled = max(0, stored.submitted_responses - stored.submitted_invitation_count)
    if stored.max_responses_per_invitation > 1:
        doubled = max(doubled, 1)
    return Verdict(
        stored=stored.submitted_responses,
        confirmed=len(confirmed),
        doubled=doubled,
        lost=len(confirmed - stored.submitted_invitations),
        unconfirmed_stored=len(unconfirmed),  # the reply was lost, e.g. with a killed worker
        phantom=len(unconfirmed - attempted),  # stored although never submitted
        incomplete=stored.incomplete_submitted,
    )


def report(stats: RunStats, verdict: Verdict, args: argparse.Namespace) -> str:
    """The run as a markdown section."""
    ok_samples = [s for s in stats.samples if s.status is not None]
    page_saves = [
        s
        for s in ok_samples
        if s.method == "POST" and s.path.startswith("/survey/page/") and s.status == 302
    ]
    submits = [s for s in ok_samples if s.path == "/survey/submit"]
    connection_errors = sum(1 for s in stats.samples if s.status is None)
    server_errors = sum(1 for s in ok_samples if s.status >= 500)
    completed = sum(1 for o in stats.outcomes if o.confirmed)
    errors = [o.error for o in stats.outcomes if o.error]

    def ms(samples: list[Sample]) -> str:
        seconds = [s.seconds for s in samples]
        return (
            f"{percentile(seconds, 0.5) * 1000:.0f} ms / {percentile(seconds, 0.99) * 1000:.0f} ms"
        )

    killed = "no"
    if args.kill_worker:
        killed = "requested, not done (run ended first)"
        if stats.killed:
            pid, at = stats.killed
            killed = f"SIGKILL to worker {pid} at {at:.1f} s; {stats.workers_after} workers after"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Submit load test: {stats.backend}, {stamp}",
        "",
        f"- gunicorn {stats.workers} sync workers on 127.0.0.1; {stats.respondents} respondents, "
        f"{stats.concurrency} concurrent clients, limit {args.max_seconds:.0f} s",
        f"- worker kill: {killed}",
        f"- host: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| surveys completed (submit confirmed) | {completed} / {stats.respondents} |",
        f"| wall time | {stats.seconds:.1f} s |",
        f"| completed surveys/s | {completed / stats.seconds:.2f} |",
        f"| page saves/s | {len(page_saves) / stats.seconds:.1f} |",
        f"| requests | {len(stats.samples)} ({len(stats.samples) / stats.seconds:.1f}/s) |",
        f"| latency p50 / p99, all requests | {ms(ok_samples)} |",
        f"| latency p50 / p99, page saves | {ms(page_saves)} |",
        f"| latency p50 / p99, submits | {ms(submits)} |",
        f"| re-sent requests / connection errors / 5xx | "
        f"{stats.retries} / {connection_errors} / {server_errors} |",
        f"| submits answered 'already submitted' | {sum(o.already for o in stats.outcomes)} |",
        f"| stored submitted responses | {verdict.stored} |",
        f"| doubled / lost / phantom / incomplete | "
        f"{verdict.doubled} / {verdict.lost} / {verdict.phantom} / {verdict.incomplete} |",
        f"| stored but reply lost (submit unconfirmed) | {verdict.unconfirmed_stored} |",
        "",
        f"**{'PASS' if verdict.ok else 'FAIL'}**: stored submitted responses "
        f"{'==' if verdict.stored == verdict.confirmed else '!='} confirmed submits "
        f"({verdict.stored} vs {verdict.confirmed}"
        + (
            f", {verdict.unconfirmed_stored} submitted whose reply was lost"
            if verdict.unconfirmed_stored
            else ""
        )
        + ")",
    ]
    if errors:
        lines += ["", f"Respondents that did not finish: {len(errors)}; first: `{errors[0]}`"]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    """A new database on the server, dropped afterwards."""
    with scratch_postgres_database(admin_url, "negoscope_bench") as url:
        yield url


@contextlib.contextmanager
def database(backend: str, args: argparse.Namespace) -> Iterator[str]:
    """A fresh, empty database URL for ``backend``."""
    if backend == "postgresql":
        with throwaway_postgres(args.postgres) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="negoscope-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"


def run(backend: str, args: argparse.Namespace) -> tuple[str, bool]:
    """One complete run on one backend: (markdown, checks held)."""
    with (
        database(backend, args) as url,
        live_server(url, respondents=args.respondents, workers=args.workers) as live,
    ):
        print(f"[{backend}] serving {live.base_url}, driving {args.respondents} respondents")
        stats, invitations = drive(live, args, backend)
        verdict = check(live, stats, invitations)
    return report(stats, verdict, args), verdict.ok


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=200, help="people to drive (200)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument(
        "--max-seconds", type=float, default=120.0, help="stop driving after this long (120)"
    )
    parser.add_argument(
        "--kill-worker", action="store_true", help="SIGKILL one gunicorn worker half-way"
    )
    parser.add_argument(
        "--postgres", metavar="ADMIN_URL", help="also run on a throw-away database on this server"
    )
    parser.add_argument(
        "--write-results",
        action="store_true",
        help=f"write the report to bench/{RESULTS_PATH.name} (embedded in RESULTS.md)",
    )
    args = parser.parse_args(argv)
    if args.respondents < 1 or args.concurrency < 1 or args.workers < 1 or args.max_seconds <= 0:
        parser.error("--respondents, --concurrency, --workers and --max-seconds must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on each backend; 0 when every check held."""
    args = parse_args(argv)
    # A TERM ends the run through the normal exits, so gunicorn is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    all_ok = True
    sections = []
    for backend in backends:
        section, ok = run(backend, args)
        all_ok = all_ok and ok
        print(section)
        sections.append(section)
    if args.write_results:
        command = "python -m bench.load_submit " + " ".join(argv or sys.argv[1:])
        RESULTS_PATH.write_text(
            f"Run by hand with `{command.strip()}`.\n\n" + "\n".join(sections) + "\n",
            encoding="utf-8",
        )
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
