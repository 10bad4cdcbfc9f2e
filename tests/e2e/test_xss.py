"""Names full of markup are shown as text, and the CSP would stop inline script anyway."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, Response, expect

from analytics.instrument_parser import load_default_instrument
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.services import accounts, organizations, rounds
from survey.services.instruments import store_instrument
from tests.e2e.conftest import BrowserSession, LiveServer
from tests.survey.accounts_helpers import PASSWORD

pytestmark = pytest.mark.browser

PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
ADMIN = "admin@xss.example"
COACH = "coach@xss.example"


@dataclass(frozen=True)
class XssWorld:
    org_id: int
    team_id: int
    round_id: int


def hostile_world(server: LiveServer) -> XssWorld:
    """An organization whose team, member, round (and own name) carry the payload."""
    with server.app.app_context():
        instrument_row, _ = store_instrument(load_default_instrument())
        org, _ = organizations.get_or_create_organization(f"Org {PAYLOAD}")
        team = organizations.create_team(org, PAYLOAD)
        person = organizations.add_participant(team, name=PAYLOAD, email="x@xss.example")
        survey_round = rounds.create_round(
            org, PAYLOAD, instrument_row, [team], status="open",
            closes_at=utcnow() + timedelta(days=5),
        )  # fmt: skip
        rounds.issue_invitation(survey_round, person, utcnow(), timedelta(days=9))
        admin = accounts.create_user(ADMIN, PASSWORD)
        coach = accounts.create_user(COACH, PASSWORD)
        accounts.set_role(admin, org, "admin")
        accounts.set_role(coach, org, "coach")
        accounts.assign_coach(coach, team)
        db.session.commit()
        return XssWorld(org.id, team.id, survey_round.id)


def csp_directives(response: Response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as directive -> sources."""
    header = response.headers.get("content-security-policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_csp_blocks_inline_script(response: Response) -> None:
    directives = csp_directives(response)
    assert directives, f"{response.url} has no Content-Security-Policy header"
    for directive in ("script-src-elem", "script-src-attr", "script-src"):
        sources = directives.get(directive, directives.get("script-src", []))
        sources = sources or directives.get("default-src", [])
        assert sources, f"{response.url}: {directive} falls back to allowing everything"
        assert "'unsafe-inline'" not in sources, f"{response.url}: {directive} {sources}"
        assert "*" not in sources and "data:" not in sources, f"{response.url}: {sources}"


def assert_shown_as_text(page: Page, response: Response | None, dialogs: list[str]) -> None:
    """No payload ran or became markup, and its text is visible literally on the page."""
    assert response is not None and response.ok, page.url
    assert_csp_blocks_inline_script(response)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    injected = page.evaluate(
        """() => ({
            scripts: [...document.scripts].filter(s => s.textContent.includes('__xss')).length,
            images: document.querySelectorAll('img[src="x"]').length,
            handlers: [...document.querySelectorAll('*')].filter(
                e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        })"""
    )
    assert injected == {"scripts": 0, "images": 0, "handlers": 0}
    expect(page.locator("main")).to_contain_text(PAYLOAD)


def test_markup_in_names_is_escaped_on_admin_and_coach_pages(
    browsing: BrowserSession, live_server: LiveServer
) -> None:
    world = hostile_world(live_server)
    admin = browsing.new_page(viewport={"width": 1280, "height": 800})
    browsing.log_in(admin, ADMIN, PASSWORD)
    base = f"/admin/{world.org_id}"

    overview = admin.goto(f"{base}/")
    assert_shown_as_text(admin, overview, browsing.dialogs)
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Org {PAYLOAD}")
    expect(admin.get_by_role("link", name=PAYLOAD, exact=True)).to_have_count(2)  # team, round
    expect(admin.get_by_role("navigation", name=f"Org {PAYLOAD}")).to_be_visible()
    browsing.check(admin)

    team = admin.goto(f"{base}/teams/{world.team_id}")
    assert_shown_as_text(admin, team, browsing.dialogs)
    assert admin.title() == f"{PAYLOAD} · Negoscope"
    expect(admin.locator("main tbody td").first).to_have_text(PAYLOAD)  # the member's name
    expect(admin.locator("#team-name")).to_have_value(PAYLOAD)
    browsing.check(admin)

    survey_round = admin.goto(f"{base}/rounds/{world.round_id}")
    assert_shown_as_text(admin, survey_round, browsing.dialogs)
    assert admin.title() == f"{PAYLOAD} · Negoscope"
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"{PAYLOAD} open")
    for row in ("Completion by team", "Not answered yet (1)"):
        section = admin.locator("section", has=admin.get_by_role("heading", name=row))
        expect(section.locator("tbody td").first).to_have_text(PAYLOAD)
    browsing.check(admin)

    coach = browsing.new_page(viewport={"width": 1280, "height": 800})
    browsing.log_in(coach, COACH, PASSWORD)
    home = coach.goto("/coach/")
    assert_shown_as_text(coach, home, browsing.dialogs)
    expect(coach.locator("main tbody td").nth(0)).to_have_text(PAYLOAD)
    expect(coach.locator("main tbody td").nth(1)).to_have_text(PAYLOAD)
    browsing.check(coach)


def test_csp_stops_script_added_to_the_page(browsing: BrowserSession, page: Page) -> None:
    response = page.goto("/login")
    assert response is not None
    assert_csp_blocks_inline_script(response)
    browsing.check(page)
    page.evaluate(
        """() => {
            window.__violations = [];
            document.addEventListener('securitypolicyviolation',
                e => window.__violations.push(e.effectiveDirective));
            const script = document.createElement('script');
            script.textContent = 'window.__inline = 1';
            document.body.append(script);
            const probe = document.createElement('div');
            probe.setAttribute('onclick', 'window.__handler = 1');
            document.body.append(probe);
            probe.click();
        }"""
    )
    assert page.evaluate("typeof window.__inline") == "undefined"
    assert page.evaluate("typeof window.__handler") == "undefined"
    page.wait_for_function("window.__violations.length >= 2")
    directives = page.evaluate("window.__violations")
    assert {"script-src-elem", "script-src-attr"} <= set(directives), directives
