"""The real survey app under gunicorn, for concurrency tests and the load benchmark.

:func:`live_server` migrates a database with ``negoscope db upgrade``, seeds an
open round with invitations (and optionally staff accounts), starts
``gunicorn survey.wsgi:app`` with several workers on a free loopback port and
stops it again, always, with bounded waits. :class:`Browser` is a small
cookie-keeping HTTP client over :mod:`http.client` (no redirects followed, so
statuses can be asserted), and :func:`answer_all_pages` / :func:`submit_survey`
drive the respondent pages the way a browser does. :func:`stored_outcome`
reads what was stored, straight from the database.

The module has no pytest dependency, so ``bench/load_submit.py`` uses it too.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import sqlalchemy as sa

from tests.survey.respond_helpers import CSRF_RE, PAGES, page_values

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_RE = re.compile(r"negoscope-live-server: worker (\d+) ready")
LISTENING_RE = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
FIELDS_PER_RESPONSE = sum(len(page.field_names) for page in PAGES)
ITEMS_PER_RESPONSE = sum(len(page.items) for page in PAGES)

# Written next to the log: marks each worker once its app is imported, keeps shutdowns short
# and stops gunicorn >= 25 from sharing one control socket between parallel servers.
_GUNICORN_CONFIG = """
graceful_timeout = 5
timeout = 60
control_socket_disable = True


def post_worker_init(worker):
    worker.log.info("negoscope-live-server: worker %s ready", worker.pid)
