"""Webhooks: signed event deliveries to an organization's endpoints, through the job queue.

Events (:data:`~survey.models.webhook.WEBHOOK_EVENTS`) are ``round.closed``
(:func:`survey.services.rounds.close_round`) and ``team.results_released``
(:func:`survey.services.releases.refresh`). :func:`emit` writes one
:class:`~survey.models.WebhookDelivery` per subscribed endpoint in the
caller's transaction, so an event exists exactly when the change that made it
was committed; the deliveries are handed to the job queue only *after* that
commit (:func:`init_app`: a session hook collects them, the app context's
teardown enqueues them). A periodic sweep queues any delivery left behind (a
process that stopped between the commit and the enqueue).

Messages follow the Standard Webhooks scheme: headers ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` = ``v1,`` + base64 of
HMAC-SHA256 over ``{id}.{timestamp}.{body}`` with the endpoint's secret
(``whsec_`` + base64 of 32 random bytes). Messages go to public addresses only:
the host is resolved at delivery and the checked address is the one connected
to (:mod:`survey.services.webhook_transport`); a host resolving to a private,
loopback or link-local address is refused without sending, and the delivery
fails at once. Each attempt is recorded (status, response code, error); other
failures are retried with growing delays (:data:`RETRY_SECONDS`), then the
delivery is marked failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_app_context
from huey import crontab
from huey.exceptions import RetryTask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.jobs import JobFailed, JobRun, RetryLater, enqueue, job_task, periodic_task
from survey.models import (
    WEBHOOK_EVENTS,
    Organization,
    SurveyRound,
    TeamRelease,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from survey.services import audit, webhook_transport

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
#: Delays before the 2nd, 3rd... attempt (seconds): 7 attempts over about 17 hours.
#: ``WEBHOOK_RETRY_SECONDS`` in the app's config overrides it (tests use short delays).
RETRY_SECONDS = (5, 300, 1800, 7200, 18000, 36000)
#: How long an attempt holds its delivery, so a second job for it does not send it twice.
LEASE = timedelta(minutes=2)
#: A pending delivery this late has lost its job: the sweep queues it again.
OVERDUE = timedelta(minutes=5)
TIMEOUT = (5.0, 10.0)  # connect, read (seconds)
USER_AGENT = "Negoscope-Webhooks/1"
MAX_ENDPOINTS = 20
_SESSION_KEY = "negoscope_webhook_deliveries"


class WebhookProblem(ValueError):
    """An endpoint cannot be saved as asked (the message says why)."""


# ------------------------------------------------------------------ signing
def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``webhook-signature``: ``v1,`` and base64 of HMAC-SHA256 of ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """Every header of one delivery attempt."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(
    secret: str, headers: Mapping[str, str], body: str, *, now: float, tolerance: int = 300
) -> bool:
    """Whether a received message is authentic and fresh (what a receiver runs).

    Any of the space-separated ``v1,`` signatures may match; the timestamp must
    be within ``tolerance`` seconds of ``now`` (replays of old messages fail).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = lower.get("webhook-id", ""), lower.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    expected = sign(secret, msg_id, int(stamp), body)
    return any(
        hmac.compare_digest(candidate, expected)
        for candidate in lower.get("webhook-signature", "").split()
    )


# ------------------------------------------------------------------ endpoints
def check_url(url: str, *, allow_http_loopback: bool = False) -> str:
    """The endpoint URL, checked: ``https`` to a named or public host (WebhookProblem if not).

    ``allow_http_loopback`` also accepts a loopback address over ``http`` or
    ``https`` (a receiver on the same machine: tests, development).
    """
    url = url.strip()
    if len(url) > 500 or any(c.isspace() for c in url):
        raise WebhookProblem("Enter one URL of at most 500 characters, without spaces.")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise WebhookProblem("Enter a full https:// URL, such as https://example.com/hooks.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    loopback = host == "localhost" or (address is not None and address.is_loopback)
    if loopback and allow_http_loopback:
        return url
    if parts.scheme != "https":
        raise WebhookProblem("The URL must start with https:// (messages carry your data).")
    if loopback or (address is not None and not address.is_global):
        raise WebhookProblem("The URL must reach a public host, not a private or local address.")
    return url


def _events(chosen: Sequence[str]) -> str:
    unknown = [e for e in chosen if e not in WEBHOOK_EVENTS]
    if unknown or not chosen:
        raise WebhookProblem(f"Choose at least one event of: {', '.join(WEBHOOK_EVENTS)}.")
    return ",".join(e for e in WEBHOOK_EVENTS if e in chosen)


def create_endpoint(
    org: Organization,
    url: str,
    events: Sequence[str],
    *,
    actor: User | None,
    now: datetime,
    allow_http_loopback: bool = False,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown once); audited."""
    checked = check_url(url, allow_http_loopback=allow_http_loopback)
    subscribed = _events(events)
    if len(endpoints_of(org, live_only=True)) >= MAX_ENDPOINTS:
        raise WebhookProblem(f"An organization has at most {MAX_ENDPOINTS} webhook endpoints.")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        organization_id=org.id, url=checked, secret=secret, events=subscribed, created_at=now
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record(
        "webhook_created",
        actor=actor,
        organization_id=org.id,
        target=f"webhook #{endpoint.id} {checked}",
        detail=f"events {subscribed}",
    )
    return endpoint, secret


