"""Tests for reports.team_report: the PDF's content, format, privacy and layout."""

from __future__ import annotations

import dataclasses
import io
import re

import pypdf
import pytest
from matplotlib.backends.backend_pdf import PdfFile, RendererPdf

from analytics.diagnosis import DimensionFinding
from reports.layout import A4, Margins
from reports.style import rc_context
from reports.team_report import SECTION_TITLES, build_pages, render_team_report
from tests.reports.conftest import make_context

HOSTILE = '<script>alert(1)</script> & "Co"'


def pdf_text(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [page.extract_text() for page in reader.pages]


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pdf(context) -> bytes:
    return render_team_report(context)


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    return pdf_text(pdf)


def test_is_an_a4_pdf(pdf) -> None:
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 9
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(595, abs=1)
        assert float(page.mediabox.height) == pytest.approx(842, abs=1)


def test_sections_appear_in_order(pages) -> None:
    text = flat(" ".join(pages))
    positions = [text.find(title) for title in SECTION_TITLES.values()]
    assert all(p >= 0 for p in positions), dict(
        zip(SECTION_TITLES.values(), positions, strict=True)
    )
    # The cover lists the sections too; the section pages must come in order after it.
    body = flat(" ".join(pages[1:]))
    starts = [
        body.find(f"SECTION {n} {title}")
        for n, title in enumerate(SECTION_TITLES.values(), start=2)
    ]
    assert all(s >= 0 for s in starts) and starts == sorted(starts)


def test_summary_fits_on_one_page(pages) -> None:
    summary = flat(pages[1])
    assert "SECTION 2 Summary" in summary
    for heading in (
        "Your main blockers",
        "What your team does well",
        "Standing on the three pillars",
        "Plays to practise first",
    ):
        assert heading in summary


def test_names_numbers_and_page_numbers(pages, context) -> None:
    cover = flat(pages[0])
    assert "deadline" in cover and "Acme Industrial Components" in cover
    assert f"{context.n} team members" in cover
    assert "88% of 16 invited" in cover
    assert "1 May 2025" in cover and "Spring 2025" in cover
    everything = flat(" ".join(pages))
    # deadline pressure is shifted by 1.3, fixed-pie thinking by 0.8: only the first is
    # credibly above the organization in a team of 14.
    assert context.diagnosis.top_blockers[0] == "time_pressure"
    for dim_id in context.diagnosis.top_blockers:
        assert context.name_of(dim_id) in everything
    assert context.diagnosis.summary in everything
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text
        assert "Confidential: team results only" in text


def test_no_missing_value_placeholders(pages) -> None:
    for text in pages:
        assert not re.search(r"\b(nan|NaN|None|null|inf)\b", text), text


def test_fonts_are_embedded_truetype(pdf) -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    seen = 0
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts") or [font]
            for desc in descendants:
                descriptor = desc.get_object()["/FontDescriptor"].get_object()
                assert "/FontFile2" in descriptor, font["/BaseFont"]
                seen += 1
    assert seen


def test_metadata_and_deterministic_output(pdf, context) -> None:
    info = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert info["/Author"] == "Negoscope"
    assert "deadline" in info["/Title"] and "Spring 2025" in info["/Title"]
    assert info["/Subject"]
    assert info["/CreationDate"].startswith("D:20250501")
    assert render_team_report(context) == pdf


def test_change_section_only_with_an_earlier_round(analysis, instrument) -> None:
    context = make_context(analysis, instrument, "deadline")
    text = flat(" ".join(pdf_text(render_team_report(context))))
    assert SECTION_TITLES["change"] not in text
    assert "SECTION 8 Method and privacy" in text


def test_hostile_team_name_is_plain_text(context) -> None:
    name = HOSTILE + " $x^2$"  # dollars must not switch on matplotlib's mathtext
    hostile = dataclasses.replace(context, team=name, change=None)
    pdf = render_team_report(hostile)
    pages = pdf_text(pdf)
    assert name in flat(pages[0])
    assert name in flat(pages[-1])  # the method section names the team
    assert HOSTILE in pypdf.PdfReader(io.BytesIO(pdf)).metadata["/Title"]


def test_withheld_dimensions_are_reported_as_withheld(context) -> None:
    withheld = {
        dim_id: DimensionFinding(dimension=dim_id, kind=f.kind, n_scored=4, withheld=True)
        for dim_id, f in context.diagnosis.dimensions.items()
        if dim_id in ("power", "meso")
    }
    diagnosis = dataclasses.replace(
        context.diagnosis, dimensions={**context.diagnosis.dimensions, **withheld}
    )
    pages = pdf_text(render_team_report(dataclasses.replace(context, diagnosis=diagnosis)))
    text = flat(" ".join(pages))
    assert "withheld: too few answers" in text
    assert "Power imbalance Withheld: too few members answered these questions." in text
    for page in pages:
        assert not re.search(r"\b(nan|NaN|None)\b", page)


def test_team_without_main_blockers(analysis, instrument) -> None:
    context = make_context(analysis, instrument, "north")
    assert context.diagnosis.top_blockers == ()
    text = flat(" ".join(pdf_text(render_team_report(context))))
    assert "No blocker stands out for your team" in text
    assert "we recommend no specific play" in text


def test_withheld_profile_mix_gives_the_reason(analysis, instrument) -> None:
    context = make_context(analysis, instrument, "echo")
    mix = context.diagnosis.profile_mix
    assert mix is not None and not mix.shown
    text = flat(" ".join(pdf_text(render_team_report(context))))
    assert f"Your team's profile mix is not shown: {mix.reason}" in text


def test_shown_profile_mix_gives_rounded_counts_only(pages, context) -> None:
    mix = context.diagnosis.profile_mix
    assert mix.shown
    text = flat(" ".join(pages))
    for count in mix.counts.values():
        assert f"about {round(count)}" in text


def _assert_no_overlap(page_number, boxes) -> None:
    """No two lines of the page's own text (charts aside) may overlap."""
    shrunk = [(label, box.expanded(0.98, 0.9)) for label, box in boxes]
    for i, (a, box_a) in enumerate(shrunk):
        for b, box_b in shrunk[i + 1 :]:
            assert not box_a.overlaps(box_b), (page_number, a, b)


def _text_boxes(context):
    """Every text's box in points (x0, x1, top, bottom), measured by the PDF renderer itself
    (the Agg renderer hints glyphs and measures lines a few per cent wider than the PDF)."""
    width, height = A4
    pdf = PdfFile(io.BytesIO())
    with rc_context():
        for page_number, fig in enumerate(build_pages(context), start=1):
            fig.set_dpi(72)
            pdf.newPage(width / 72, height / 72)
            renderer = RendererPdf(pdf, 72, height / 72, width / 72)
            fig.draw(renderer)  # places axis labels and ticks
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.texts]
            _assert_no_overlap(page_number, boxes)
            # An Axes' tight box covers what it drew: ticks, labels, notes and legend.
            boxes += [(f"chart {i}", ax.get_tightbbox(renderer)) for i, ax in enumerate(fig.axes)]
            for label, box in boxes:
                yield (
                    page_number,
                    label,
                    (box.x0, box.x1, height - box.y1, height - box.y0),
                    width,
                    height,
                )
            renderer.finalize()


@pytest.mark.parametrize("long_names", [False, True])
def test_no_text_leaves_the_column(context, long_names) -> None:
    if long_names:
        context = dataclasses.replace(
            context,
            team="The Extraordinarily Long-Named Strategic Procurement Negotiation Team " * 3,
            organization="International Consolidated Holdings and Subsidiaries " * 3,
            round_name="Spring 2025 follow-up after the reorganization of the sales regions",
        )
    margins = Margins()
    with_notice = set()
    for page, text, (x0, x1, top, bottom), width, height in _text_boxes(context):
        if text.endswith("Confidential: team results only"):
            with_notice.add(page)
        assert x0 >= margins.left - 1.5, (page, text, x0)
        assert x1 <= width - margins.right + 1.5, (page, text, x1)
        assert top >= margins.top - 12, (page, text, top)
        assert bottom <= height - 20, (page, text, bottom)
    assert with_notice == set(range(1, page + 1))  # long names are shortened, not the notice
