"""The deal worksheet: the five pre-negotiation questions filled in for one named deal (#16).

:func:`render_deal_worksheet` writes an A4 PDF a coach hands to the team before
a negotiation: a header naming the deal, the team and the counterparty, then the
five checklist topics, each with its question for the deal, the prompts taken
from both profiles (the team's own main blockers and how the team rates the
counterparty, chosen by :func:`analytics.session_kit.build_worksheet`), and
ruled space to write the team's answer. It uses the team report's typography,
layout (:class:`reports.layout.PageFlow`) and PDF writing (embedded font
subsets, deterministic bytes for the same input and date).

:func:`worksheet_parts` gives the same wording, in the same order, to the
printable web page, so the PDF and the page never say different things.

Examples
--------
>>> pdf = render_deal_worksheet(worksheet, organization="Acme")  # doctest: +SKIP
>>> pdf[:5]  # doctest: +SKIP
b'%PDF-'
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.text import Text

from analytics.language import use_language
from reports.i18n import N_, _
from reports.layout import LEADING, Margins, PageFlow
from reports.pdf import gc_paused, pdf_caches
from reports.style import ACCENT, INK, MUTED, PAPER, RULE, SIZES, TINT, rc_context
from reports.text import ellipsize, fit_lines, long_date, text_width, wrap

if TYPE_CHECKING:
    from analytics.session_kit import DealWorksheet

__all__ = [
    "WORKSHEET_CONFIDENTIAL",
    "WORKSHEET_FIELDS",
    "WORKSHEET_TITLE",
    "WorksheetParts",
    "render_deal_worksheet",
    "worksheet_parts",
]

#: The document's kind, on its header and in its metadata.
WORKSHEET_TITLE = N_("Pre-negotiation worksheet")

#: The footer notice on every page.
WORKSHEET_CONFIDENTIAL = N_("For the team's preparation only")

#: Fields the team fills in under the header.
WORKSHEET_FIELDS = (N_("Meeting date"), N_("Our negotiators"), N_("Prepared on"))

#: Ruled lines of writing space under each topic.
WRITING_LINES = 5
LINE_PITCH = 21.0


@dataclass(frozen=True)
class WorksheetParts:
    """The worksheet's wording in reading order, for the PDF and the printable page.

    ``topics`` holds, per checklist topic, its number, the question for the deal
    and the prompts from both profiles.
    """

    title: str
    deal: str
    subtitle: str
    intro: str
    fields: tuple[str, ...]
    topics: tuple[tuple[int, str, tuple[str, ...]], ...]


def worksheet_parts(worksheet: DealWorksheet) -> WorksheetParts:
    """The wording of a deal worksheet, shared by the PDF and the printable web page.

    Worded in the current language (:func:`analytics.language.use_language`); the
    worksheet's questions and prompts are already in it (built with that
    language's framework).
    """
    return WorksheetParts(
        title=_(WORKSHEET_TITLE),
        deal=worksheet.deal_name,
        subtitle=_(
            "%(team)s with %(counterparty)s",
            team=worksheet.team_name,
            counterparty=worksheet.counterparty_name,
        ),
        intro=_(
            "Work through the five questions together before the meeting. Under each question "
            "are prompts drawn from your team's own blocker profile and from how your team "
            "rates %(counterparty)s; write what you agree in the space below it. Bring the "
            "sheet to the meeting, and afterwards note beside each answer what happened: it is "
            "the best preparation for the next one.",
            counterparty=worksheet.counterparty_name,
        ),
        fields=tuple(_(f) for f in WORKSHEET_FIELDS),
        topics=tuple(
            (index, topic.question, topic.prompts)
            for index, topic in enumerate(worksheet.topics, start=1)
        ),
    )


def render_deal_worksheet(
    worksheet: DealWorksheet,
    *,
    organization: str | None = None,
    prepared_on: date | None = None,
    language: str = "en",
) -> bytes:
    """Render a deal worksheet as an A4 portrait PDF.

    Parameters
    ----------
    worksheet : DealWorksheet
        From :func:`analytics.session_kit.build_worksheet`.
    organization : str, optional
        Shown in the header beside the team.
    prepared_on : date, optional
        Printed in the header and written as the PDF's creation date (the same
        input and date give the same bytes); left blank to fill in by hand when
        omitted.
    language : str, default "en"
        The language of the sheet's own wording; build the worksheet with the same
        language's framework (``build_worksheet(..., kit=load_kit(language=...))``).

    Returns
    -------
    bytes
        The PDF document.
    """
    with rc_context(), gc_paused(), use_language(language):
        pages = build_worksheet_pages(worksheet, organization=organization, prepared_on=prepared_on)
        metadata = {
            "Title": f"{_(WORKSHEET_TITLE)}: {worksheet.deal_name} ({worksheet.counterparty_name})",
            "Author": "Negoscope",
            "Subject": _(
                "Preparation of %(deal)s by %(team)s with %(counterparty)s",
                deal=worksheet.deal_name,
                team=worksheet.team_name,
                counterparty=worksheet.counterparty_name,
            ),
            "Keywords": _("negotiation, preparation, worksheet"),
            "Creator": "Negoscope",
            "CreationDate": datetime.combine(
                prepared_on or date(2000, 1, 1), time(12, 0), tzinfo=UTC
            ),
        }
        buffer = io.BytesIO()
        with pdf_caches(), PdfPages(buffer, metadata=metadata) as pdf:
            for page in pages:
                pdf.savefig(page)
        del pages
    return buffer.getvalue()


def build_worksheet_pages(
    worksheet: DealWorksheet,
    *,
    organization: str | None = None,
    prepared_on: date | None = None,
) -> list[Figure]:
    """Lay out the worksheet and return its pages (exposed for tests and previews)."""
    parts = worksheet_parts(worksheet)
    with rc_context():
        flow = PageFlow(Margins(top=56, bottom=70, left=60, right=60))
        _header(flow, parts, organization, prepared_on)
        for number, question, prompts in parts.topics:
            _topic(flow, number, question, prompts)
        _footers(flow, worksheet)
        for page in flow.pages:
            for text in page.findobj(Text):
                text.set_fontfeatures(("-liga", "-clig"))
    return flow.pages


def _header(
    flow: PageFlow, parts: WorksheetParts, organization: str | None, prepared_on: date | None
) -> None:
    page = flow.new_page()
    flow.rect(0, 0, flow.width, 6, colour=ACCENT, page=page)
    flow.text_at(flow.left, flow.y + 4, "NEGOSCOPE", size=8.5, bold=True, colour=ACCENT)
    flow.text_at(
        flow.left + text_width("NEGOSCOPE", 8.5, True) + 8,
        flow.y + 4,
        parts.title,
        size=8.5,
        colour=MUTED,
    )
    flow.y += 30
    size, lines = fit_lines(parts.deal, flow.column, (24.0, 20.0, 17.0), 2, True)
    flow.lines(lines, size=size, bold=True, leading=1.18, page=page)
    flow.skip(2)
    subtitle = parts.subtitle + (f"  \u00b7  {organization}" if organization else "")
    size, lines = fit_lines(subtitle, flow.column, (13.0, 11.5, 10.0), 2)
    flow.lines(lines, size=size, colour=MUTED, page=page)
    flow.skip(12)

    # Fill-in fields: a label over a line, three across.
    third = flow.column / len(parts.fields)
    top = flow.y
    for index, label in enumerate(parts.fields):
        x = flow.left + index * third
        flow.text_at(x, top + 7, label.upper(), size=SIZES["caption"], bold=True, colour=MUTED)
        if index == len(parts.fields) - 1 and prepared_on is not None:  # "Prepared on"
            flow.text_at(x, top + 26, long_date(prepared_on), size=SIZES["body"])
        flow.rect(x, top + 30, third - 14, 0.6, colour=RULE)
    flow.y = top + 44
    flow.callout(parts.intro, size=SIZES["body"])


def _topic(flow: PageFlow, number: int, question: str, prompts: tuple[str, ...]) -> None:
    """One topic: number badge, question, prompts and ruled writing space, kept on one page."""
    size, small = SIZES["h2"], SIZES["small"] + 0.3
    indent = 30.0
    width = flow.column - indent
    question_lines = wrap(question, width, size, bold=True)
    prompt_lines = [wrap(p, width - 12, small) for p in prompts]
    prompts_height = sum(len(lines) for lines in prompt_lines) * small * LEADING + 3 * len(prompts)
    height = (
        len(question_lines) * size * 1.28 + prompts_height + 10 + WRITING_LINES * LINE_PITCH + 18
    )
    flow.ensure(height)
    top = flow.y + 4
    # Number badge: a filled square with the topic's number.
    flow.rect(flow.left, top, 20, 20, colour=ACCENT)
    flow.text_at(
        flow.left + 10, top + 14.2, str(number), size=11, bold=True, colour=PAPER, ha="center"
    )
    y = top - 1
    for line in question_lines:
        y += size
        flow.text_at(flow.left + indent, y, line, size=size, bold=True)
        y += size * 0.28
    y += 5
    for lines in prompt_lines:
        for row, line in enumerate(lines):
            y += small
            if row == 0:
                flow.text_at(flow.left + indent, y, "\u203a", size=small, bold=True, colour=ACCENT)
            flow.text_at(flow.left + indent + 12, y, line, size=small, colour=INK)
            y += small * (LEADING - 1)
        y += 3
    y += 6
    # Writing space: a tinted panel with ruled lines.
    box = WRITING_LINES * LINE_PITCH + 6
    flow.rect(flow.left + indent, y, width, box, colour=TINT)
    for line in range(1, WRITING_LINES + 1):
        flow.rect(flow.left + indent + 8, y + line * LINE_PITCH, width - 16, 0.5, colour=RULE)
    flow.y = y + box + 16


def _footers(flow: PageFlow, worksheet: DealWorksheet) -> None:
    total = len(flow.pages)
    size = SIZES["footer"]
    y = flow.height - flow.margins.bottom + 36
    for index, page in enumerate(flow.pages, start=1):
        number = _("Page %(index)d of %(total)d", index=index, total=total)
        room = flow.column - text_width(number, size) - 24
        notice = f" \u00b7 {_(WORKSHEET_CONFIDENTIAL)}"
        names = ellipsize(
            f"{worksheet.deal_name} \u00b7 "
            + _(
                "%(team)s with %(counterparty)s",
                team=worksheet.team_name,
                counterparty=worksheet.counterparty_name,
            ),
            room - text_width(notice, size),
            size,
        )
        flow.rect(flow.left, y - 12, flow.column, 0.5, colour=RULE, page=page)
        flow.text_at(flow.left, y, names + notice, size=size, colour=MUTED, page=page)
        flow.text_at(
            flow.left + flow.column, y, number, size=size, colour=MUTED, ha="right", page=page
        )
