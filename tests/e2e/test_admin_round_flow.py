"""An admin runs a whole round in a real browser, without the command line (#15)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from analytics.instrument_parser import load_default_instrument
from survey.extensions import db
from survey.services import accounts, organizations
from tests.e2e.conftest import BrowserSession, LiveServer
from tests.survey.accounts_helpers import PASSWORD

pytestmark = pytest.mark.browser

INSTRUMENT = Path(__file__).parents[2] / "analytics/instruments/negotiation-blockers-v1.yaml"


def test_admin_runs_a_round_in_the_browser(
    browsing: BrowserSession, live_server: LiveServer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with live_server.app.app_context():
        org, _ = organizations.get_or_create_organization("Org A")
        admin = accounts.create_user("admin@a.example", PASSWORD)
        accounts.set_role(admin, org, "admin")
        db.session.commit()
    page = browsing.new_page(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    browsing.log_in(page, "admin@a.example", PASSWORD)
    browsing.check(page)

    page.locator("#timezone").fill("Europe/Berlin")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_role("status")).to_have_text(
        "Dates are now read and shown in Europe/Berlin."
    )
    browsing.check(page)

    page.get_by_role("link", name="Instruments", exact=True).click()
    browsing.check(page)
    page.locator("#file").set_input_files(INSTRUMENT)
    page.get_by_role("button", name="Check and store").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trust")
    browsing.check(page)
    page.get_by_role("link", name="Next page").click()
    expect(page.locator(".progress label")).to_have_text("Page 2 of 8")
    browsing.check(page)

    page.get_by_role("link", name="Overview").click()
    page.locator("#new-team").fill("Bid Team")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bid Team")
    browsing.check(page)
    for name in ("Ada", "Bo"):
        page.locator("#member-name").fill(name)
        page.locator("#member-email").fill(f"{name.lower()}@a.example")
        page.get_by_role("button", name="Add member").click()
        expect(page.get_by_role("status")).to_have_text(f"Added {name}.")
    browsing.check(page)

    closes = date.today() + timedelta(days=14)
    page.get_by_role("link", name="New round").click()
    browsing.check(page)
    page.locator("#name").fill("Autumn")
    page.get_by_label("Bid Team").check()
    page.locator("#closes_on").fill(closes.isoformat())
    page.get_by_role("button", name="Create round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Autumn draft")
    expect(page.locator("main")).to_contain_text(f"closes end of {closes.isoformat()}")
    browsing.check(page)
    page.get_by_role("link", name="Change name, teams, instrument, dates or mode").click()
    browsing.check(page)
    page.locator("#name").fill("Autumn 2026")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Autumn 2026 draft")
    page.get_by_role("button", name="Open round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Autumn 2026 open")
    browsing.check(page)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download links for 2 members without one (CSV)").click()
    path = tmp_path / "links.csv"
    download.value.save_as(path)
    with path.open(newline="") as handle:
        assert {row["participant"] for row in csv.DictReader(handle)} == {"Ada", "Bo"}
    page.reload()  # a download leaves the page as it was
    expect(page.get_by_role("heading", name="Not answered yet (2)")).to_be_visible()
    browsing.check(page)

    page.get_by_role("row", name="Ada").get_by_role("button", name="New link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New link for Ada")
    copy = page.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()  # shown once the script has run
    browsing.check(page)
    copy.click()
    expect(page.locator("#link-url-status")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#link-url").inner_text()
    assert copied.startswith(live_server("/s/"))

    page.get_by_role("link", name="Back to Autumn 2026").click()
    page.locator("#confirm-close").check()
    page.get_by_role("button", name="Close round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Autumn 2026 closed")
    browsing.check(page)
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("main")).to_contain_text("round_closed")
    browsing.check(page)
    assert load_default_instrument().id == "negotiation-blockers"