"""


class ServerError(RuntimeError):
    """The server could not be prepared, started or reached."""


class FlowError(AssertionError):
    """A page answered with something a browser would not expect."""


# --------------------------------------------------------------------------- database setup


def server_environment(database_url: str, secret_key: str) -> dict[str, str]:
    """The environment of ``negoscope`` and gunicorn: production mode over plain HTTP."""
    env = dict(os.environ)
    env.update(
        NEGOSCOPE_DATABASE_URL=database_url,
        SECRET_KEY=secret_key,
        NEGOSCOPE_ENV="production",
        NEGOSCOPE_SECURE_COOKIES="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def _negoscope_command() -> list[str]:
    script = Path(sys.executable).with_name("negoscope")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from survey.cli import main; main()"]


def migrate(database_url: str, timeout: float = 120.0) -> None:
    """Create the schema with ``negoscope db upgrade`` in a subprocess."""
    env = server_environment(database_url, "migrate-" + uuid.uuid4().hex)
    try:
        done = subprocess.run(
            [*_negoscope_command(), "db", "upgrade"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ServerError(f"negoscope db upgrade took over {timeout} s") from error
    if done.returncode != 0:
        raise ServerError(f"negoscope db upgrade failed:\n{done.stdout}\n{done.stderr}")


@dataclass(frozen=True)
class Seed:
    """What :func:`seed` created: one open round, a token per respondent, staff emails."""

    round_id: int
    invitation_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    users: tuple[str, ...] = ()


def seed(
    database_url: str,
    respondents: int,
    *,
    mode: str = "confidential",
    users: Mapping[str, str] | None = None,
) -> Seed:
    """Store the default instrument, an open round with ``respondents`` invitations and users.

    Runs in this process through the app factory; the engine is disposed afterwards.
    ``users`` maps emails to passwords (accounts without roles).
    """
    from analytics.instrument_parser import load_default_instrument
    from survey import create_app
    from survey.dbtypes import utcnow
    from survey.extensions import db
    from survey.services import accounts, organizations, rounds
    from survey.services.instruments import store_instrument

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "seed-" + uuid.uuid4().hex}
    )
    try:
        with app.app_context():
            instrument_row, _ = store_instrument(load_default_instrument())
            org, _ = organizations.get_or_create_organization("Load Test Org")
            team, _ = organizations.get_or_create_team(org, "Deal Desk")
            now = utcnow()
            tag = uuid.uuid4().hex[:8]  # seeding twice into one database stays unique
            survey_round = rounds.create_round(
                org, f"Round {tag}", instrument_row, [team], mode=mode,
                status="open", opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10),
            )  # fmt: skip
            invitation_ids, tokens = [], []
            for index in range(respondents):
                person = organizations.add_participant(
                    team, name=f"Respondent {index}", email=f"r{index}-{tag}@load.example"
                )
                invitation, token = rounds.issue_invitation(
                    survey_round, person, now, timedelta(days=30)
                )
                invitation_ids.append(invitation.id)
                tokens.append(token)
            for email, password in (users or {}).items():
                accounts.create_user(email, password)
            db.session.commit()
            return Seed(survey_round.id, tuple(invitation_ids), tuple(tokens), tuple(users or ()))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --------------------------------------------------------------------------- gunicorn


DROP_ATTEMPTS = 25


@contextlib.contextmanager
def scratch_postgres_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``admin_url``, dropped afterwards.

    The drop terminates the database's remaining connections (``WITH (FORCE)``).
    PostgreSQL refuses that while an autovacuum worker is in the database and
    the role lacks ``pg_signal_backend`` (the CI cluster grants it), so a
    refused drop is retried for a few seconds, until the worker is done.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            for attempt in range(DROP_ATTEMPTS):
                try:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    break
                except sa.exc.ProgrammingError:  # insufficient privilege: autovacuum at work
                    if attempt == DROP_ATTEMPTS - 1:
                        raise
                    time.sleep(0.2)
    finally:
        admin.dispose()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the child when the test process dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def child_pids(parent: int) -> list[int]:
    """Live processes whose parent is ``parent`` (read from ``/proc``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            pids.append(int(entry.name))
    return sorted(pids)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (zombies, which nobody may reap in a container, do not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] not in ("Z", "X")


class Gunicorn:
    """A gunicorn master with ``workers`` sync workers on 127.0.0.1 and a random port.

    Use as a context manager; :meth:`stop` is also safe to call twice.
    """

    #: The WSGI application gunicorn serves; subclasses may serve another.
    app_spec = "survey.wsgi:app"

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 4,
        secret_key: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.database_url = database_url
        self.workers = workers
        self.secret_key = secret_key or "live-" + uuid.uuid4().hex
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="negoscope-gunicorn-")
        self.log_path = Path(self._dir.name) / "gunicorn.log"
        self._seen_workers: set[int] = set()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self.port is None:
            raise ServerError("the server is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def master_pid(self) -> int:
        if self.process is None:
            raise ServerError("the server is not running")
        return self.process.pid

    def log_text(self) -> str:
        """Everything gunicorn and the app logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """The master's live worker processes."""
        pids = child_pids(self.master_pid)
        self._seen_workers.update(pids)
        return pids

    def ready_workers(self) -> set[int]:
        """Workers that finished importing the app (and are still alive)."""
        ready = {int(pid) for pid in READY_RE.findall(self.log_text())}
        self._seen_workers.update(ready)
        return {pid for pid in ready if _alive(pid)}

    def start(self) -> Gunicorn:
        """Start gunicorn and wait until every worker is ready and /healthz answers."""
        config = Path(self._dir.name) / "gunicorn_conf.py"
        config.write_text(_GUNICORN_CONFIG)
        command = [
            sys.executable, "-m", "gunicorn", self.app_spec,
            "--workers", str(self.workers), "--bind", "127.0.0.1:0",
            "--config", str(config), "--error-logfile", "-",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=server_environment(self.database_url, self.secret_key),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"gunicorn exited early:\n{self.log_text()}")
            if self.port is None and (match := LISTENING_RE.search(self.log_text())):
                self.port = int(match.group(1))
            if self.port is not None and len(self.ready_workers()) >= self.workers:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    if Browser(self.base_url, timeout=5).get("/healthz").status == 200:
                        return
            time.sleep(0.1)
        raise ServerError(f"gunicorn not ready after {self.startup_timeout} s:\n{self.log_text()}")

    def kill_one_worker(self) -> int:
        """SIGKILL one worker (the master starts a new one); returns its pid."""
        workers = self.worker_pids()
        if not workers:
            raise ServerError("no worker to kill")
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def stop(self, timeout: float = 10.0) -> None:
        """TERM the master (KILL after ``timeout``), then KILL any worker left; bounded waits."""
        process, self.process = self.process, None
        if process is not None:
            self._seen_workers.update(child_pids(process.pid))
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
            # A worker the master left behind still has the master's process group: kill it.
            for pid in self._seen_workers:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if _alive(pid) and os.getpgid(pid) == process.pid:
                        os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while any(_alive(pid) for pid in self._seen_workers) and time.monotonic() < deadline:
                time.sleep(0.05)
        self._dir.cleanup()

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class LiveServer:
    """A running server, its database and what was seeded into it for one use."""

    server: Gunicorn
    database_url: str
    seed: Seed
    log_start: int = 0

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def browser(self, timeout: float = 30.0) -> Browser:
        """A new browser (empty cookie jar) pointed at the server."""
        return Browser(self.base_url, timeout=timeout)

    def new_log(self) -> str:
        """What the server logged since this object was made."""
        return self.server.log_text()[self.log_start :]

    @classmethod
    def seeded(cls, server: Gunicorn, database_url: str, seed_data: Seed) -> LiveServer:
        """Wrap a running server, remembering where its log stands now."""
        return cls(server, database_url, seed_data, len(server.log_text()))


@contextlib.contextmanager
def serve(database_url: str, *, workers: int = 4) -> Iterator[Gunicorn]:
    """Migrate ``database_url`` and serve it with gunicorn until the block ends."""
    migrate(database_url)
    with Gunicorn(database_url, workers=workers) as server:
        yield server


@contextlib.contextmanager
def live_server(
    database_url: str,
    *,
    respondents: int = 1,
    mode: str = "confidential",
    users: Mapping[str, str] | None = None,
    workers: int = 4,
) -> Iterator[LiveServer]:
    """Migrate and seed ``database_url``, serve it with gunicorn, stop it at exit.

    Examples
    --------
    >>> with live_server("sqlite:////tmp/x.sqlite3", respondents=2) as live:  # doctest: +SKIP
    ...     answer_all_pages(live.browser(), live.seed.tokens[0])
    """
    migrate(database_url)
    seeded = seed(database_url, respondents, mode=mode, users=users)
    with Gunicorn(database_url, workers=workers) as server:
        yield LiveServer.seeded(server, database_url, seeded)


# --------------------------------------------------------------------------- HTTP client


@dataclass(frozen=True)
class Reply:
    """One HTTP response: status, redirect target (path) and body text."""

    status: int
    location: str | None
    text: str
    seconds: float

    def csrf(self) -> str:
        """The CSRF token embedded in the page's form."""
        match = CSRF_RE.search(self.text)
        if not match:
            raise FlowError(f"no CSRF token in a {self.status} page:\n{self.text[:500]}")
        return match.group(1)


Recorder = Callable[[str, str, int | None, float], None]
"""Called after each attempt with (method, path, status or None on error, seconds)."""


@dataclass
class Browser:
    """A cookie-keeping HTTP client that does not follow redirects.

    ``retries`` > 0 makes it behave like a patient user: a request that fails to
    connect, is cut off, or answers 502/503/504 is sent again after ``backoff``
    seconds (every respondent request is safe to repeat). Tests keep 0 so that
    any such failure is seen.
    """

    base_url: str
    timeout: float = 30.0
    retries: int = 0
    backoff: float = 0.5
    recorder: Recorder | None = None
    deadline: float | None = None  # time.monotonic() after which no retry starts
    cookies: dict[str, str] = field(default_factory=dict)
    retried: int = 0

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80

    def cookie_header(self) -> str:
        """The ``Cookie`` header this browser sends now."""
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, data: Mapping[str, str]) -> Reply:
        return self.request("POST", path, data)

    def request(self, method: str, path: str, data: Mapping[str, str] | None = None) -> Reply:
        """Send one request (with retries when configured) and keep the cookies it sets."""
        attempt = 0
        while True:
            try:
                reply = self.send_once(method, path, data, self.cookie_header())
            except (OSError, http.client.HTTPException):
                if not self._may_retry(attempt):
                    raise
            else:
                if reply.status not in (502, 503, 504) or not self._may_retry(attempt):
                    return reply
            attempt += 1
            self.retried += 1
            time.sleep(self.backoff * min(attempt, 4))

    def _may_retry(self, attempt: int) -> bool:
        if attempt >= self.retries:
            return False
        return self.deadline is None or time.monotonic() < self.deadline

    def send_once(
        self, method: str, path: str, data: Mapping[str, str] | None, cookie: str
    ) -> Reply:
        """One request with an explicit ``Cookie`` header; stores cookies it is sent back."""
        headers = {"Host": f"{self._host}:{self._port}", "Connection": "close"}
        body = None
        if cookie:
            headers["Cookie"] = cookie
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        status: int | None = None
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            status = response.status
            set_cookies = response.headers.get_all("Set-Cookie") or []
            location = response.getheader("Location")
        finally:
            connection.close()
            if self.recorder is not None:
                self.recorder(method, path, status, time.perf_counter() - started)
        self._store_cookies(set_cookies)
        if location:
            location = urllib.parse.urlsplit(location).path
        return Reply(status, location, text, time.perf_counter() - started)

    def _store_cookies(self, headers: list[str]) -> None:
        for header in headers:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["secure"]:
                    continue  # a browser would not send it back over plain HTTP
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value


