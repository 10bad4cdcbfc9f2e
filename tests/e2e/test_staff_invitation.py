"""An admin invites a coach in a real browser; the coach sets a password and logs in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from survey.extensions import db
from survey.services import accounts, organizations
from tests.e2e.conftest import BrowserSession, LiveServer
from tests.survey.accounts_helpers import PASSWORD

pytestmark = pytest.mark.browser

NEW_PASSWORD = "plum trellis 47 orbit"


def test_admin_invites_a_coach_who_sets_a_password_and_logs_in(
    browsing: BrowserSession, live_server: LiveServer
) -> None:
    with live_server.app.app_context():
        org, _ = organizations.get_or_create_organization("Org A")
        admin = accounts.create_user("admin@a.example", PASSWORD)
        accounts.set_role(admin, org, "admin")
        db.session.commit()
        org_id = org.id

    admin_page = browsing.new_page(viewport={"width": 1280, "height": 800})
    browsing.log_in(admin_page, "admin@a.example", PASSWORD)
    browsing.check(admin_page)
    admin_page.get_by_role("link", name="Staff", exact=True).click()
    expect(admin_page).to_have_url(live_server(f"/admin/{org_id}/staff"))
    browsing.check(admin_page)
    admin_page.locator("#invite-email").fill("cory@a.example")
    admin_page.locator("#invite-role").select_option("coach")
    admin_page.get_by_role("button", name="Invite", exact=True).click()

    expect(admin_page.get_by_role("heading", level=1)).to_have_text(
        "Set-password link for cory@a.example"
    )
    browsing.check(admin_page)
    link = admin_page.locator("code").inner_text()
    assert re.fullmatch(re.escape(live_server("/set-password/")) + r"[\w-]{40,}", link)

    coach_page = browsing.new_page(viewport={"width": 390, "height": 844})
    coach_page.goto(link)
    expect(coach_page).to_have_url(live_server("/set-password"))  # the token left the address bar
    expect(coach_page.get_by_role("heading", level=1)).to_have_text("Welcome to Negoscope")
    browsing.check(coach_page)
    coach_page.locator("#new").fill(NEW_PASSWORD)
    coach_page.locator("#confirm").fill(NEW_PASSWORD)
    coach_page.get_by_role("button", name="Set password").click()
    expect(coach_page).to_have_url(live_server("/login"))
    expect(coach_page.get_by_role("status")).to_contain_text("Your password is set")
    browsing.check(coach_page)
    browsing.log_in(coach_page, "cory@a.example", NEW_PASSWORD)
    browsing.check(coach_page)

    admin_page.goto(f"/admin/{org_id}/staff")
    row = admin_page.get_by_role("row").filter(has_text="cory@a.example")
    expect(row).to_contain_text("active")
    browsing.check(admin_page)
