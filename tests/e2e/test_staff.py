"""Administrators and coaches in a real browser: open a round, download links, see teams."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import InstrumentVersion, Organization, Team
from survey.services import organizations, rounds
from tests.e2e.conftest import BrowserSession, LiveServer
from tests.survey.accounts_helpers import PASSWORD, AccessWorld, build_access_world

pytestmark = pytest.mark.browser

DRAFT = "Autumn draft"


def add_draft_round(server: LiveServer, world: AccessWorld) -> tuple[int, set[str]]:
    """A draft round for both teams of org A (a third member joins team two); id and members."""
    with server.app.app_context():
        org = db.session.get(Organization, world.org_id)
        team_one = db.session.get(Team, world.team_id)
        team_two = db.session.get(Team, world.other_team_id)
        assert org and team_one and team_two
        organizations.add_participant(team_two, name="Quinn", email="quinn@a.example")
        instrument = db.session.scalars(db.select(InstrumentVersion)).one()
        survey_round = rounds.create_round(
            org, DRAFT, instrument, [team_one, team_two], closes_at=utcnow() + timedelta(days=7)
        )
        db.session.commit()
        members = {p.name or "" for t in (team_one, team_two) for p in organizations.members_of(t)}
        return survey_round.id, members


def test_admin_opens_a_draft_round_and_downloads_a_link_per_member(
    browsing: BrowserSession, live_server: LiveServer, tmp_path: Path
) -> None:
    world = build_access_world(live_server.app)
    round_id, members = add_draft_round(live_server, world)
    assert members == {"Pat", "Sam", "Quinn"}
    page = browsing.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)

    browsing.log_in(page, world.emails["admin"], PASSWORD)
    expect(page).to_have_url(live_server(f"/admin/{world.org_id}/"))
    browsing.check(page)
    page.get_by_role("link", name=DRAFT).click()

    round_url = live_server(f"/admin/{world.org_id}/rounds/{round_id}")
    expect(page).to_have_url(round_url)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"{DRAFT} draft")
    browsing.check(page)
    page.get_by_role("button", name="Open round").click()

    expect(page.get_by_role("status")).to_have_text("Round opened.")
    expect(page).to_have_url(round_url)
    expect(heading).to_have_text(f"{DRAFT} open")
    expect(page.get_by_role("button", name="Open round")).to_have_count(0)
    browsing.check(page)

    with page.expect_download() as started:
        page.get_by_role("button", name="Download links for 3 members without one (CSV)").click()
    download = started.value
    assert download.suggested_filename == f"invitation-links-{round_id}-new.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["participant"] for row in rows} == members
    assert len(rows) == len(members)
    link = re.compile(re.escape(live_server("/s/")) + r"[A-Za-z0-9_-]{20,}")
    assert all(link.fullmatch(row["link"]) for row in rows), rows
    assert len({row["link"] for row in rows}) == len(rows)

    page.goto(round_url)
    expect(
        page.get_by_role("button", name=re.compile("^Download links for 0 members"))
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Not answered yet (3)")).to_be_visible()
    browsing.check(page)

    respondent = browsing.new_page(viewport={"width": 1280, "height": 800})
    respondent.goto(rows[0]["link"])
    expect(respondent).to_have_url(live_server("/survey"))
    expect(respondent.locator(".lead")).to_contain_text(DRAFT)
    browsing.check(respondent)


def test_coach_sees_only_their_own_teams(browsing: BrowserSession, live_server: LiveServer) -> None:
    world = build_access_world(live_server.app)
    page = browsing.new_page(viewport={"width": 1280, "height": 800})

    browsing.log_in(page, world.emails["coach_team"], PASSWORD)
    expect(page).to_have_url(live_server("/coach/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My teams")
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="R1").locator("td")).to_have_text(
        ["Team One", "R1", "open", "0 of 1", "0 of the 5 responses needed"]
    )
    expect(rows.filter(has_text="R0").locator("td")).to_have_text(
        ["Team One", "R0", "closed", "6", "Dashboard"]
    )
    main = page.locator("main")
    for hidden in ("Team Two", "Elsewhere", "Pat", "pat@a.example"):
        expect(main).not_to_contain_text(hidden)
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("Organizations")
    browsing.check(page)

    forbidden = page.goto(f"/admin/{world.org_id}/")
    assert forbidden is not None and forbidden.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    browsing.check(page)


def test_coach_reads_the_dashboard_and_downloads_the_pdf(
    browsing: BrowserSession, live_server: LiveServer, tmp_path
) -> None:
    world = build_access_world(live_server.app)
    page = browsing.new_page(viewport={"width": 1280, "height": 900})
    browsing.log_in(page, world.emails["coach_team"], PASSWORD)
    browsing.check(page)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Team One")
    expect(page.locator("main")).to_contain_text("6 respondents")
    charts = page.locator("figure.chart img")
    expect(charts).to_have_count(4)
    for _ in range(100):  # the CSP forbids wait_for_function's eval; poll instead
        loaded = charts.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
        if all(loaded):
            break
        page.wait_for_timeout(200)
    assert all(loaded), "every chart image loaded"
    browsing.check(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF report").click()
    path = tmp_path / "report.pdf"
    download_info.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