# --------------------------------------------------------------------------- respondent flow


def expect(reply: Reply, status: int, location: str | None = None) -> Reply:
    """``reply`` when it has this status (and redirect target), else :class:`FlowError`."""
    if reply.status != status or (location is not None and reply.location != location):
        raise FlowError(
            f"expected {status} {location or ''}, got {reply.status} {reply.location or ''}:\n"
            f"{reply.text[:800]}"
        )
    return reply


def answer_all_pages(browser: Browser, token: str, value: str = "4") -> str:
    """Open the invitation, consent, answer every page; returns the review page's CSRF token."""
    expect(browser.get(f"/s/{token}"), 302, "/survey")
    landing = expect(browser.get("/survey"), 200)
    started = browser.post("/survey/start", {"csrf_token": landing.csrf(), "consent": "y"})
    expect(started, 302, "/survey/page/1")
    for page in PAGES:
        shown = expect(browser.get(f"/survey/page/{page.number}"), 200)
        data = {"csrf_token": shown.csrf(), "nav": "next", **page_values(page.number, value)}
        target = (
            "/survey/review" if page.number == len(PAGES) else f"/survey/page/{page.number + 1}"
        )
        expect(browser.post(f"/survey/page/{page.number}", data), 302, target)
    return expect(browser.get("/survey/review"), 200).csrf()


