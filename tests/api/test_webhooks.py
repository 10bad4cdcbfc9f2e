"""Webhooks: Standard Webhooks signatures, and delivery through the job queue to a real
HTTP receiver on loopback (success, retries with backoff, recorded failure)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import (
    AuditEvent,
    Organization,
    SurveyRound,
    Team,
    WebhookAttempt,
    WebhookDelivery,
)
from survey.services import webhooks
from tests.api.conftest import ApiWorld, make_tokens
from tests.conftest import make_app
from tests.survey.accounts_helpers import build_access_world, log_in

# The Standard Webhooks reference vector (standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py, test_sign_function).
REFERENCE = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": '{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


def test_signature_matches_the_standard_webhooks_reference_vector():
    r = REFERENCE
    assert webhooks.sign(r["secret"], r["msg_id"], r["timestamp"], r["body"]) == r["signature"]
    headers = {
        "webhook-id": r["msg_id"],
        "webhook-timestamp": str(r["timestamp"]),
        "webhook-signature": "v1,bm90IGl0 " + r["signature"],  # any listed signature may match
    }
    assert webhooks.verify(r["secret"], headers, r["body"], now=r["timestamp"] + 60)
    assert not webhooks.verify(r["secret"], headers, r["body"] + " ", now=r["timestamp"])
    assert not webhooks.verify(r["secret"], headers, r["body"], now=r["timestamp"] + 301)
    other = webhooks.new_secret()
    assert other.startswith("whsec_") and not webhooks.verify(other, headers, r["body"],
                                                             now=r["timestamp"])  # fmt: skip


@pytest.mark.parametrize(
    ("url", "loopback", "ok"),
    [
        ("https://hooks.example.com/negoscope", False, True),
        ("http://hooks.example.com/negoscope", False, False),
        ("https://10.0.0.8/hook", False, False),
        ("https://169.254.169.254/latest", False, False),
        ("https://127.0.0.1:8443/hook", False, False),
        ("http://127.0.0.1:8080/hook", True, True),
        ("https://user:pw@hooks.example.com/", False, False),
        ("ftp://hooks.example.com/", False, False),
        ("https://hooks.example.com/a b", False, False),
    ],
)
def test_endpoint_urls_must_be_https_to_a_public_host(url, loopback, ok):
    if ok:
        assert webhooks.check_url(url, allow_http_loopback=loopback) == url
    else:
        with pytest.raises(webhooks.WebhookProblem):
            webhooks.check_url(url, allow_http_loopback=loopback)


# ------------------------------------------------------------------ a receiver on loopback
class Receiver:
    """An HTTP server on 127.0.0.1 answering each POST with the next status of ``statuses``."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = make_app(
        database_url,
        tmp_path,
        JOBS_URL="immediate:",
        WEBHOOK_ALLOW_HTTP_LOOPBACK=True,
        WEBHOOK_RETRY_SECONDS=(0.05, 0.1),
    )
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def api_world(app: Flask) -> ApiWorld:
    return make_tokens(app, build_access_world(app))


def _endpoint(app: Flask, org_id: int, url: str, events: tuple[str, ...]) -> str:
    with app.app_context():
        org = db.session.get(Organization, org_id)
        _, secret = webhooks.create_endpoint(
            org, url, events, actor=None, now=utcnow(), allow_http_loopback=True
        )
        db.session.commit()
        return secret


def _run_retries(app: Flask, until: float = 10.0) -> None:
    """Play the worker: run scheduled retries as they fall due, until none is pending."""
    from survey.jobs import queue_of

    deadline = time.monotonic() + until
    with app.app_context():
        huey = queue_of(app)
    while time.monotonic() < deadline:
        with app.app_context():
            pending = db.session.scalar(
                select(WebhookDelivery.id).where(WebhookDelivery.status == "pending").limit(1)
            )
        if pending is None:
            return
        for task in huey.read_schedule(huey._get_timestamp()):
            huey.execute(task)
        time.sleep(0.02)
    raise AssertionError("deliveries still pending")


def test_round_closed_is_signed_and_delivered_after_the_commit(app, client, api_world):
    receiver = Receiver([204])
    try:
        secret = _endpoint(app, api_world.world.org_id, receiver.url, ("round.closed",))
        round_id = api_world.world.round_id
        response = client.post(
            f"/api/v1/organizations/{api_world.world.org_id}/rounds/{round_id}/close",
            headers=api_world.auth("write"),
        )
        assert response.status_code == 200
        [(headers, body)] = receiver.received
    finally:
        receiver.close()
    assert webhooks.verify(secret, headers, body, now=time.time())
    assert headers["webhook-signature"].startswith("v1,")
    message = json.loads(body)
    assert message["type"] == "round.closed"
    assert message["data"]["round_id"] == round_id and message["data"]["round"] == "R1"
    with app.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("delivered", 1)
        assert delivery.message_id == headers["webhook-id"]
        [attempt] = db.session.scalars(select(WebhookAttempt)).all()
        assert attempt.response_status == 204 and attempt.error == ""


