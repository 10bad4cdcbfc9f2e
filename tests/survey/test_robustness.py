"""Bad input gets a 4xx with a message, never a 500, on SQLite and PostgreSQL.

The fuzz test walks ``app.url_map``. For every route it first sends one
plausible request and notes which query and form fields the view reads; then
hypothesis sends that route random, huge, NUL, control-character and
non-UTF-8 values in those fields (one or two at a time, the rest kept valid so
that the bad value gets past the others), in the URL's parts, and in fields
nobody asked for, as an admin, a respondent and an anonymous visitor. The
named tests below pin the cases issue #15 reported.
"""

from __future__ import annotations

import base64
import re
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask, Request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import InstrumentVersion, Organization, Team
from survey.services import organizations, rounds
from tests.conftest import make_app
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from, page_values

HUGE = 100_000
WHO = ("admin", "respondent", "anonymous")
EXAMPLES_PER_FIELD = 5
EXAMPLES_PER_ROUTE = 6
ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")
# Values that broke something once, or sit on a boundary.
NASTY = (
    "",
    " ",
    "\x00",
    "Zo\x00e",
    "\r\nBcc: victim@example.org",
    "=?utf-8?q?Ada=0D=0ABcc:_x@example.org?=",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    str(2**31),
    str(2**63),
    "-1",
    "1e309",
    "y",
    "x" * HUGE,
    "é" * 5_000,
    "\ud7ff\ue000\uffff",
    "<script>alert(1)</script>",
)
READ: set[str] = set()


class ReadTracking(ImmutableMultiDict):  # type: ignore[type-arg]
    """Query and form data that note which keys a view asks for (in :data:`READ`)."""

    def __getitem__(self, key: Any) -> Any:
        READ.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        READ.add(str(key))
        return super().__contains__(key)

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:
        READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key: Any, type: Any = None) -> Any:
        READ.add(key)
        return super().getlist(key, type)


class TrackingRequest(Request):
    parameter_storage_class = ReadTracking


def bad_values() -> st.SearchStrategy[str | bytes]:
    """The nasty list, random text (any code point), and raw bytes that are not UTF-8."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.sampled_from(NASTY),
        st.text(max_size=30),
        st.binary(min_size=1, max_size=12).map(lambda b: b"\xff" + b),
    )


def int_values(known: list[int]) -> st.SearchStrategy[str]:
    """Mostly an id that exists for this argument, else any number."""
    return st.one_of(
        st.sampled_from(known).map(str),
        st.sampled_from(known).map(str),
        st.sampled_from(known).map(str),
        st.integers(min_value=0, max_value=2**70).map(str),
        st.sampled_from([str(2**31 - 1), str(2**31), str(2**63), "0", "007"]),
    )


def path_values(rule: Rule, known: dict[str, list[int]]) -> st.SearchStrategy[dict[str, str]]:
    """A value for each part of the rule's URL: usually one that exists, sometimes not."""
    parts = {}
    for converter, options, name in ARGUMENT.findall(rule.rule):
        if converter == "int":
            parts[name] = int_values(known.get(name, [1]))
        elif converter == "any":
            choices = [o.strip().strip("'\"") for o in options.split(",")]
            parts[name] = st.one_of(st.sampled_from(choices), st.text(max_size=10))
        else:
            parts[name] = st.one_of(st.text(max_size=40), st.sampled_from(NASTY[:14])).filter(
                lambda v: v not in ("", ".", "..")
            )
    return st.fixed_dictionaries(parts)