def disable_endpoint(endpoint: WebhookEndpoint, *, actor: User | None, now: datetime) -> bool:
    """Send nothing more to the endpoint (pending deliveries end as failed); False if already."""
    if endpoint.disabled_at is not None:
        return False
    endpoint.disabled_at = now
    for delivery in db.session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending"
        )
    ):
        delivery.status, delivery.finished_at = "failed", now
    audit.record(
        "webhook_disabled",
        actor=actor,
        organization_id=endpoint.organization_id,
        target=f"webhook #{endpoint.id} {endpoint.url}",
    )
    db.session.flush()
    return True


def endpoints_of(org: Organization, *, live_only: bool = False) -> list[WebhookEndpoint]:
    """The organization's endpoints, newest first."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.organization_id == org.id)
    if live_only:
        query = query.where(WebhookEndpoint.disabled_at.is_(None))
    return list(
        db.session.scalars(query.order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id))
    )


def endpoint_of(org: Organization, endpoint_id: int) -> WebhookEndpoint | None:
    """One of the organization's endpoints by id."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    return endpoint if endpoint is not None and endpoint.organization_id == org.id else None


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery and its attempts, for the admin page."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def recent_deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[DeliveryRow]:
    """The endpoint's latest deliveries, newest first, each with its attempts in order."""
    deliveries = list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    if deliveries:
        for attempt in db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [DeliveryRow(d, attempts[d.id]) for d in deliveries]


# ------------------------------------------------------------------ events
def emit(
    organization_id: int, event_type: str, data: dict[str, Any], now: datetime
) -> list[WebhookDelivery]:
    """Record the event for every live endpoint subscribed to it; queued after the commit."""
    if event_type not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event_type!r}")
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organization_id == organization_id,
            WebhookEndpoint.disabled_at.is_(None),
        )
    ).all()
    deliveries = []
    for endpoint in endpoints:
        if event_type not in endpoint.event_list:
            continue
        msg_id = "msg_" + secrets.token_urlsafe(18)
        body = json.dumps(
            {"type": event_type, "timestamp": _iso(now), "data": data},
            separators=(",", ":"),
            sort_keys=True,
        )
        delivery = WebhookDelivery(
            endpoint_id=endpoint.id,
            event=event_type,
            message_id=msg_id,
            body=body,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        db.session.add(delivery)
        deliveries.append(delivery)
    if deliveries:
        db.session.flush()
        pending = db.session.info.setdefault(_SESSION_KEY, [])
        pending.extend((d.id, organization_id) for d in deliveries)
    return deliveries


def round_closed(survey_round: SurveyRound, now: datetime) -> None:
    """Emit ``round.closed`` (called by :func:`survey.services.rounds.close_round`)."""
    emit(
        survey_round.organization_id,
        "round.closed",
        {
            "organization_id": survey_round.organization_id,
            "round_id": survey_round.id,
            "round": survey_round.name,
            "closed_at": _iso(survey_round.closes_at or now),
        },
        now,
    )


def results_released(
    survey_round: SurveyRound, published: Sequence[TeamRelease], now: datetime
) -> None:
    """Emit ``team.results_released`` per team (called by :func:`survey.services.releases.refresh`).

    The message says only that a team's results changed: the figures are read
    through the API, where the anonymity ledger records who saw them.
    """
    from survey.models import Team

    for release in published:
        team = db.session.get(Team, release.team_id)
        emit(
            survey_round.organization_id,
            "team.results_released",
            {
                "organization_id": survey_round.organization_id,
                "round_id": survey_round.id,
                "round": survey_round.name,
                "team_id": release.team_id,
                "team": team.name if team is not None else "",
                "released_at": _iso(release.created_at),
            },
            now,
        )


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


# ------------------------------------------------------- queued after commit
def init_app(app: Flask) -> None:
    """Queue the deliveries a request (or command, or job) committed, when its context ends."""

    @app.teardown_appcontext
    def _queue_committed(_error: BaseException | None) -> None:
        ready = g.pop("webhook_ready", None)
        if ready:
            try:
                _queue(ready)
            except Exception:  # the sweep queues them later
                log.exception("webhook deliveries not queued now; the sweep will")


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_SESSION_KEY, None)
    if pending and has_app_context():
        g.setdefault("webhook_ready", []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)


def _queue(ready: list[tuple[int, int]]) -> None:
    db.session.rollback()  # the request is over: nothing of it is left to keep
    for delivery_id, organization_id in ready:
        enqueue(deliver_job, delivery_id, organization_id=organization_id)