def test_a_refused_close_sends_nothing(app, client, api_world):
    receiver = Receiver([204])
    try:
        _endpoint(app, api_world.world.org_id, receiver.url, ("round.closed",))
        closed = api_world.world.report_round_id  # already closed: 409, rolled back
        response = client.post(
            f"/api/v1/organizations/{api_world.world.org_id}/rounds/{closed}/close",
            headers=api_world.auth("write"),
        )
        assert response.status_code == 409
        assert receiver.received == []
    finally:
        receiver.close()
    with app.app_context():
        assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_results_released_outside_a_request_is_queued_when_the_context_ends(app, api_world):
    """A release made outside a request (a command) is sent when the app context ends."""
    from analytics.instrument_parser import load_default_instrument
    from analytics.synthetic import simulate_responses
    from survey.services import releases
    from survey.services.ingest import SubmittedRow, store_submitted

    receiver = Receiver([200])
    try:
        secret = _endpoint(
            app, api_world.world.org_id, receiver.url, ("round.closed", "team.results_released")
        )
        with app.app_context():
            survey_round = db.session.get(SurveyRound, api_world.world.round_id)
            team = db.session.get(Team, api_world.world.team_id)
            instrument = load_default_instrument()
            sim = simulate_responses(instrument, n_respondents=5, teams={team.name: 5},
                                     random_state=3)  # fmt: skip
            rows = [
                SubmittedRow(
                    team_id=team.id,
                    answers={i: int(row[i]) for i in instrument.item_ids},
                    context={q: row[q] for q in instrument.context_ids},
                    submitted_at=utcnow(),
                )
                for _, row in sim.data.iterrows()
            ]
            store_submitted(survey_round, rows)
            published = releases.refresh(survey_round, utcnow())
            assert len(published) == 1
            assert receiver.received == []  # nothing before the commit
            db.session.commit()
            assert receiver.received == []  # nor before the context ends
        [(headers, body)] = receiver.received
    finally:
        receiver.close()
    assert webhooks.verify(secret, headers, body, now=time.time())
    message = json.loads(body)
    assert message["type"] == "team.results_released"
    assert message["data"]["team"] == "Team One" and "mean" not in body  # no figures


def test_a_failing_receiver_is_retried_then_the_failure_is_recorded(app, client, api_world):
    receiver = Receiver([500])
    try:
        _endpoint(app, api_world.world.org_id, receiver.url, ("round.closed",))
        client.post(
            f"/api/v1/organizations/{api_world.world.org_id}/rounds/{api_world.world.round_id}/close",
            headers=api_world.auth("write"),
        )
        assert len(receiver.received) == 1  # the first attempt, then backoff
        _run_retries(app)
        assert len(receiver.received) == 3  # 1 + the two configured retries
        ids = {headers["webhook-id"] for headers, _ in receiver.received}
        assert len(ids) == 1  # the same message id on every retry
    finally:
        receiver.close()
    with app.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("failed", 3)
        attempts = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.number)).all()
        assert [(a.number, a.response_status) for a in attempts] == [(1, 500), (2, 500), (3, 500)]
        gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(attempts)]
        assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # waited as configured
        from survey.models import Job

        job = db.session.scalars(select(Job).where(Job.kind == "webhook")).one()
        assert job.status == "failed" and "HTTP 500" in (job.message or "")
        endpoint_id = delivery.endpoint_id
    log_in(client, api_world.world.emails["admin"])
    page = client.get(f"/admin/{api_world.world.org_id}/api/webhooks/{endpoint_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and text.count("HTTP 500") == 3 and "failed" in text


def test_retry_then_success_and_an_unreachable_receiver(app, client, api_world):
    receiver = Receiver([503, 200])
    try:
        _endpoint(app, api_world.world.org_id, receiver.url, ("round.closed",))
        _endpoint(app, api_world.world.org_id, "http://127.0.0.1:9/closed", ("round.closed",))
        client.post(
            f"/api/v1/organizations/{api_world.world.org_id}/rounds/{api_world.world.round_id}/close",
            headers=api_world.auth("write"),
        )
        _run_retries(app)
    finally:
        receiver.close()
    with app.app_context():
        outcome = {
            d.endpoint.url: (d.status, d.attempts)
            for d in db.session.scalars(select(WebhookDelivery))
        }
        assert outcome[receiver.url] == ("delivered", 2)
        assert outcome["http://127.0.0.1:9/closed"] == ("failed", 3)
        errors = db.session.scalars(
            select(WebhookAttempt.error).where(WebhookAttempt.response_status.is_(None))
        ).all()
        assert len(errors) == 3 and all("no answer from the receiver" in e for e in errors)


def test_admin_makes_a_webhook_and_disables_it(app, client, api_world):
    log_in(client, api_world.world.emails["admin"])
    from tests.survey.respond_helpers import csrf_from

    org_id = api_world.world.org_id
    page = client.get(f"/admin/{org_id}/api")
    made = client.post(
        f"/admin/{org_id}/api/webhooks",
        data={"csrf_token": csrf_from(page), "url": "https://hooks.example.com/n",
              "events": ["round.closed"]},
    )  # fmt: skip
    assert made.status_code == 200
    assert "whsec_" in made.get_data(as_text=True)
    bad = client.post(
        f"/admin/{org_id}/api/webhooks",
        data={"csrf_token": csrf_from(page), "url": "http://10.1.1.1/", "events": ["round.closed"]},
    )
    assert bad.status_code == 400 and "https://" in bad.get_data(as_text=True)
    with app.app_context():
        [endpoint] = webhooks.endpoints_of(db.session.get(Organization, org_id))
        endpoint_id = endpoint.id
    listing = client.get(f"/admin/{org_id}/api").get_data(as_text=True)
    assert "whsec_" not in listing  # shown once only
    gone = client.post(
        f"/admin/{org_id}/api/webhooks/{endpoint_id}/disable",
        data={"csrf_token": csrf_from(page), "confirm": "y"},
    )
    assert gone.status_code == 303
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("webhook_%"))
        ).all()
        assert sorted(actions) == ["webhook_created", "webhook_disabled"]
        assert db.session.scalars(select(WebhookDelivery)).all() == []
