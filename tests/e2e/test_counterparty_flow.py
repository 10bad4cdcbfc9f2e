"""A coach runs the counterparty assessment and the session kit in a real browser (#16).

The coach adds a counterparty, opens a counterparty round for a team, sees the gap
view once enough members have rated, downloads the team report with the
counterparty page and the deal worksheet, records commitments, and the team's next
round shows them beside the change.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from survey.extensions import db
from survey.models import Organization, Team
from survey.services import accounts, organizations
from tests.e2e.conftest import BrowserSession, LiveServer
from tests.survey.accounts_helpers import PASSWORD
from tests.survey.counterparty_helpers import rate
from tests.survey.kit_helpers import released_round

pytestmark = pytest.mark.browser

COACH = "coach@a.example"


def _world(server: LiveServer) -> tuple[int, int, int]:
    """Org A, its Bid Team of 6 members released in round "Spring" (6 answers), a coach."""
    app = server.app
    with app.app_context():
        from analytics.instrument_parser import load_default_instrument
        from survey.services.instruments import store_instrument

        store_instrument(load_default_instrument())
        org, _ = organizations.get_or_create_organization("Org A")
        team = organizations.create_team(org, "Bid Team")
        for index in range(6):
            organizations.add_participant(team, name=f"Member {index}", email=f"m{index}@a.example")
        coach = accounts.create_user(COACH, PASSWORD)
        accounts.set_role(coach, org, "coach")
        accounts.assign_coach(coach, team)
        db.session.commit()
        org_id, team_id = org.id, team.id
    spring = released_round(app, org_id, "Spring", {team_id: 6}, seed=2)
    return org_id, team_id, spring


def _pdf_text(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())


def _download(page: Page, name: str, tmp_path: Path, file_name: str) -> Path:
    with page.expect_download() as download:
        page.get_by_role("link", name=name).click()
    path = tmp_path / file_name
    download.value.save_as(path)
    return path


def test_coach_rates_a_counterparty_prepares_a_deal_and_follows_up_commitments(
    browsing: BrowserSession, live_server: LiveServer, tmp_path: Path
) -> None:
    org_id, team_id, spring = _world(live_server)
    page = browsing.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    browsing.log_in(page, COACH, PASSWORD)
    browsing.check(page)

    # Add a counterparty and open a counterparty round for the team.
    page.get_by_role("link", name=re.compile(r"^Bid Team\s*: counterparties$")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Counterparties")
    browsing.check(page)
    page.locator("#cp-name").fill("Globex")
    page.locator("#cp-kind").select_option("customer")
    page.locator("#cp-deal").fill("Renewal 2027")
    page.get_by_role("button", name="Add counterparty").click()
    expect(page.get_by_role("status")).to_contain_text("Counterparty Globex added")
    browsing.check(page)
    page.locator("#round-counterparty").select_option(label="Globex")
    page.locator("#round-name").fill("Globex rating")
    page.get_by_role("button", name="Open round and show links").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Globex rating is open")
    browsing.check(page)
    links = re.findall(re.escape(live_server("/s/")) + r"[A-Za-z0-9_-]+", page.content())
    tokens = sorted({link.rsplit("/", 1)[1] for link in links})
    assert len(tokens) == 6

    # Four members rate Globex: the gap view waits for the fifth.
    for token in tokens[:4]:
        rate(live_server.app, token, "4")
    page.goto(f"/coach/teams/{team_id}/counterparties/")
    page.get_by_role("link", name="Gap view of Globex rating").click()
    expect(page.get_by_role("status")).to_contain_text("Not enough ratings yet (4 of 5)")
    browsing.check(page)
    rate(live_server.app, tokens[4], "4")
    page.reload()
    expect(page.get_by_role("heading", name="What the comparison finds")).to_be_visible()
    expect(page.locator("figure img")).to_be_visible()
    browsing.check(page)

    # The team report carries the counterparty page and the session agenda.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My teams").click()
    browsing.check(page)
    page.get_by_role("row", name=re.compile("Spring")).get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bid Team")
    browsing.check(page)
    report = _download(page, "Download PDF report", tmp_path, "spring.pdf")
    text = _pdf_text(report)
    assert "Globex" in text and "What the comparison shows" in text
    assert "Session agenda for the coach" in text

    # The deal worksheet: a printable page and the same worksheet as a PDF.
    page.get_by_role("link", name="Deal worksheet").first.click()
    browsing.check(page)
    page.locator("#counterparty").select_option(label="Globex")
    page.get_by_role("button", name="Show worksheet").click()
    expect(page.locator("#deal")).to_have_value("Renewal 2027")  # the counterparty's deal
    question = "What does success mean for us in Renewal 2027, beyond price?"
    expect(page.get_by_role("heading", name=question)).to_be_visible()
    browsing.check(page)
    sheet = _pdf_text(_download(page, "Download PDF worksheet", tmp_path, "sheet.pdf"))
    assert "Renewal 2027" in sheet and question in sheet
    assert "Globex" in sheet

    # The facilitator agenda, printable.
    page.goto(f"/coach/teams/{team_id}/rounds/{spring}/")
    page.get_by_role("link", name="Facilitator agenda").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Session agenda for the coach")
    expect(page.locator("main")).to_contain_text("minutes")
    browsing.check(page)

    # Record two commitments on the dashboard; a due date in the past is refused.
    page.goto(f"/coach/teams/{team_id}/rounds/{spring}/")
    due = date.today() + timedelta(days=45)
    for play, owner in (("Logrolling (trading across issues)", "account lead"),
                        ("Objective criteria", "bid manager")):  # fmt: skip
        page.locator("#play").select_option(label=play)
        page.locator("#owner_role").fill(owner)
        page.locator("#due_on").fill(due.isoformat())
        page.get_by_role("button", name="Add commitment").click()
        expect(page.get_by_role("status")).to_contain_text("Commitment recorded")
    plan = page.locator("#action-plan")
    expect(plan).to_contain_text("account lead")
    expect(plan).to_contain_text("bid manager")
    browsing.check(page)
    page.locator("#play").select_option(label="Objective criteria")
    page.locator("#owner_role").fill("sales lead")
    page.locator("#due_on").fill((date.today() - timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Add commitment").click()
    expect(page.get_by_role("alert")).to_contain_text("Due date")
    expect(page.locator("#owner_role")).to_have_value("sales lead")  # what was typed is kept
    browsing.check(page)

    # The team's next round: its dashboard and report show the commitments.
    with live_server.app.app_context():
        org = db.session.get(Organization, org_id)
        assert org is not None and db.session.get(Team, team_id) is not None
    autumn = released_round(live_server.app, org_id, "Autumn", {team_id: 6}, seed=8, shift=-1)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My teams").click()
    page.get_by_role("row", name=re.compile("Autumn")).get_by_role("link", name="Dashboard").click()
    followups = page.locator("#followups")
    expect(followups).to_contain_text("Commitments from the last round")
    expect(followups).to_contain_text("Logrolling (trading across issues)")
    expect(followups).to_contain_text(f"account lead, due {due.isoformat()}")
    expect(page.locator("#trend")).to_contain_text("Since Spring:")
    browsing.check(page)
    autumn_report = _pdf_text(_download(page, "Download PDF report", tmp_path, "autumn.pdf"))
    assert "Commitments from the last round" in autumn_report
    assert "account lead" in autumn_report and "bid manager" in autumn_report
    assert "Across all rounds" in autumn_report
    assert autumn