SUBMITTED = "submitted"
ALREADY_SUBMITTED = "already submitted"


def submit_outcome(reply: Reply) -> str:
    """Whether a submit's reply says it submitted, or that it had been submitted already."""
    if reply.status in (302, 303) and reply.location == "/survey/thanks":
        return SUBMITTED
    if reply.status == 200 and "Your answers were already submitted" in reply.text:
        return ALREADY_SUBMITTED
    raise FlowError(f"unexpected submit reply {reply.status} {reply.location}:\n{reply.text[:800]}")


def submit_survey(browser: Browser, csrf_token: str) -> str:
    """Post the submit form; returns :data:`SUBMITTED` or :data:`ALREADY_SUBMITTED`."""
    return submit_outcome(browser.post("/survey/submit", {"csrf_token": csrf_token}))


def run_in_threads(
    count: int, work: Callable[[int], object], *, timeout: float = 60.0
) -> list[object]:
    """Run ``work(0..count-1)`` in ``count`` threads released together by a barrier.

    Returns each call's result or the exception it raised, in index order.
    """
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout)
            results[index] = work(index)
        except BaseException as error:  # reported to the caller, not lost in the thread
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"threads still running after {timeout} s")
    return results


# --------------------------------------------------------------------------- stored outcome


@dataclass(frozen=True)
class StoredOutcome:
    """What the database holds for one round after a run."""

    submitted_responses: int
    draft_responses: int
    submitted_invitations: frozenset[int]
    max_responses_per_invitation: int
    incomplete_submitted: int

    @property
    def submitted_invitation_count(self) -> int:
        return len(self.submitted_invitations)


def stored_outcome(database_url: str, round_id: int) -> StoredOutcome:
    """Count the round's responses and check each submitted one holds every answer.

    Reads with plain SQL on a new engine, independently of the app.
    """
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            statuses = dict(
                conn.execute(
                    sa.text(
                        "SELECT status, count(*) FROM responses WHERE round_id = :r GROUP BY status"
                    ),
                    {"r": round_id},
                ).all()
            )
            submitted_invitations = frozenset(
                conn.execute(
                    sa.text(
                        "SELECT id FROM invitations"
                        " WHERE round_id = :r AND submitted_at IS NOT NULL"
                    ),
                    {"r": round_id},
                ).scalars()
            )
            per_invitation = conn.execute(
                sa.text(
                    "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM responses"
                    " WHERE round_id = :r AND invitation_id IS NOT NULL"
                    " GROUP BY invitation_id) AS counts"
                ),
                {"r": round_id},
            ).scalar_one()
            incomplete = conn.execute(
                sa.text(
                    "SELECT count(*) FROM responses r WHERE r.round_id = :r"
                    " AND r.status = 'submitted' AND ("
                    " (SELECT count(a.value) FROM answers a WHERE a.response_id = r.id) != :items"
                    " OR (SELECT count(c.value) FROM context_answers c"
                    "     WHERE c.response_id = r.id) != :context)"
                ),
                {
                    "r": round_id,
                    "items": ITEMS_PER_RESPONSE,
                    "context": FIELDS_PER_RESPONSE - ITEMS_PER_RESPONSE,
                },
            ).scalar_one()
    finally:
        engine.dispose()
    return StoredOutcome(
        submitted_responses=int(statuses.get("submitted", 0)),
        draft_responses=int(statuses.get("draft", 0)),
        submitted_invitations=submitted_invitations,
        max_responses_per_invitation=int(per_invitation),
        incomplete_submitted=int(incomplete),
    )
