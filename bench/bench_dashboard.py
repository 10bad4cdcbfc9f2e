"""A coach's team dashboard in the 100,000-respondent database, first and cached view.

A copy of the built database (round already analysed and stored in
``round_analyses``, see :mod:`bench.bench_data`) is served by gunicorn with
one sync worker, so that "this worker has seen this before" is well defined.
An admin of the organization (``negoscope create-user --role admin``) logs in
through the login form (CSRF included). Definitions:

* a **view** is the dashboard page ``/coach/teams/<team>/rounds/<round>/`` and
  its four chart SVGs (blockers, spread, pillars, practices), requested one
  after another as listed in the page;
* **first view** of a team: the round's analysis is already in the worker's
  memory (a view of another team came first), this team's page and charts
  were never rendered;
* **cached view**: the same team viewed again;
* **fresh-worker view**: the first view served by a new worker, which loads
  the stored analysis from the database.

Times are measured twice: on the client over loopback (connection, request,
whole body), and as server time from the ``Server-Timing`` header that the
benchmark routes add (Flask's request start to finish). The baseline is
``GET /healthz`` on the same server, measured the same two ways.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bench.bench_server import BenchGunicorn, timed_get
from bench.common import (
    Context,
    Result,
    Section,
    cli_environment,
    median,
    negoscope_command,
    repeat,
    run_process,
    sqlite_checkpoint,
    sqlite_url,
    work_dir,
)
from tests.survey.live_server import Browser, expect, migrate

ADMIN_EMAIL = "bench-admin@bench.example"
CHARTS = ("blockers", "spread", "pillars", "practices")
CACHED_VIEWS = 5
HEALTHZ_REQUESTS = 20
BUDGET_SECONDS = 60.0
FIRST_VIEW_TARGET_MS = 1000.0
CACHED_VIEW_TARGET_MS = 50.0


@dataclass(frozen=True)
class Fetch:
    """One GET: loopback seconds and server milliseconds."""

    path: str
    loopback_ms: float
    server_ms: float
    gc_ms: float


@dataclass(frozen=True)
class View:
    """The page and its charts."""

    fetches: tuple[Fetch, ...]

    @property
    def loopback_ms(self) -> float:
        return sum(f.loopback_ms for f in self.fetches)

    @property
    def server_ms(self) -> float:
        return sum(f.server_ms for f in self.fetches)

    @property
    def page(self) -> Fetch:
        return self.fetches[0]


def fetch(base_url: str, cookie: str, path: str) -> Fetch:
    """GET ``path``; RuntimeError unless 200 with a Server-Timing header."""
    reply = timed_get(base_url, path, cookie, timeout=120.0)
    if reply.status != 200 or reply.server_ms is None:
        raise RuntimeError(f"GET {path}: {reply.status} ({reply.size} bytes, no Server-Timing)")
    return Fetch(path, reply.seconds * 1000, reply.server_ms, reply.gc_ms or 0.0)


def view(base_url: str, cookie: str, team_id: int, round_id: int) -> View:
    """The dashboard page of a team, then its four charts."""
    page = f"/coach/teams/{team_id}/rounds/{round_id}/"
    paths = [page] + [f"{page}charts/{kind}.svg" for kind in CHARTS]
    return View(tuple(fetch(base_url, cookie, path) for path in paths))


def round_and_teams(db_path: Path, org: str, round_name: str) -> tuple[int, list[int]]:
    """The round's id and its teams' ids (ordered by name)."""
    with sqlite3.connect(db_path) as conn:
        (round_id,) = conn.execute(
            "SELECT s.id FROM survey_rounds s JOIN organizations o ON o.id = s.organization_id"
            " WHERE s.name = ? AND o.name = ?",
            (round_name, org),
        ).fetchone()
        teams = [
            row[0]
            for row in conn.execute(
                "SELECT t.id FROM round_teams rt JOIN teams t ON t.id = rt.team_id"
                " WHERE rt.round_id = ? ORDER BY t.name",
                (round_id,),
            )
        ]
    return int(round_id), teams


def log_in(browser: Browser, email: str, password: str) -> None:
    """Through the login form, CSRF token included."""
    form = expect(browser.get("/login"), 200)
    reply = browser.post(
        "/login", {"csrf_token": form.csrf(), "email": email, "password": password}
    )
    expect(reply, 302)


@dataclass(frozen=True)
class DashboardRun:
    first: View
    cached: list[View]
    healthz: list[Fetch]


def run(ctx: Context) -> Section:
    """Serve a copy of the 100k database and time views of a few teams."""
    data = ctx.data
    section = Section("Team dashboard in the 100k database")
    with work_dir("dashboard") as folder:
        db_path = folder / "dashboard.sqlite3"
        sqlite_checkpoint(data.db_100k)
        shutil.copyfile(data.db_100k, db_path)
        url = sqlite_url(db_path)
        migrate(url)
        password = secrets.token_urlsafe(18)
        command = [*negoscope_command(), "create-user", ADMIN_EMAIL, "--role", "admin"]
        command += ["--org", data.org, "--password-stdin"]
        run_process(command, env=cli_environment(url), stdin_text=password + "\n").check()
        round_id, teams = round_and_teams(db_path, data.org, data.round_100k)
        with BenchGunicorn(url, workers=1, startup_timeout=120.0) as server:
            base = server.base_url
            browser = Browser(base, timeout=120.0)
            log_in(browser, ADMIN_EMAIL, password)
            cookie = browser.cookie_header()
            fresh = view(base, cookie, teams[0], round_id)

            def one(index: int) -> DashboardRun:
                team = teams[1 + index * 97 % (len(teams) - 1)]
                first = view(base, cookie, team, round_id)
                cached = [view(base, cookie, team, round_id) for _ in range(CACHED_VIEWS)]
                health = [fetch(base, cookie, "/healthz") for _ in range(HEALTHZ_REQUESTS)]
                return DashboardRun(first, cached, health)

            runs = repeat(one, runs=ctx.runs, budget=ctx.budget(BUDGET_SECONDS), log=ctx.log)
    _results(section, fresh, runs)
    return section


def _results(section: Section, fresh: View, runs: list[DashboardRun]) -> None:
    health_loop = [median([f.loopback_ms for f in r.healthz]) for r in runs]
    health_server = [median([f.server_ms for f in r.healthz]) for r in runs]
    first_loop = [r.first.loopback_ms for r in runs]
    cached_server = [median([v.server_ms for v in r.cached]) for r in runs]
    cached_page = [median([v.page.server_ms for v in r.cached]) for r in runs]
    section.results += [
        Result(
            "team dashboard, first view (page + 4 charts)",
            "loopback time",
            "ms",
            first_loop,
            "GET /healthz, same server (loopback)",
            health_loop,
            target=f"< {FIRST_VIEW_TARGET_MS / 1000:.0f} s",
            met=median(first_loop) < FIRST_VIEW_TARGET_MS,
        ),
        Result(
            "team dashboard, cached view (page + 4 charts)",
            "median server time",
            "ms",
            cached_server,
            "GET /healthz, same server (server time)",
            health_server,
            target=f"< {CACHED_VIEW_TARGET_MS:.0f} ms median server time",
            met=median(cached_server) < CACHED_VIEW_TARGET_MS,
        ),
        Result(
            "team dashboard, cached view, page only",
            "median server time",
            "ms",
            cached_page,
            "GET /healthz, same server (server time)",
            health_server,
            target="reported",
        ),
        Result(
            "team dashboard, view by a fresh worker (analysis loaded from the database)",
            "loopback time",
            "ms",
            [fresh.loopback_ms],
            "GET /healthz, same server (loopback)",
            health_loop,
            target="reported",
        ),
    ]
    lines = [
        "One gunicorn sync worker; sequential requests over loopback. Per request: "
        "server time (Server-Timing) / loopback time, in ms.",
        "",
        "| run | view | page | " + " | ".join(CHARTS) + " | total |",
        "|---|---|---|" + "---|" * len(CHARTS) + "---|",
    ]

    def row(run: str, label: str, v: View) -> str:
        cells = [f"{f.server_ms:.1f} / {f.loopback_ms:.1f}" for f in v.fetches]
        total = f"{v.server_ms:.1f} / {v.loopback_ms:.1f}"
        return f"| {run} | {label} | " + " | ".join(cells) + f" | {total} |"

    lines.append(row("-", "fresh worker", fresh))
    for i, r in enumerate(runs, 1):
        lines.append(row(str(i), "first", r.first))
        middle = sorted(r.cached, key=lambda v: v.server_ms)[len(r.cached) // 2]
        lines.append(row(str(i), f"cached (median of {len(r.cached)})", middle))
    charts = [f.server_ms for r in runs for v in r.cached for f in v.fetches[1:]]
    slowest = [max(v.fetches, key=lambda f: f.server_ms) for r in runs for v in r.cached]
    cached_fetches = [f for r in runs for v in r.cached for f in v.fetches]
    gc_total = sum(f.gc_ms for f in cached_fetches)
    server_total = sum(f.server_ms for f in cached_fetches)
    first_page = [r.first.page.server_ms for r in runs]
    first_charts = [f.server_ms for r in runs for f in r.first.fetches[1:]]
    lines += [
        "",
        f"Server time, medians: cached view: page {median(cached_page):.0f} ms, each chart "
        f"{median(charts):.0f} ms (its SVG already rendered), slowest request of a cached view "
        f"{median([f.server_ms for f in slowest]):.0f} ms, of which "
        f"{median([f.gc_ms for f in slowest]):.0f} ms in Python's garbage collector (over all "
        f"cached-view requests the collector took {gc_total:.0f} of {server_total:.0f} ms); "
        f"first view: page {median(first_page):.0f} ms, each chart "
        f"{median(first_charts):.0f} ms (rendered now); fresh worker: page "
        f"{fresh.page.server_ms:.0f} ms (loads the stored analysis). `/healthz` on the same "
        f"worker: {median(health_server):.2f} ms, so the time is the app's work for each "
        "dashboard request, not the server or the network.",
    ]
    section.notes += [*lines, ""]
