"""Helpers that drive the respondent pages the way a browser would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from analytics.instrument_parser import load_default_instrument
from survey.services.questionnaire import build_pages

CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
PAGES = build_pages(load_default_instrument())


def csrf_from(response: TestResponse) -> str:
    """The CSRF token embedded in a rendered form."""
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, "page has no CSRF token"
    return match.group(1)


def page_values(number: int, value: str = "4") -> dict[str, str]:
    """Answers for every field of one page (context questions get their first option)."""
    page = PAGES[number - 1]
    values = {p.item.id: value for p in page.items}
    values.update({q.id: q.options[0] for q in page.context})
    return values


def open_and_consent(client: FlaskClient, token: str) -> None:
    """Follow the invitation link and agree on the landing page."""
    assert client.get(f"/s/{token}").status_code == 302
    landing = client.get("/survey")
    assert landing.status_code == 200
    started = client.post("/survey/start", data={"csrf_token": csrf_from(landing), "consent": "y"})
    assert started.status_code == 302, started.get_data(as_text=True)


def post_page(
    client: FlaskClient, number: int, values: dict[str, str], nav: str = "next"
) -> TestResponse:
    """Load a page for its CSRF token, then post the given values."""
    shown = client.get(f"/survey/page/{number}")
    assert shown.status_code == 200, shown.get_data(as_text=True)
    data = {"csrf_token": csrf_from(shown), "nav": nav, **values}
    return client.post(f"/survey/page/{number}", data=data)


def answer_everything(client: FlaskClient, token: str, value: str = "4") -> None:
    """Open the link and answer every page."""
    open_and_consent(client, token)
    for page in PAGES:
        response = post_page(client, page.number, page_values(page.number, value))
        assert response.status_code == 302, response.get_data(as_text=True)


def submit(client: FlaskClient) -> TestResponse:
    """Post the review page's submit form."""
    review = client.get("/survey/review")
    return client.post("/survey/submit", data={"csrf_token": csrf_from(review)})