def fill(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each argument replaced by its (percent-quoted) value."""
    return ARGUMENT.sub(lambda m: quote(values[m.group(3)], safe=""), rule.rule)


def valid_values(world: AccessWorld) -> dict[str, str]:
    """A value each form field of the app accepts, so a request fails on the field made bad."""
    values = dict(page_values(1))
    values.update(
        name="Nova",
        email="nova@a.example",
        password="not the password, sorry",
        current="not the password, sorry",
        new="a fresh passphrase 42",
        confirm="y",
        consent="y",
        nav="next",
        closes_on="2031-01-01",
        mode="confidential",
        instrument="1",
        teams=str(world.team_id),
        coach=str(world.coach_id),
        format="csv",
        k="5",
        payload=base64.b64encode(b"name,email,team\nIvy,ivy@a.example,Team One\n").decode(),
    )
    return values


def usual_visitor(rule: Rule) -> str:
    """Who the page is for: the respondent, a visitor who is not logged in, or the admin."""
    if rule.endpoint.startswith("respond."):
        return "respondent"
    return "anonymous" if rule.endpoint == "auth.login" else "admin"


@pytest.fixture
def fuzz_app(database_url: str, tmp_path: Path) -> Flask:
    """CSRF off so that posts reach the views; email goes to a closed port (fails fast)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = make_app(
        database_url, tmp_path, WTF_CSRF_ENABLED=False, SMTP_URL=f"smtp://127.0.0.1:{closed_port}"
    )
    app.request_class = TrackingRequest
    return app


def respondent_token(app: Flask, world: AccessWorld) -> str:
    """A member invited to an open round of their own, so the admin's fuzzing rarely ends it."""
    with app.app_context():
        org = db.session.get(Organization, world.org_id)
        team = db.session.get(Team, world.team_id)
        instrument = db.session.scalars(select(InstrumentVersion)).first()
        fuzz_round = rounds.create_round(
            org, "Fuzz", instrument, [team], status="open", closes_at=utcnow() + timedelta(days=5)
        )
        person = organizations.add_participant(team, name="Remy", email="remy@a.example")
        _, token = rounds.issue_invitation(fuzz_round, person, utcnow(), timedelta(days=9))
        db.session.commit()
        return token


def clients(app: Flask, world: AccessWorld) -> dict[str, FlaskClient]:
    """An admin logged in, a respondent past the consent page, and an anonymous visitor."""
    admin = app.test_client()
    log_in(admin, world.emails["admin"])
    respondent = app.test_client()
    assert respondent.get(f"/s/{respondent_token(app, world)}").status_code == 302
    assert respondent.post("/survey/start", data={"consent": "y"}).status_code == 302
    return {"admin": admin, "respondent": respondent, "anonymous": app.test_client()}


def sender(by_who: dict[str, FlaskClient]) -> Callable[..., None]:
    """A function that sends one request and asserts it did not end in a 5xx."""

    def send(who: str, method: str, path: str, pairs: list[tuple[str, str | bytes]]) -> None:
        encoded = urlencode(pairs)
        if method == "POST":
            response = by_who[who].post(
                path, data=encoded, content_type="application/x-www-form-urlencoded"
            )
        else:
            response = by_who[who].get(path, query_string=encoded)
        shown = f"{who} {method} {path[:120]} {encoded[:400]!r}"
        assert response.status_code < 500, shown
        if response.status_code == 400 and response.mimetype == "text/html":
            assert "<h1>" in response.get_data(as_text=True), shown

    return send


def test_no_input_gives_a_server_error(fuzz_app: Flask) -> None:
    world = build_access_world(fuzz_app)
    known = {
        "org_id": [world.org_id, world.org_id, world.other_org_id],
        "team_id": [world.team_id, world.team_id, world.other_team_id],
        "round_id": [world.round_id, world.report_round_id],
        "invitation_id": [world.invitation_id],
        "user_id": [world.coach_id],
        "participant_id": [world.participant_id],
        "instrument_id": [1],
        "counterparty_id": [1],
        "commitment_id": [1],
        "number": [1, 1, 2],
        "token_id": [1],  # the admin API page's ids (#17)
        "endpoint_id": [1],
        "job_id": [1],
        "member_id": [world.participant_id],
    }
    valid = valid_values(world)
    send = sender(clients(fuzz_app, world))
    rules = [r for r in fuzz_app.url_map.iter_rules() if r.endpoint != "auth.logout"]
    assert len(rules) > 30
    for rule in sorted(rules, key=lambda r: r.rule):
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for method in methods:
            READ.clear()
            ids = {n: str(known[n][0]) for c, _, n in ARGUMENT.findall(rule.rule) if c == "int"}
            ids.update(
                {n: o.split(",")[0] for c, o, n in ARGUMENT.findall(rule.rule) if c == "any"}
            )
            ids.setdefault("token", "no-such-token")
            ids.setdefault("filename", "negoscope.css")
            ids.setdefault("name", "swagger-ui.css")
            ids.setdefault("kind", "blockers")
            send(usual_visitor(rule), method, fill(rule, ids), list(valid.items()))
            fields = sorted(READ - {"csrf_token"}) or ["q"]
            fuzz_route(send, rule, method, fields, valid, known)


def fuzz_route(send, rule, method, fields, valid, known) -> None:  # type: ignore[no-untyped-def]
    """Hypothesis on one route: bad values in the fields it reads and in its URL."""
    examples = EXAMPLES_PER_ROUTE + EXAMPLES_PER_FIELD * len(fields)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        who=st.one_of(st.just(usual_visitor(rule)), st.sampled_from(WHO)),
        parts=path_values(rule, known),
        bad=st.dictionaries(st.sampled_from(fields), bad_values(), min_size=1, max_size=2),
        dropped=st.lists(st.sampled_from(fields), max_size=1),
        extra=st.lists(st.tuples(st.text(max_size=8), bad_values()), max_size=1),
    )
    def one_request(who, parts, bad, dropped, extra) -> None:  # type: ignore[no-untyped-def]
        form: dict[str, str | bytes] = {k: v for k, v in valid.items() if k in fields}
        form.update(bad)
        for name in dropped:
            form.pop(name, None)
        send(who, method, fill(rule, parts), [*form.items(), *extra])

    one_request()


