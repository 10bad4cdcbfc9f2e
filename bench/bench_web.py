"""Survey page saves and whole respondent flows under load, on SQLite and on PostgreSQL.

For each database, one gunicorn server (:data:`WORKERS` sync workers, the app
with its benchmark routes) serves three closed-loop workloads of
:data:`CLIENTS` concurrent clients, interleaved run by run:

* **baseline**: ``POST /bench/insert``, one single-row insert and commit with
  the app's engine settings (see :mod:`survey.web.bench_routes`);
* **page save**: each client holds a respondent session (invitation opened,
  consent given, CSRF token from the page) and posts one page of answers after
  another through the real form, CSRF included, cycling through the pages with
  alternating values so that every save changes stored answers; a save counts
  when it answers 302 to the next page;
* **full flow**: :data:`FLOW_RESPONDENTS` fresh respondents per run driven from
  the invitation link through consent, every page (GET and POST) and the
  review page to the submit that redirects to the thank-you page, by
  :func:`bench.load_submit.drive`; afterwards :func:`bench.load_submit.check`
  confirms that stored submissions equal confirmed submits.

The CPU time of the gunicorn workers and of this (client) process is read from
``/proc`` around each run, so a result can be told to be CPU-bound (both
together near ``cores x wall time``) or bound by something else.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.bench_postgres import postgres_server
from bench.bench_server import BenchGunicorn, LoadRun, closed_loop
from bench.common import (
    Context,
    Result,
    Section,
    fmt,
    fsync_rate,
    machine_cpu,
    median,
    repeat,
    sqlite_url,
    work_dir,
)
from bench.load_submit import RunStats, Verdict, check, drive, throwaway_postgres
from tests.survey.live_server import (
    Browser,
    LiveServer,
    Reply,
    expect,
    migrate,
    seed,
)
from tests.survey.respond_helpers import PAGES, page_values

WORKERS = 4
CLIENTS = 16
SEGMENT_SECONDS = 5.0
WARMUP_SECONDS = 1.0
FLOW_RESPONDENTS = 48
FLOW_MAX_SECONDS = 60.0
BUDGET_SECONDS = 90.0  # per database, after start-up
SAVE_RATIO_TARGET = 0.7
P99_TARGET_MS = 100.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FSYNC_SECONDS = 0.5
SINGLE_CLIENT_SECONDS = 3.0
FLOW_REQUESTS = 5 + 2 * len(PAGES)


class PageSaver:
    """One respondent's browser posting page after page of answers (CSRF included)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.browser = Browser(base_url, timeout=30.0)
        expect(self.browser.get(f"/s/{token}"), 302, "/survey")
        landing = expect(self.browser.get("/survey"), 200)
        started = self.browser.post("/survey/start", {"csrf_token": landing.csrf(), "consent": "y"})
        expect(started, 302, "/survey/page/1")
        self.csrf = expect(self.browser.get("/survey/page/1"), 200).csrf()
        self.saves = 0

    def __call__(self) -> Reply:
        number = self.saves % len(PAGES) + 1
        value = "3" if (self.saves // len(PAGES)) % 2 else "4"
        self.saves += 1
        data = {"csrf_token": self.csrf, "nav": "next", **page_values(number, value)}
        return self.browser.post(f"/survey/page/{number}", data)


def saved(reply: Reply) -> bool:
    """A page save answers 302 to the next page, or to the review after the last."""
    return reply.status == 302 and (
        reply.location == "/survey/review" or (reply.location or "").startswith("/survey/page/")
    )


def inserted(reply: Reply) -> bool:
    return reply.status == 204


def inserter(base_url: str) -> Callable[[], Reply]:
    browser = Browser(base_url, timeout=30.0)
    return lambda: browser.post("/bench/insert", {})


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of live processes (from ``/proc``)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


@dataclass
class Measured:
    """A load run with the CPU it cost the server workers and the client process."""

    load: LoadRun
    server_cpu: float
    client_cpu: float
    machine_busy: float  # share of all cores busy (any process) during the run

    def load_cpu_ms(self) -> float:
        """Worker CPU seconds per successful request."""
        return self.server_cpu / max(1, self.load.ok)

    def cpu_share(self) -> float:
        """(server + client CPU) / (cores x wall): near 1 means every core was busy."""
        return (self.server_cpu + self.client_cpu) / ((os.cpu_count() or 1) * self.load.seconds)


def measured(server: BenchGunicorn, run: Callable[[], LoadRun]) -> Measured:
    workers = server.worker_pids()
    server_before, client_before = cpu_seconds(workers), time.process_time()
    busy_before, total_before = machine_cpu()
    load = run()
    busy_after, total_after = machine_cpu()
    return Measured(
        load,
        cpu_seconds(workers) - server_before,
        time.process_time() - client_before,
        (busy_after - busy_before) / max(1e-9, total_after - total_before),
    )


@dataclass
class RoundOfRuns:
    baseline: Measured
    save: Measured
    flow: RunStats
    flow_seconds: float
    verdict: Verdict
    fsyncs: tuple[float, float] | None  # fsyncs/s just before and after (SQLite only)


def run(ctx: Context) -> Section:
    """Measure both databases (PostgreSQL skipped with a reason when unavailable)."""
    section = Section("Survey page save and full respondent flow (gunicorn, 16 clients)")
    with work_dir("web") as folder:
        label = "SQLite WAL, synchronous=FULL"
        _measure_backend(ctx, section, label, sqlite_url(folder / "web.sqlite3"), folder)
    if not ctx.postgres:
        _not_measured(section, "PostgreSQL", "PostgreSQL skipped (--no-postgres)")
        return section
    with postgres_server() as server:
        if server.admin_url is None:
            _not_measured(section, "PostgreSQL", server.description)
            return section
        section.notes.append(f"PostgreSQL: {server.description}.")
        with throwaway_postgres(server.admin_url) as url:
            _measure_backend(ctx, section, "PostgreSQL", url)
    return section


def _not_measured(section: Section, backend: str, reason: str) -> None:
    for benchmark, measure in (
        (f"page save, {backend}", "requests/s"),
        (f"page save, {backend}", "p99 latency"),
        (f"full respondent flow, {backend}", "completed surveys/s"),
    ):
        section.results.append(Result(benchmark, measure, "", missing=reason))


def _measure_backend(
    ctx: Context, section: Section, backend: str, url: str, disk: Path | None = None
) -> None:
    """Measure one database; ``disk``: its folder, whose fsync rate is measured around runs."""
    from survey.web.bench_routes import create_table

    ctx.log(f"  {backend}: migrating and seeding ...")
    migrate(url)
    engine = sa.create_engine(url)
    try:
        create_table(engine)
    finally:
        engine.dispose()
    page_seed = seed(url, CLIENTS)
    flow_seeds = [seed(url, FLOW_RESPONDENTS) for _ in range(max(1, ctx.runs))]
    args = argparse.Namespace(
        concurrency=CLIENTS, max_seconds=FLOW_MAX_SECONDS, kill_worker=False, workers=WORKERS
    )
    with BenchGunicorn(url, workers=WORKERS) as server:
        savers = [PageSaver(server.base_url, token) for token in page_seed.tokens]
        inserters = [inserter(server.base_url) for _ in range(CLIENTS)]
        closed_loop(inserters, inserted, WARMUP_SECONDS)
        closed_loop(savers, saved, WARMUP_SECONDS)

        def one(index: int) -> RoundOfRuns:
            ctx.log(f"  {backend}: run {index + 1}")
            segment = ctx.budget(SEGMENT_SECONDS) if ctx.budget_scale < 1 else SEGMENT_SECONDS

            def base() -> Measured:
                return measured(server, lambda: closed_loop(inserters, inserted, segment))

            def save() -> Measured:
                return measured(server, lambda: closed_loop(savers, saved, segment))

            before = fsync_rate(disk, FSYNC_SECONDS) if disk else None
            if index % 2:
                saving, baseline = save(), base()
            else:
                baseline, saving = base(), save()
            fsyncs = (before, fsync_rate(disk, FSYNC_SECONDS)) if disk and before else None
            live = LiveServer.seeded(server, url, flow_seeds[index])
            started = time.monotonic()
            stats, invitations = drive(live, args, backend)
            flow_seconds = time.monotonic() - started
            verdict = check(live, stats, invitations)
            return RoundOfRuns(baseline, saving, stats, flow_seconds, verdict, fsyncs)

        rounds = repeat(one, runs=ctx.runs, budget=ctx.budget(BUDGET_SECONDS), log=ctx.log)
        # Does adding clients add throughput? One client alone, for comparison.
        single = measured(server, lambda: closed_loop(savers[:1], saved, SINGLE_CLIENT_SECONDS))
    _results(section, backend, rounds, ctx, single)


def _results(
    section: Section, backend: str, rounds: list[RoundOfRuns], ctx: Context, single: Measured
) -> None:
    base_rps = [r.baseline.load.per_second for r in rounds]
    save_rps = [r.save.load.per_second for r in rounds]
    save_p99 = [r.save.load.latency(0.99) * 1000 for r in rounds]
    base_p99 = [r.baseline.load.latency(0.99) * 1000 for r in rounds]
    completed = [sum(o.confirmed for o in r.flow.outcomes) for r in rounds]
    surveys = [c / r.flow.seconds for c, r in zip(completed, rounds, strict=True)]
    ratio = median(save_rps) / median(base_rps) if median(base_rps) else 0.0
    baseline_name = "POST /bench/insert (1-row insert), same server"
    section.results += [
        Result(
            f"page save, {backend}",
            "requests/s",
            "req/s",
            save_rps,
            baseline_name,
            base_rps,
            target=f">= {SAVE_RATIO_TARGET} x baseline",
            met=ratio >= SAVE_RATIO_TARGET,
        ),
        Result(
            f"page save, {backend}",
            "p99 latency",
            "ms",
            save_p99,
            baseline_name,
            base_p99,
            target=f"p99 < {P99_TARGET_MS:.0f} ms",
            met=median(save_p99) < P99_TARGET_MS,
        ),
        Result(
            f"full respondent flow, {backend}",
            "completed surveys/s",
            "surveys/s",
            surveys,
            baseline_name,
            base_rps,
            baseline_unit="req/s",
            target="measured and reported",
        ),
    ]
    failures = sum(r.save.load.failed + r.baseline.load.failed for r in rounds)
    first = next(
        (
            r.save.load.first_failure or r.baseline.load.first_failure
            for r in rounds
            if r.save.load.first_failure or r.baseline.load.first_failure
        ),
        None,
    )
    verdicts = [r.verdict for r in rounds]
    lines = [
        f"**{backend}** ({len(rounds)} runs; {WORKERS} gunicorn sync workers; "
        f"{CLIENTS} clients in this process; {SEGMENT_SECONDS:.0f} s per load segment). A "
        f"survey is {FLOW_REQUESTS} requests: invitation link, landing, consent, GET and POST "
        f"of each of the {len(PAGES)} pages, review, submit (answered by a redirect to the "
        "thank-you page, which is not fetched).",
        "",
        "| run | baseline req/s | p50 / p99 ms | page saves/s | p50 / p99 ms | "
        "CPU ms per save (server) | CPU ms per insert (server) | cores busy: ours, save / insert "
        "| cores busy: machine, save / insert | surveys/s | requests per survey |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rounds, 1):
        b, s = r.baseline, r.save
        per_survey = len(r.flow.samples) / max(1, sum(o.confirmed for o in r.flow.outcomes))
        lines.append(
            f"| {i} | {b.load.per_second:.0f} | {b.load.latency(0.5) * 1000:.1f} / "
            f"{b.load.latency(0.99) * 1000:.1f} | {s.load.per_second:.0f} | "
            f"{s.load.latency(0.5) * 1000:.1f} / {s.load.latency(0.99) * 1000:.1f} | "
            f"{1000 * s.server_cpu / max(1, s.load.ok):.1f} | "
            f"{1000 * b.server_cpu / max(1, b.load.ok):.1f} | "
            f"{s.cpu_share():.0%} / {b.cpu_share():.0%} | "
            f"{s.machine_busy:.0%} / {b.machine_busy:.0%} | "
            f"{surveys[i - 1]:.2f} | {per_survey:.1f} |"
        )
    lines += [
        "",
        f"- Failed requests (wrong status or connection error): {failures}"
        + (f"; first: `{first}`" if first else "")
        + ".",
        "- Flow check after each run (bench/load_submit.py `check`): "
        + "; ".join(
            f"stored {v.stored} = confirmed {v.confirmed}, doubled {v.doubled}, lost {v.lost}"
            for v in verdicts
        )
        + (" — **PASS**" if all(v.ok for v in verdicts) else " — **FAIL**"),
    ]
    cpu_save = median([1000 * r.save.load_cpu_ms() for r in rounds])
    cpu_insert = median([1000 * r.baseline.load_cpu_ms() for r in rounds])
    ours = median([r.save.cpu_share() for r in rounds])
    machine = median([r.save.machine_busy for r in rounds])
    if machine >= 0.9:
        verdict = (
            f"the machine's cores were saturated ({machine:.0%} busy), "
            f"{max(0.0, machine - ours):.0%} of them by processes other than the workers "
            "and clients (other users of this shared machine"
            + (", and the PostgreSQL server" if "PostgreSQL" in backend else "")
            + "): the runs were CPU-bound."
        )
    else:
        verdict = (
            f"the machine's cores were {machine:.0%} busy, so the workers also spent time "
            "waiting (for the database or its write lock), not only computing."
        )
    lines.append(
        f"- Worker CPU per request (median): page save {cpu_save:.1f} ms, baseline insert "
        f"{cpu_insert:.1f} ms: on CPU alone the ratio would be about "
        f"{cpu_insert / cpu_save:.2f}. During the page-save runs the workers and clients kept "
        f"{ours:.0%} of the {os.cpu_count()} cores busy and {verdict}"
    )
    lines.append(
        f"- One client alone: {single.load.per_second:.0f} page saves/s (p50 "
        f"{single.load.latency(0.5) * 1000:.1f} ms, worker CPU "
        f"{1000 * single.load_cpu_ms():.1f} ms per save, machine {single.machine_busy:.0%} "
        f"busy); {CLIENTS} clients reached {median(save_rps):.0f}/s, "
        f"{median(save_rps) / max(1e-9, single.load.per_second):.1f} times as many with "
        f"{WORKERS} workers on {os.cpu_count()} cores."
    )
    mean_floor = 1000 * CLIENTS / max(1e-9, median(save_rps))
    lines.append(
        f"- Latency under load: each of the {CLIENTS} clients sends its next request when the "
        f"last one is answered, so the mean latency is {CLIENTS} / throughput (Little's law): "
        f"{mean_floor:.0f} ms at {median(save_rps):.0f} page saves/s, and a p99 under "
        f"{P99_TARGET_MS:.0f} ms needs a mean well below that, i.e. well over "
        f"{1000 * CLIENTS / P99_TARGET_MS:.0f} saves/s. The baseline's own p99 was "
        f"{median(base_p99):.0f} ms at {median(base_rps):.0f} req/s on the same server: "
        "the p99 follows from the throughput the machine's free cores allow."
    )
    measured_fsyncs = [f for r in rounds if r.fsyncs for f in r.fsyncs]
    if measured_fsyncs:
        low, high = min(measured_fsyncs), max(measured_fsyncs)
        commits = max(median(base_rps), median(save_rps))
        lines.append(
            f"- Disk: {fmt(low)}–{fmt(high)} fsyncs/s in a 4 KiB write + fsync loop on the same "
            f"disk just before and after each run ({fmt(ctx.fsync_per_s)} at the start of "
            f"`make bench`; it varies with other users' writes). Every commit fsyncs the WAL "
            f"once: the baseline made {fmt(median(base_rps))} commits/s and page saves "
            f"{fmt(median(save_rps))}/s, so the disk's fsync rate "
            + (
                "is well above what the runs needed and is not what bounds them."
                if low > 2 * commits
                else "was at times close to (or below) the commit rate and can bound it."
            )
        )
    section.notes += [*lines, ""]
