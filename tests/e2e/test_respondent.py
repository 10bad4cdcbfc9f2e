"""A respondent answers the questionnaire in a real browser: on a phone, and by keyboard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from analytics.instrument_parser import load_default_instrument
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.services import organizations, rounds
from survey.services.instruments import store_instrument
from survey.services.questionnaire import Page as SurveyPage
from survey.services.questionnaire import build_pages
from tests.e2e.conftest import BrowserSession, LiveServer

pytestmark = pytest.mark.browser

PAGES = build_pages(load_default_instrument())
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "screen": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
SKIPPED_ITEM = PAGES[1].items[1].item.id  # one statement left blank on purpose
RESUME_AT = len(PAGES) // 2 + 1  # the first page of the second half


def invite(server: LiveServer, round_name: str = "Spring check-in") -> str:
    """An open round of the default instrument with one invited member; their token."""
    with server.app.app_context():
        instrument_row, _ = store_instrument(load_default_instrument())
        org, _ = organizations.get_or_create_organization("Acme")
        team, _ = organizations.get_or_create_team(org, "Deal Desk")
        survey_round = rounds.create_round(
            org, round_name, instrument_row, [team], status="open",
            opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=10),
        )  # fmt: skip
        person = organizations.add_participant(team, name="Robin", email="robin@acme.example")
        _, token = rounds.issue_invitation(survey_round, person, utcnow(), timedelta(days=30))
        db.session.commit()
        return token


def chosen_ids(survey_page: SurveyPage) -> list[str]:
    """The radio id picked for every question of a page (varied values, one skip)."""
    ids = []
    for index, entry in enumerate(survey_page.items):
        item_id = entry.item.id
        if item_id == SKIPPED_ITEM:
            ids.append(f"{item_id}-skip")
        else:
            points = entry.scale.points
            ids.append(f"{item_id}-{points[(survey_page.number + index) % len(points)]}")
    for index, question in enumerate(survey_page.context):
        ids.append(f"{question.id}-skip" if index % 2 else f"{question.id}-{index + 2}")
    return ids


def assert_fits_phone(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways on a phone: {width}px wide"


def answer_by_tapping_labels(page: Page, survey_page: SurveyPage) -> None:
    """Click the label of each chosen answer (never the radio itself) and check it took."""
    for radio_id in chosen_ids(survey_page):
        page.locator(f'label[for="{radio_id}"]').click()
        expect(page.locator(f"#{radio_id}")).to_be_checked()


def assert_still_checked(page: Page, survey_page: SurveyPage) -> None:
    for radio_id in chosen_ids(survey_page):
        expect(page.locator(f"#{radio_id}")).to_be_checked()
    checked = page.locator("input[type=radio]:checked")
    expect(checked).to_have_count(len(survey_page.field_names))


def on_page(page: Page, number: int) -> None:
    expect(page).to_have_url(re.compile(rf"/survey/page/{number}$"))
    expect(page.get_by_text(f"Page {number} of {len(PAGES)}")).to_be_visible()


def test_phone_respondent_stops_halfway_and_resumes_in_a_new_browser(
    browsing: BrowserSession, live_server: LiveServer
) -> None:
    token = invite(live_server)
    page = browsing.new_page(**PHONE)

    page.goto(f"/s/{token}")
    expect(page).to_have_url(live_server("/survey"))
    assert token not in page.url
    assert token not in page.evaluate("location.href + document.documentElement.outerHTML")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    browsing.check(page)
    assert_fits_phone(page)

    page.locator('label[for="consent"]').click()
    expect(page.locator("#consent")).to_be_checked()
    page.get_by_role("button", name="Start").click()
    for survey_page in PAGES[: RESUME_AT - 1]:
        on_page(page, survey_page.number)
        browsing.check(page)
        assert_fits_phone(page)
        answer_by_tapping_labels(page, survey_page)
        page.get_by_role("button", name="Save and continue").click()
    on_page(page, RESUME_AT)
    browsing.check(page)
    page.context.close()  # the phone's browser is closed halfway through

    page = browsing.new_page(**PHONE)
    page.goto(f"/s/{token}")
    expect(page).to_have_url(live_server("/survey"))
    resume = page.get_by_role("link", name="Continue where you left off")
    expect(resume).to_contain_text(f"page {RESUME_AT}")
    expect(page.locator("#consent")).to_have_count(0)
    browsing.check(page)
    assert_fits_phone(page)
    resume.click()
    on_page(page, RESUME_AT)
    browsing.check(page)
    expect(page.locator("input[type=radio]:checked")).to_have_count(0)

    page.get_by_role("button", name="Back", exact=True).click()
    on_page(page, RESUME_AT - 1)
    browsing.check(page)
    assert_still_checked(page, PAGES[RESUME_AT - 2])
    for survey_page in PAGES[: RESUME_AT - 2]:
        page.goto(f"/survey/page/{survey_page.number}")
        browsing.check(page)
        assert_still_checked(page, survey_page)

    page.goto(f"/survey/page/{RESUME_AT}")
    for survey_page in PAGES[RESUME_AT - 1 :]:
        on_page(page, survey_page.number)
        browsing.check(page)
        assert_fits_phone(page)
        answer_by_tapping_labels(page, survey_page)
        last = survey_page.number == len(PAGES)
        page.get_by_role("button", name="Review answers" if last else "Save and continue").click()

    expect(page).to_have_url(live_server("/survey/review"))
    expect(page.get_by_role("heading", name="You left 1 statement blank")).to_be_visible()
    skipped_text = next(e.item.text for p in PAGES for e in p.items if e.item.id == SKIPPED_ITEM)
    expect(page.locator("dt", has_text=skipped_text).locator("+ dd")).to_have_text("left blank")
    browsing.check(page)
    assert_fits_phone(page)
    page.get_by_role("button", name="Submit my answers").click()

    expect(page).to_have_url(live_server("/survey/thanks"))
    expect(page.get_by_role("status")).to_have_text("Your answers have been submitted.")
    browsing.check(page)
    assert_fits_phone(page)


POINTER_COUNTER = """
window.__pointerEvents = 0;
for (const type of ["pointerdown", "mousedown", "touchstart"]) {
  addEventListener(type, () => { window.__pointerEvents += 1; }, true);
}
"""


def tab(page: Page, backwards: bool = False) -> str:
    """Press Tab and describe what has the focus: its id, or its text."""
    page.keyboard.press("Shift+Tab" if backwards else "Tab")
    return page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")


def assert_no_pointer(page: Page) -> None:
    assert page.evaluate("window.__pointerEvents") == 0, "a pointer was used"


def test_keyboard_only_respondent_answers_a_page(
    browsing: BrowserSession, live_server: LiveServer
) -> None:
    token = invite(live_server)
    page = browsing.new_page(viewport={"width": 1024, "height": 768})
    page.context.add_init_script(POINTER_COUNTER)

    page.goto(f"/s/{token}")
    expect(page).to_have_url(live_server("/survey"))
    browsing.check(page)
    assert tab(page) == "Skip to content"
    assert tab(page) == "consent"
    page.keyboard.press("Space")
    expect(page.locator("#consent")).to_be_checked()
    assert tab(page) == "Start"
    assert_no_pointer(page)
    page.keyboard.press("Enter")

    on_page(page, 1)
    browsing.check(page)
    first = PAGES[0]
    ids = [entry.item.id for entry in first.items]
    assert tab(page) == "Skip to content"
    page.keyboard.press("Enter")  # jump over the header to the questions
    # Each radio group is one tab stop; arrows move within it and select (wrapping around).
    keys = [["Space"], ["ArrowDown", "ArrowDown"], ["ArrowUp"], ["ArrowRight"] * 4, ["ArrowDown"]]
    expected = [f"{ids[0]}-1", f"{ids[1]}-3", f"{ids[2]}-skip", f"{ids[3]}-5", f"{ids[4]}-2"]
    for item_id, presses, want in zip(ids, keys, expected, strict=True):
        assert tab(page) == f"{item_id}-1"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none"), "keyboard focus is not visible"
        for key in presses:
            page.keyboard.press(key)
        expect(page.locator(f"#{want}")).to_be_checked()
        expect(page.locator(f"#{want}")).to_be_focused()
    assert tab(page) == "Save and continue"
    assert_no_pointer(page)
    page.keyboard.press("Enter")

    on_page(page, 2)
    browsing.check(page)
    page.goto("/survey/page/1")
    browsing.check(page)
    for want in expected:
        expect(page.locator(f"#{want}")).to_be_checked()
    expect(page.locator("input[type=radio]:checked")).to_have_count(len(expected))
    assert_no_pointer(page)


def test_on_a_phone_the_whole_answer_box_takes_a_tap(
    browsing: BrowserSession, live_server: LiveServer
) -> None:
    """Tapping anywhere in an answer's box, away from its radio and its words, picks it.

    Each spot is checked twice: what the browser hits there belongs to the
    answer's label (no touch-target adjustment involved), and a click there
    checks the radio.
    """
    token = invite(live_server)
    page = browsing.new_page(**PHONE)
    page.goto(f"/s/{token}")
    browsing.check(page)
    page.locator('label[for="consent"]').click()
    page.get_by_role("button", name="Start").click()
    on_page(page, 1)
    browsing.check(page)
    item = PAGES[0].items[0]
    for value in (item.scale.points[0], item.scale.points[-1], "skip"):
        radio_id = f"{item.item.id}-{value}"
        box = page.locator(".choice", has=page.locator(f"#{radio_id}")).bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] >= 44, box
        left, top = box["x"] + 3, box["y"] + 3
        right, bottom = box["x"] + box["width"] - 3, box["y"] + box["height"] - 3
        middle = box["x"] + box["width"] * 0.75
        for x, y in ((right, top), (left, bottom), (right, bottom), (middle, top)):
            hit = page.evaluate(
                "([x, y]) => document.elementFromPoint(x, y)?.closest('label')?.control?.id",
                [x, y],
            )
            assert hit == radio_id, f"({x:.0f}, {y:.0f}) in the box of {radio_id} hits {hit}"
            page.evaluate("document.querySelectorAll('input[type=radio]:checked')"
                          ".forEach(r => { r.checked = false; })")  # fmt: skip
            page.mouse.click(x, y)
            expect(page.locator(f"#{radio_id}")).to_be_checked()


def test_pages_print_without_navigation_or_buttons(
    browsing: BrowserSession, live_server: LiveServer
) -> None:
    token = invite(live_server)
    page = browsing.new_page(viewport={"width": 1024, "height": 768})
    page.goto(f"/s/{token}")
    browsing.check(page)
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_attribute("type", "image/svg+xml")
    served = page.request.get(live_server(icon.get_attribute("href") or ""))
    assert served.ok and served.headers["content-type"].startswith("image/svg+xml")
    page.locator('label[for="consent"]').click()
    page.get_by_role("button", name="Start").click()
    on_page(page, 1)
    browsing.check(page)
    save = page.get_by_role("button", name="Save and continue")
    expect(save).to_be_visible()
    page.emulate_media(media="print")
    expect(save).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(f"#{PAGES[0].items[0].item.id}-1")).to_be_visible()
    paper = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert paper == "rgb(255, 255, 255)"