# --- the reported cases, one by one --------------------------------------------------------


@pytest.fixture
def world_client(database_url: str, tmp_path: Path) -> tuple[Flask, AccessWorld, FlaskClient]:
    app = make_app(database_url, tmp_path)
    world = build_access_world(app)
    client = app.test_client()
    return app, world, client


def test_nul_or_control_character_in_login_email_is_a_400_with_a_message(
    client: FlaskClient,
) -> None:
    token = csrf_from(client.get("/login"))
    nul = client.post(
        "/login", data={"csrf_token": token, "email": "a\x00@b.example", "password": "x" * 12}
    )
    assert nul.status_code == 400
    assert "NUL character" in nul.get_data(as_text=True)
    escape = client.post(
        "/login", data={"csrf_token": token, "email": "a\x1b@b.example", "password": "x" * 12}
    )
    assert escape.status_code == 400
    assert "control character (U+001B)" in escape.get_data(as_text=True)


def test_nul_or_line_break_in_team_or_member_name_is_a_400(world_client) -> None:  # type: ignore[no-untyped-def]
    _, world, client = world_client
    log_in(client, world.emails["admin"])
    token = csrf_from(client.get(f"/admin/{world.org_id}/teams/{world.team_id}"))
    team_url = f"/admin/{world.org_id}/teams"
    member_url = f"/admin/{world.org_id}/teams/{world.team_id}/members"
    for url in (team_url, member_url):
        response = client.post(url, data={"csrf_token": token, "name": "Zo\x00e"})
        assert response.status_code == 400
        assert "NUL character" in response.get_data(as_text=True)
    member = client.post(member_url, data={"csrf_token": token, "name": "Zo\re"})
    assert member.status_code == 400
    assert "control character (U+000D)" in member.get_data(as_text=True)
    team = client.post(team_url, data={"csrf_token": token, "name": "Zo\re"})
    assert team.status_code == 303  # the team form answers with a message after a redirect
    shown = client.get(team.headers["Location"]).get_data(as_text=True)
    assert "Team name: Remove the control character (U+000D)" in shown


BIG_ID_PATHS = (
    "/admin/{big}/",
    "/admin/{org}/teams/{big}",
    "/admin/{org}/rounds/{big}",
    "/coach/teams/{big}/rounds/1/",
    "/survey/page/{big}",
)
AUDIT_QUERIES = (
    ("until=9999-12-31", "until: use a date between 1970-01-01 and 9998-12-31"),
    ("since=0001-01-01", "since: use a date between 1970-01-01 and 9998-12-31"),
    ("since=2025-02-30", "is not a date"),
    ("action=nonsense", "choose one of the listed actions"),
)


def test_ids_beyond_an_integer_column_are_not_found(world_client) -> None:  # type: ignore[no-untyped-def]
    _, world, client = world_client
    log_in(client, world.emails["admin"])
    for path in BIG_ID_PATHS:
        for big in (2**31 - 1, 2**31, 2**63, 2**64, 10**30):
            url = path.format(big=big, org=world.org_id)
            assert client.get(url).status_code == 404, url


def test_audit_filter_out_of_range_is_a_400_with_a_message(world_client) -> None:  # type: ignore[no-untyped-def]
    _, world, client = world_client
    log_in(client, world.emails["admin"])
    for query, message in AUDIT_QUERIES:
        response = client.get(f"/admin/{world.org_id}/audit?{query}")
        assert response.status_code == 400, query
        assert message in response.get_data(as_text=True), query
    assert client.get(f"/admin/{world.org_id}/audit?until=9998-12-31").status_code == 200


def test_extending_to_the_end_of_time_is_a_form_error(world_client) -> None:  # type: ignore[no-untyped-def]
    _, world, client = world_client
    log_in(client, world.emails["admin"])
    url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    token = csrf_from(client.get(url))
    response = client.post(f"{url}/extend", data={"csrf_token": token, "closes_on": "9999-12-31"})
    assert response.status_code == 400
    assert "Use a date between 1970-01-01 and 9998-12-31" in response.get_data(as_text=True)
