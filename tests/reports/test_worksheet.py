"""The deal worksheet PDF (#16): names, the five questions, prompts from both profiles."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date

import pypdf
import pytest

from analytics.advice import load_advice
from analytics.kit_schema import load_kit
from reports.worksheet import (
    WORKSHEET_CONFIDENTIAL,
    WORKSHEET_TITLE,
    render_deal_worksheet,
    worksheet_parts,
)
from tests.reports.kit_data import counterparty_context, worksheet_for
from tests.reports.test_team_report import flat, pdf_text

PREPARED = date(2025, 5, 2)


@pytest.fixture(scope="module")
def counterparty(context, analysis):
    return counterparty_context(analysis, context.team, context.threshold)


@pytest.fixture(scope="module")
def worksheet(context, counterparty):
    return worksheet_for(context, counterparty)


@pytest.fixture(scope="module")
def pdf(worksheet) -> bytes:
    return render_deal_worksheet(
        worksheet, organization="Acme Industrial Components", prepared_on=PREPARED
    )


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    return [flat(p) for p in pdf_text(pdf)]


def test_header_and_every_footer_name_the_deal_team_and_counterparty(pages, worksheet) -> None:
    first = pages[0]
    assert first.startswith(f"NEGOSCOPE {WORKSHEET_TITLE} 2026 freight renewal")
    assert "deadline with Borealis Logistics" in first
    assert "Acme Industrial Components" in first and "2 May 2025" in first
    for number, text in enumerate(pages, start=1):
        assert "2026 freight renewal" in text and "Borealis Logistics" in text
        assert WORKSHEET_CONFIDENTIAL in text
        assert f"Page {number} of {len(pages)}" in text


def test_five_questions_in_order_with_prompts_from_both_profiles(pages, worksheet, context) -> None:
    text = " ".join(pages)
    questions = [t.question for t in worksheet.topics]
    assert len(questions) == 5
    at = [text.index(f"{n} {flat(q)}") for n, q in enumerate(questions, start=1)]
    assert at == sorted(at)
    # One prompt from the team's own profile (its main blocker's checklist line) ...
    ours = dict(load_advice().blocker(context.diagnosis.top_blockers[0]).checklist)["success"]
    # ... and one from how the team rates them (guarded: clearly present on their side).
    theirs = load_kit().worksheet.them["trust"]["success"]
    assert flat(ours) in text and flat(theirs) in text
    assert text.index(flat(ours)) > at[0] and text.index(flat(theirs)) < at[1]
    # Every prompt of the worksheet is printed, under its own question.
    for number, question, prompts in worksheet_parts(worksheet).topics:
        start = text.index(f"{number} {flat(question)}")
        end = at[number] if number < len(at) else len(text)
        for prompt in prompts:
            assert flat(prompt) in text[start:end]


def test_blocker_seen_differently_becomes_a_prompt(pages, counterparty) -> None:
    unshared = [b for b in counterparty.gap.blockers if not b.them_shared]
    sentence = load_kit().worksheet.not_shared.format(name=unshared[0].name)
    assert flat(sentence) in " ".join(pages)


def test_is_an_a4_pdf_with_embedded_fonts_and_same_bytes(pdf, worksheet) -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert 1 <= len(reader.pages) <= 3
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(595, abs=1)
        assert float(page.mediabox.height) == pytest.approx(842, abs=1)
        for font in page["/Resources"]["/Font"].values():
            for desc in font.get_object().get("/DescendantFonts") or [font]:
                assert "/FontFile2" in desc.get_object()["/FontDescriptor"].get_object()
    assert reader.metadata["/Title"] == (
        f"{WORKSHEET_TITLE}: 2026 freight renewal (Borealis Logistics)"
    )
    assert reader.metadata["/CreationDate"].startswith("D:20250502")
    same = render_deal_worksheet(
        worksheet, organization="Acme Industrial Components", prepared_on=PREPARED
    )
    assert same == pdf


def test_no_placeholders_and_hostile_names_stay_text(worksheet, pages) -> None:
    for text in pages:
        assert not re.search(r"\b(nan|NaN|None|null|inf)\b", text), text
    hostile = '<script>alert(1)</script> & "Co" $x^2$'
    odd = dataclasses.replace(worksheet, deal_name=hostile, counterparty_name="$5 Ltd")
    text = " ".join(flat(p) for p in pdf_text(render_deal_worksheet(odd)))
    assert hostile in text and "$5 Ltd" in text


def test_without_a_rating_the_worksheet_says_so(context) -> None:
    sheet = worksheet_for(context, None)
    text = " ".join(flat(p) for p in pdf_text(render_deal_worksheet(sheet)))
    assert flat(load_kit().worksheet.no_rating) in text
    assert "Borealis Logistics" in text