# ------------------------------------------------------------------ delivery
@dataclass(frozen=True)
class Outcome:
    """What one call of :func:`attempt` did."""

    state: str  # "delivered", "retry", "failed", "skipped"
    message: str
    retry_in: float | None = None
    response_status: int | None = None


def retry_seconds() -> tuple[float, ...]:
    """Delays between attempts, from the app's config or :data:`RETRY_SECONDS`."""
    return tuple(current_app.config.get("WEBHOOK_RETRY_SECONDS", RETRY_SECONDS))


def attempt(delivery_id: int) -> Outcome:
    """Send the delivery once if it is due, and record the attempt (commits; no transaction open).

    The delivery is claimed first (its next attempt moved :data:`LEASE` ahead),
    so a second job for the same delivery skips it instead of sending twice.
    """
    now = utcnow()
    begin_write()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if (
        delivery is None
        or delivery.status != "pending"
        or (delivery.next_attempt_at is not None and delivery.next_attempt_at > now)
    ):
        db.session.rollback()
        return Outcome("skipped", "not due")
    endpoint = delivery.endpoint
    if endpoint.disabled_at is not None:
        delivery.status, delivery.finished_at = "failed", now
        db.session.commit()
        return Outcome("failed", "the endpoint was disabled")
    delivery.next_attempt_at = now + LEASE
    delivery.attempts += 1
    number = delivery.attempts
    url, secret, msg_id, body = endpoint.url, endpoint.secret, delivery.message_id, delivery.body
    db.session.commit()

    sent = _post(url, signed_headers(secret, msg_id, int(time.time()), body), body)
    status, error, took = sent.status, sent.error, sent.duration_ms
    ok = status is not None and 200 <= status < 300
    delays = retry_seconds()
    begin_write()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # its endpoint or organization was deleted meanwhile
        db.session.rollback()
        return Outcome("skipped", "deleted")
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            number=number,
            at=now,
            response_status=status,
            error=error[:300],
            duration_ms=took,
        )
    )
    finished = utcnow()
    if ok:
        delivery.status, delivery.finished_at, delivery.next_attempt_at = (
            "delivered",
            finished,
            None,
        )
        outcome = Outcome("delivered", f"HTTP {status}", response_status=status)
    elif sent.refused:  # not retried: another try would only probe the same address again
        delivery.status, delivery.finished_at, delivery.next_attempt_at = "failed", finished, None
        outcome = Outcome("failed", error)
    elif number > len(delays) or delivery.status != "pending":
        delivery.status, delivery.finished_at, delivery.next_attempt_at = "failed", finished, None
        outcome = Outcome(
            "failed", f"{_failure(status, error)} after {number} attempts", None, status
        )
    else:
        wait = float(delays[number - 1])
        delivery.next_attempt_at = finished + timedelta(seconds=wait)
        outcome = Outcome("retry", _failure(status, error), wait, status)
    db.session.commit()
    return outcome


def _failure(status: int | None, error: str) -> str:
    return f"the receiver answered HTTP {status}" if status is not None else error


def _post(url: str, headers: dict[str, str], body: str) -> webhook_transport.Sent:
    """POST the body to a public address only (see :mod:`survey.services.webhook_transport`).

    The URL is checked again against today's rules (an endpoint saved while
    loopback was allowed is refused once it is not); a refusal sends nothing.
    """
    allow_loopback = bool(current_app.config.get("WEBHOOK_ALLOW_HTTP_LOOPBACK"))
    try:
        check_url(url, allow_http_loopback=allow_loopback)
    except WebhookProblem as problem:
        return webhook_transport.Sent(None, f"Refused, nothing sent: {problem}", 0, refused=True)
    return webhook_transport.post(
        url, headers, body.encode(), timeout=TIMEOUT, allow_loopback=allow_loopback
    )


class _Backoff(RetryLater, RetryTask):
    """Try again after ``delay`` s: Huey's RetryTask carries the delay, RetryLater the note."""

    def __init__(self, message: str, delay: float) -> None:
        RetryLater.__init__(self, message)
        self.eta, self.delay = None, delay


@job_task("webhook", retries=1)
def deliver_job(run: JobRun, delivery_id: int) -> dict[str, Any]:
    """The queued job: one attempt; a failure is retried after the next delay, then given up."""
    outcome = attempt(delivery_id)
    if outcome.state == "retry":
        raise _Backoff(outcome.message, outcome.retry_in or 0)
    if outcome.state == "failed":
        raise JobFailed(f"Webhook not delivered: {outcome.message}.")
    return {"delivery": delivery_id, "outcome": outcome.state, "status": outcome.response_status}


@periodic_task(crontab(minute="*"))
def sweep_overdue() -> None:
    """Queue pending deliveries whose job was lost (never queued, or its worker stopped)."""
    overdue = db.session.execute(
        select(WebhookDelivery.id, WebhookEndpoint.organization_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= utcnow() - OVERDUE,
        )
        .limit(500)
    ).all()
    _queue([(delivery_id, org_id) for delivery_id, org_id in overdue])
