"""A respondent whose browser speaks French answers the whole questionnaire in French."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from analytics.instrument_parser import load_default_instrument
from survey.extensions import db
from survey.models import Answer, ContextAnswer, Response
from survey.services.questionnaire import build_pages
from tests.e2e.conftest import BrowserSession, LiveServer
from tests.e2e.test_respondent import invite

pytestmark = pytest.mark.browser

INSTRUMENT = load_default_instrument()
FRENCH = INSTRUMENT.localized("fr")
PAGES = build_pages(FRENCH)
NBSP = "\u00a0"


def on_page(page: Page, number: int) -> None:
    expect(page).to_have_url(re.compile(rf"/survey/page/{number}$"))
    expect(page.get_by_text(f"Page {number} sur {len(PAGES)}")).to_be_visible()


def test_the_whole_flow_in_french_with_its_error_messages(
    browsing: BrowserSession, live_server: LiveServer
) -> None:
    token = invite(live_server)
    page = browsing.new_page(locale="fr-FR", viewport={"width": 1280, "height": 800})

    page.goto(f"/s/{token}")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(FRENCH.title)
    expect(page.get_by_role("heading", name="Qui voit quoi")).to_be_visible()
    browsing.check(page)

    page.get_by_role("button", name="Commencer").click()  # consent not given
    expect(page.locator("#consent-error")).to_have_text(
        "Cochez la case pour donner votre accord avant de commencer."
    )
    browsing.check(page)
    page.get_by_label("J’ai lu qui voit quoi et j’accepte de participer.").check()
    page.get_by_role("button", name="Commencer").click()

    first = PAGES[0]
    on_page(page, 1)
    expect(page.get_by_role("heading", level=1)).to_have_text(first.title)
    expect(page.get_by_text(first.items[0].item.text)).to_be_visible()
    for entry in first.items[1:]:  # the first statement is forgotten
        page.locator(f'label[for="{entry.item.id}-4"]').click()
    page.get_by_role("button", name="Enregistrer et continuer").click()
    on_page(page, 1)
    missing = first.items[0].item.id
    expect(page.locator(f"#{missing}-error")).to_have_text(
        f"Choisissez une réponse, ou «{NBSP}Passer{NBSP}» pour la laisser vide."
    )
    expect(page.get_by_role("alert")).to_contain_text(
        "1 question de cette page attend une réponse. Vos pages précédentes sont enregistrées."
    )
    browsing.check(page)
    page.locator(f'label[for="{missing}-skip"]').click()  # "Passer"
    expect(page.locator(f'label[for="{missing}-skip"]')).to_have_text("Passer")
    page.get_by_role("button", name="Enregistrer et continuer").click()

    # The picker switches to English and back; the choice outlives the browser's language.
    on_page(page, 2)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_text(f"Page 2 of {len(PAGES)}")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_text(INSTRUMENT.item(PAGES[1].items[0].item.id).text)).to_be_visible()
    browsing.check(page)
    page.get_by_role("button", name="Français").click()
    on_page(page, 2)

    for survey_page in PAGES[1:]:
        on_page(page, survey_page.number)
        browsing.check(page)
        for entry in survey_page.items:
            scale = entry.scale
            expect(page.locator(f'label[for="{entry.item.id}-{scale.min}"]')).to_have_text(
                scale.labels[0]
            )
            page.locator(f'label[for="{entry.item.id}-{scale.max}"]').click()
        for question in survey_page.context:
            _stored, shown = survey_page.choices(question)[1]
            label = page.locator(f'label[for="{question.id}-2"]')
            expect(label).to_have_text(shown[:1].upper() + shown[1:])
            label.click()
        last = survey_page.number == len(PAGES)
        page.get_by_role(
            "button", name="Relire mes réponses" if last else "Enregistrer et continuer"
        ).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Relisez vos réponses")
    expect(
        page.get_by_role("heading", name="Vous avez laissé 1 affirmation sans réponse")
    ).to_be_visible()
    browsing.check(page)
    page.get_by_role("button", name="Envoyer mes réponses").click()
    expect(page.get_by_role("status")).to_have_text("Vos réponses ont été envoyées.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Merci")
    browsing.check(page)

    with live_server.app.app_context():
        response = db.session.scalars(select(Response)).one()
        assert response.status == "submitted"
        values = dict(db.session.execute(select(Answer.item_id, Answer.value)).all())
        assert values[missing] is None
        for entry in (e for p in PAGES[1:] for e in p.items):
            assert values[entry.item.id] == entry.scale.max
        context = dict(
            db.session.execute(select(ContextAnswer.question_id, ContextAnswer.value)).all()
        )
        for question in PAGES[-1].context:  # stored in the file's own language
            original = next(q for q in INSTRUMENT.context if q.id == question.id)
            assert context[question.id] == original.options[1]
