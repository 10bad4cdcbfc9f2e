"""Concurrency against the real app: gunicorn with four worker processes on each database.

One server per backend serves the whole module (starting four workers costs
seconds): it runs on a database migrated with ``negoscope db upgrade``, and each
test seeds its own round, invitations or account, then talks HTTP to
``gunicorn survey.wsgi:app --workers 4`` on loopback. Whatever the workers share
is therefore only what the database shares.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey.services.accounts import LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS
from tests.conftest import backends, fresh_postgres_database, require_postgres
from tests.survey.live_server import (
    ALREADY_SUBMITTED,
    SUBMITTED,
    Browser,
    Gunicorn,
    LiveServer,
    Reply,
    answer_all_pages,
    expect,
    run_in_threads,
    seed,
    serve,
    stored_outcome,
    submit_outcome,
    submit_survey,
)

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module", params=backends())
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Gunicorn]]:
    """(database URL, running gunicorn) for each backend, like the ``database_url`` fixture."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{Path(tmp_path_factory.mktemp('live')) / 'live.sqlite3'}"
        else:
            fresh = contextlib.contextmanager(fresh_postgres_database)
            url = stack.enter_context(fresh(require_postgres()))
        server = stack.enter_context(serve(url))
        yield url, server


def seeded(
    served: tuple[str, Gunicorn],
    respondents: int = 1,
    mode: str = "confidential",
    users: Mapping[str, str] | None = None,
) -> LiveServer:
    """A new round (and accounts) in the served database."""
    url, server = served
    return LiveServer.seeded(server, url, seed(url, respondents, mode=mode, users=users))


def assert_no_server_errors(live: LiveServer) -> None:
    """Nothing the app logged during the test was an unhandled error or a database failure."""
    log = live.new_log()
    for marker in ("Traceback", "unhandled error", "database error", "database unavailable"):
        assert marker not in log, log


def replies_of(results: list[object]) -> list[Reply]:
    """The replies of :func:`run_in_threads`, failing on any exception a thread raised."""
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return [r for r in results if isinstance(r, Reply)]


def test_racing_submits_of_one_draft_store_it_once(served: tuple[str, Gunicorn]) -> None:
    """Eight simultaneous submits with one session: one wins, seven are told it is done."""
    live = seeded(served)
    browser = live.browser()
    csrf = answer_all_pages(browser, live.seed.tokens[0])
    cookie = browser.cookie_header()

    def submit(_: int) -> Reply:
        racer = Browser(live.base_url)
        return racer.send_once("POST", "/survey/submit", {"csrf_token": csrf}, cookie)

    replies = replies_of(run_in_threads(8, submit))
    thanks = expect(browser.get("/survey/thanks"), 200)
    assert_no_server_errors(live)

    assert all(r.status in (200, 302, 303) for r in replies), [r.status for r in replies]
    outcomes = sorted(submit_outcome(r) for r in replies)
    assert outcomes == [ALREADY_SUBMITTED] * 7 + [SUBMITTED]
    assert "Your answers have been submitted." in thanks.text
    stored = stored_outcome(live.database_url, live.seed.round_id)
    assert stored.submitted_responses == 1
    assert stored.draft_responses == 0
    assert stored.submitted_invitations == frozenset(live.seed.invitation_ids)
    assert stored.max_responses_per_invitation == 1
    assert stored.incomplete_submitted == 0


def test_login_throttle_is_shared_by_all_workers(served: tuple[str, Gunicorn]) -> None:
    """Twelve wrong passwords at once over four workers: at most five are even checked."""
    limit = LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS.attempts
    attempts = 2 * limit + 2
    email = "throttled@load.example"
    live = seeded(served, respondents=0, users={email: PASSWORD})
    browsers = [live.browser() for _ in range(attempts)]
    tokens = [expect(b.get("/login"), 200).csrf() for b in browsers]

    def wrong_login(index: int) -> Reply:
        data = {"csrf_token": tokens[index], "email": email, "password": f"wrong {index}"}
        return browsers[index].post("/login", data)

    replies = replies_of(run_in_threads(attempts, wrong_login))
    assert_no_server_errors(live)

    statuses = [r.status for r in replies]
    assert set(statuses) <= {401, 429}, statuses
    # Per-process counters would let each of the four workers check `limit` passwords.
    assert 1 <= statuses.count(401) <= limit, statuses
    assert statuses.count(429) == attempts - statuses.count(401)
    assert all("Too many failed attempts" in r.text for r in replies if r.status == 429)
    engine = sa.create_engine(live.database_url)
    try:
        with engine.connect() as conn:
            counted = conn.execute(
                sa.text("SELECT count(*) FROM throttle_events WHERE key = :k"),
                {"k": f"login:account:{email}"},
            ).scalar_one()
    finally:
        engine.dispose()
    assert counted == statuses.count(401)


def test_many_respondents_at_once_are_all_stored_complete(served: tuple[str, Gunicorn]) -> None:
    """Twenty people answer and submit in parallel (anonymous round): all stored, unlinked."""
    respondents = 20
    live = seeded(served, respondents=respondents, mode="anonymous")

    def respond(index: int) -> str:
        browser = live.browser()
        return submit_survey(browser, answer_all_pages(browser, live.seed.tokens[index]))

    results = run_in_threads(respondents, respond, timeout=90)
    assert_no_server_errors(live)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assert results.count(SUBMITTED) == respondents
    stored = stored_outcome(live.database_url, live.seed.round_id)
    assert stored.submitted_responses == results.count(SUBMITTED)
    assert stored.submitted_invitations == frozenset(live.seed.invitation_ids)
    assert stored.draft_responses == 0
    assert stored.max_responses_per_invitation == 0  # anonymous: unlinked on submit
    assert stored.incomplete_submitted == 0
