"""The team report: an A4 PDF of a team's findings.

:func:`render_team_report` lays out the sections below with
:class:`reports.layout.PageFlow` and writes them with matplotlib's PDF
backend: vector charts, TrueType fonts embedded (``pdf.fonttype = 42``) so the
text is selectable and searchable, a running footer with page numbers, and
metadata whose creation date is the report date, so the same input gives the
same bytes.

Sections: cover; summary; blocker profile; where the team disagrees; profiles
in the team; plays and practices; us and the counterparty (only with a
counterparty, :mod:`reports.gap`); before your next negotiation; change since
the last round (only with an earlier round); across all rounds (only with a
trend) and commitments from the last round (only with follow-ups,
:mod:`reports.progress`); session agenda (only with an agenda,
:mod:`reports.agenda`); method and privacy.

The report shows aggregates only (team means, intervals, counts of members at
or above a level, organization quantiles): never a person's answer, nor the
team's minimum or maximum. Every figure about the team is rounded and every
count of members worded by :mod:`analytics.coarsen` (through
:mod:`reports.text`), and the charts are drawn at the rounded values.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import UTC, datetime, time

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.text import Text

from analytics.coarsen import COARSENING_NOTE, SMALL_GROUP, count_word
from analytics.diagnosis import OTHER_PROFILES, DimensionFinding, RecommendedPlay
from reports.agenda import AGENDA_TITLE, agenda_section
from reports.charts import draw_chart
from reports.context import TeamReportContext
from reports.gap import counterparty_method, counterparty_section
from reports.layout import PageFlow
from reports.pdf import gc_paused, pdf_caches
from reports.progress import (
    FOLLOWUP_TITLE,
    TREND_TITLE,
    followup_section,
    trend_section,
    trend_summary,
)
from reports.style import ACCENT, INK, MUTED, RULE, SIZES, rc_context
from reports.text import (
    MISSING,
    ellipsize,
    fit_lines,
    long_date,
    lower_first,
    members,
    number,
    percent,
    percentile_phrase,
    text_width,
    whole,
)

__all__ = ["OPTIONAL_SECTION_TITLES", "SECTION_TITLES", "build_pages", "render_team_report"]

#: Section titles, in report order (the cover has none).
SECTION_TITLES = {
    "summary": "Summary",
    "blockers": "Blocker profile",
    "spread": "Where the team disagrees",
    "profiles": "Profiles in the team",
    "plays": "Plays and practices",
    "checklist": "Before your next negotiation",
    "change": "Change since the last round",
    "method": "Method and privacy",
}

#: Titles of the sections shown only when the context carries their data (#16); the
#: counterparty page is titled "Us and <counterparty>".
OPTIONAL_SECTION_TITLES = {
    "trend": TREND_TITLE,
    "followups": FOLLOWUP_TITLE,
    "agenda": AGENDA_TITLE,
}

CONFIDENTIAL = "Confidential: team results only"


def render_team_report(context: TeamReportContext) -> bytes:
    """Render a team's report as an A4 portrait PDF.

    Parameters
    ----------
    context : TeamReportContext
        From :func:`reports.context.build_team_context`.

    Returns
    -------
    bytes
        The PDF document.

    Examples
    --------
    >>> pdf = render_team_report(context)  # doctest: +SKIP
    >>> pdf[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    with rc_context(), gc_paused():
        pages = build_pages(context)
        created = datetime.combine(context.report_date, time(12, 0), tzinfo=UTC)
        metadata = {
            "Title": f"{context.team}: team negotiation report, {context.round_name}",
            "Author": "Negoscope",
            "Subject": (
                f"Negotiation blockers and plays for {context.team} ({context.organization}), "
                f"{context.round_name}"
            ),
            "Keywords": "negotiation, team report, blockers, plays",
            "Creator": "Negoscope",
            "CreationDate": created,
        }
        buffer = io.BytesIO()
        with pdf_caches(), PdfPages(buffer, metadata=metadata) as pdf:
            for page in pages:
                pdf.savefig(page)
        del pages  # garbage now, collected as the block ends
    return buffer.getvalue()


def build_pages(context: TeamReportContext) -> list[Figure]:
    """Lay out the report and return its pages (figures of A4 size, in points).

    Exposed for tests and previews; :func:`render_team_report` writes them.
    """
    with rc_context():
        flow = PageFlow()
        contents_at = _cover(flow, context)
        sections: list[tuple[str, Callable[[PageFlow, TeamReportContext, int], None]]] = [
            ("summary", _summary),
            ("blockers", _blocker_profile),
            ("spread", _spread),
            ("profiles", _profiles),
            ("plays", _plays),
        ]
        if context.counterparty is not None:
            sections.append(("counterparty", counterparty_section))
        sections.append(("checklist", _checklist))
        if context.change is not None:
            sections.append(("change", _change))
        if context.trend is not None:
            sections.append(("trend", trend_section))
        if context.followups:
            sections.append(("followups", followup_section))
        if context.agenda is not None:
            sections.append(("agenda", agenda_section))
        sections.append(("method", _method))
        for number_, (_, draw) in enumerate(sections, start=2):
            draw(flow, context, number_)
        _cover_end(flow, context, contents_at)
        _footers(flow, context)
        for page in flow.pages:
            _no_ligatures(page)
    return flow.pages


def _no_ligatures(page: Figure) -> None:
    """Turn off ligatures so each font is embedded as one subset (and text copies cleanly).

    matplotlib puts ligature glyphs ("fi", "ff") into a second subset of the font,
    which doubles the font-subsetting work when the PDF is written.
    """
    for text in page.findobj(Text):
        text.set_fontfeatures(("-liga", "-clig"))


# --- page furniture ----------------------------------------------------------------


def _footers(flow: PageFlow, context: TeamReportContext) -> None:
    total = len(flow.pages)
    size = SIZES["footer"]
    y = flow.height - flow.margins.bottom + 38
    for index, page in enumerate(flow.pages, start=1):
        number_text = f"Page {index} of {total}"
        room = flow.column - text_width(number_text, size) - 24
        left = _footer_text(context, room, size)
        flow.rect(flow.left, y - 12, flow.column, 0.5, colour=RULE, page=page)
        flow.text_at(flow.left, y, left, size=size, colour=MUTED, page=page)
        flow.text_at(
            flow.left + flow.column, y, number_text, size=size, colour=MUTED, ha="right", page=page
        )


def _footer_text(context: TeamReportContext, room: float, size: float) -> str:
    """ "team · round · Confidential...", shortening the names first so the notice stays."""
    notice = f" \u00b7 {CONFIDENTIAL}"
    names_room = room - text_width(notice, size)
    round_name = ellipsize(context.round_name, names_room * 0.4, size)
    team = ellipsize(context.team, names_room - text_width(f" \u00b7 {round_name}", size), size)
    return ellipsize(f"{team} \u00b7 {round_name}{notice}", room, size)


def _cover_end(flow: PageFlow, context: TeamReportContext, top: float) -> None:
    """Finish the cover once the sections are laid out: contents, then "About this report"."""
    page = flow.pages[0]
    size = SIZES["body"]
    flow.text_at(
        flow.left, top, "IN THIS REPORT", size=SIZES["caption"], bold=True, colour=MUTED, page=page
    )
    y = top + 8
    right = flow.left + flow.column * 0.62
    about = flow.bottom_limit - 92
    # The title block is bounded (fit_lines), so this only tightens in extreme cases.
    step = min(size * 1.9, (about - 24 - y) / max(len(flow.sections), 1))
    for number_, title, page_number in flow.sections:
        y += step
        flow.text_at(flow.left, y, f"{number_}", size=size, bold=True, colour=ACCENT, page=page)
        flow.text_at(flow.left + 18, y, title, size=size, page=page)
        flow.text_at(right, y, str(page_number), size=size, colour=MUTED, ha="right", page=page)
        flow.rect(flow.left, y + size * 0.65, right - flow.left, 0.4, colour=RULE, page=page)

    flow.y = about
    flow.rule(page=page)
    flow.skip(16)
    flow.paragraph("About this report", size=SIZES["small"], bold=True, after=4, page=page)
    flow.paragraph(
        f"This report describes {context.team} as a group: which negotiation blockers hold the "
        "team back, where its members see things differently, and which plays to practise. It "
        "never shows an individual's answers. Results are reported only for groups of at least "
        f"{context.threshold} people, and this report is meant for the team and its coach.",
        size=SIZES["small"],
        colour=MUTED,
        page=page,
    )


def _cover(flow: PageFlow, context: TeamReportContext) -> float:
    """Draw the cover; return where the contents list goes (points from the top)."""
    page = flow.new_page()
    flow.rect(0, 0, 14, flow.height, colour=ACCENT, page=page)
    flow.text_at(flow.left, flow.y + 9, "NEGOSCOPE", size=9, bold=True, colour=ACCENT)
    flow.text_at(
        flow.left + text_width("NEGOSCOPE", 9, True) + 8,
        flow.y + 9,
        "Team negotiation report",
        size=9,
        colour=MUTED,
    )
    flow.y = 150
    size, lines = fit_lines(context.team, flow.column, (SIZES["display"], 26, 22, 18), 3, True)
    flow.lines(lines, size=size, bold=True, leading=1.18, page=page)
    flow.skip(6)
    size, lines = fit_lines(context.organization, flow.column, (16.0, 13.0, 11.0), 2)
    flow.lines(lines, size=size, colour=MUTED, page=page)
    flow.skip(26)
    flow.rule(colour=ACCENT, weight=1.6, width=48)
    flow.skip(30)

    response = (
        f"{percent(context.response_rate)} of {context.invited} invited"
        if context.response_rate is not None and context.invited
        else "not recorded"
    )
    facts = [
        ("Survey round", context.round_name),
        ("Report date", long_date(context.report_date)),
        ("Respondents", f"{context.n} team members"),
        ("Response rate", response),
    ]
    half = flow.column / 2
    for row in range(0, len(facts), 2):
        top = flow.y
        heights = []
        for col, (label, value) in enumerate(facts[row : row + 2]):
            x = flow.left + col * half
            flow.text_at(x, top + 8, label.upper(), size=SIZES["caption"], bold=True, colour=MUTED)
            size, lines = fit_lines(value, half - 16, (12.5, 11.0, 9.5), 2)
            y = top + 8 + 8
            for line in lines:
                y += size
                flow.text_at(x, y, line, size=size)
                y += size * 0.42
            heights.append(y - top)
        flow.y = top + max(heights) + 20
    contents_at = flow.y + 28

    return contents_at


# --- sections ------------------------------------------------------------------------


def _finding(context: TeamReportContext, dim_id: str) -> DimensionFinding | None:
    finding = context.diagnosis.dimensions.get(dim_id)
    return None if finding is None or finding.withheld else finding


def _summary(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    diagnosis = context.diagnosis
    sentences = context.sentences
    flow.section(number_, SECTION_TITLES["summary"])
    flow.callout(sentences.summary(), size=SIZES["lead"] + 0.5, bold=False)

    if diagnosis.top_blockers:
        flow.heading("Your main blockers")
        for dim_id in diagnosis.top_blockers:
            flow.bullet(sentences.blocker_line(dim_id), lead=sentences.blocker_lead(dim_id))

    flow.heading("What your team does well")
    strengths = sentences.strengths()
    if strengths:
        for _, sentence in strengths[:3]:
            flow.bullet(sentence)
    else:
        flow.paragraph(
            "No blocker is clearly lower for your team than in your organization yet; the plays "
            "below are the quickest way to build a strength.",
            colour=MUTED,
        )

    if diagnosis.pillars:
        flow.heading("Standing on the three pillars", keep_with=140)
        labels = [p.name for p in diagnosis.pillars]
        left = flow.label_width(labels, SIZES["chart"]) + 14
        ax = flow.axes(30 * len(labels) + 44, left=left, right=118, bottom=28, top=16)
        draw_chart("pillars", context, ax)
        flow.skip(4)
        for pillar in diagnosis.pillars:
            flow.bullet(
                f"{pillar.description} {sentences.pillar_meaning(pillar)}",
                lead=f"{pillar.name}: {sentences.pillar_label(pillar)}",
                size=SIZES["small"],
                after=2,
            )
        flow.skip(4)

    if context.trend is not None and len(context.trend.round_labels) > 1:
        flow.heading("Across your rounds", keep_with=30)
        flow.paragraph(trend_summary(context))

    flow.heading("Plays to practise first")
    first = diagnosis.plays_to_practise_first
    if first:
        for index, play in enumerate(first, start=1):
            flow.bullet(
                f"{sentences.usage(play.id, play.practice_mean)} {_first_sentence(play.rationale)}",
                lead=play.name,
                marker=f"{index}.",
            )
    else:
        flow.paragraph(sentences.practise_first_none(), colour=MUTED)


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text


def _blocker_profile(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(
        number_,
        SECTION_TITLES["blockers"],
        "Each row is one blocker. The shaded bands show how the scores of everyone in your "
        "organization spread out; the diamond is your team's average with its 95% confidence "
        "interval. Further right means more of the blocker.",
    )
    labels = [d.name for d in context.blockers]
    left = flow.label_width(labels, SIZES["chart"]) + 14
    ax = flow.axes(30 * len(labels) + 74, left=left, right=84, bottom=62, top=4)
    draw_chart("blockers", context, ax)
    flow.skip(14)

    flow.heading("Reading the chart")
    sentences = context.sentences
    ranking = context.diagnosis.ranking
    order = list(ranking) + [d.id for d in context.blockers if d.id not in ranking]
    for dim_id in order:
        finding = _finding(context, dim_id)
        name = context.name_of(dim_id)
        asked = sentences.asked_as(dim_id)
        asked_text = f" {asked[:1].upper()}{asked[1:]}." if asked else ""
        if finding is None:
            flow.bullet(
                "Withheld: too few members answered these questions." + asked_text, lead=name
            )
            continue
        ci = (
            f" (95% CI {number(finding.ci_low)} to {number(finding.ci_high)})"
            if finding.ci_low is not None
            else ""
        )
        flow.bullet(
            f"Team average {number(finding.mean)}{ci}, {percentile_phrase(finding.percentile)}. "
            f"{sentences.blocker_line(dim_id)}{asked_text}",
            lead=name,
        )


def _spread(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(
        number_,
        SECTION_TITLES["spread"],
        "Spread shows how differently your members answered. When a team disagrees about a "
        "blocker, it sends mixed signals at the table and cannot offer clean trades until it "
        "aligns.",
    )
    labels = [d.name for d in context.blockers]
    left = flow.label_width(labels, SIZES["chart"]) + 14
    ax = flow.axes(28 * len(labels) + 78, left=left, right=10, bottom=64, top=4)
    draw_chart("spread", context, ax)
    flow.skip(14)

    flow.heading("What it means")
    findings = [(d, _finding(context, d.id)) for d in context.blockers]
    flagged = [(d, f) for d, f in findings if f is not None and f.disagreeing]
    comparable = any(f is not None and f.disagreeing is not None for _, f in findings)
    if flagged:
        for dim, finding in flagged:
            ref = context.spread_references.get(dim.id)
            typical = f" against a typical {number(ref.q50)}" if ref and ref.q50 else ""
            caveat = context.sentences.caveat(dim.id)
            flow.bullet(
                "Your members differ more on this than the members of three in four teams do "
                f"(standard deviation {number(finding.sd)}{typical}). Talk it through "
                "before your next negotiation: until the team aligns on it, it cannot offer "
                "clean trades." + (f" {caveat}" if caveat else ""),
                lead=dim.name,
            )
    elif comparable:
        flow.paragraph(
            "Your team does not disagree unusually on any blocker: on each of them its spread "
            "is within the range of most teams in your organization. A shared view makes it "
            "easier to offer clean trades."
        )
    else:
        flow.paragraph(
            "Too few teams took part to say whether your team's spread is unusual; the chart "
            "shows the spread itself.",
            colour=MUTED,
        )
    flow.paragraph(
        "Spread is measured by the standard deviation of members' scores (in points on the "
        "1\u20135 scale, to one decimal). A team is flagged when its spread is in the top "
        "quarter of the teams in your organization.",
        size=SIZES["small"],
        colour=MUTED,
    )


def _no_profiles(context: TeamReportContext) -> str:
    """Why there is no profile to show, in one sentence."""
    if context.no_profiles_reason:
        return (
            "No profile structure was found in this round "
            f"({context.no_profiles_reason}), so no profiles are reported."
        )
    return "No profiles were fitted for this round."


def _profiles(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(
        number_,
        SECTION_TITLES["profiles"],
        "Profiles are recurring combinations of blockers, found across everyone who answered in "
        "your organization. The report shows at most how many of your members are likely to "
        "belong to each profile, never who.",
    )
    info = context.profiles
    mix = context.diagnosis.profile_mix
    if info is None or not info.profiles:
        flow.paragraph(_no_profiles(context), colour=MUTED)
        return
    if info.k == 1:
        flow.callout(
            "Only one profile was found in your organization: people differ in degree, not in "
            "kind, so there is no mix to show."
        )
    elif mix is None:
        flow.callout("The profile mix was not computed for this round.")
    elif not mix.shown:
        flow.callout(f"Your team's profile mix is not shown: {mix.reason or 'too few members'}.")
    else:
        flow.callout(
            f"Profiles could be estimated for {members(mix.n_assigned, context.n)} of your "
            "team. Counts are expected numbers of members, summed over how likely each person "
            "is to belong to each profile, so they are rounded."
        )

    counts = dict(mix.counts) if mix is not None and mix.shown else {}
    merged = set(mix.merged) if mix is not None and mix.shown else set()
    rows = []
    for profile in info.profiles:
        if profile.name in counts:
            team = _about(counts[profile.name], context.n)
        elif profile.name in merged:
            team = "in \u201cOther profiles\u201d"
        else:
            team = "not shown" if not counts else "none or very few"
        rows.append([profile.name, profile.meaning, team])
    if OTHER_PROFILES in counts:
        rows.append(
            [
                OTHER_PROFILES,
                "The smaller profiles combined, so that no group in your team is smaller than "
                f"{context.threshold} members.",
                _about(counts[OTHER_PROFILES], context.n),
            ]
        )
    flow.heading("What each profile means", keep_with=60)
    flow.table(rows, [1.5, 3.1, 1.05], header=["Profile", "What it means", "In your team"])
    flow.paragraph(
        "A profile's meaning compares its typical scores with the organization's average on "
        "each blocker. People rarely fit a profile exactly; use the profiles as a vocabulary "
        "for discussion, not as labels for individuals.",
        size=SIZES["small"],
        colour=MUTED,
    )


def _about(expected: float, n: int) -> str:
    """An expected number of members: "about 8", or words in a team under 10."""
    count = min(max(whole(expected), 0), n)
    if n < SMALL_GROUP:
        return count_word(count, n)
    return f"about {count}"


def _plays(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(
        number_,
        SECTION_TITLES["plays"],
        "Six plays counter the blockers. The chart shows how often your team says it uses "
        "each one; the plays recommended for your main blockers are highlighted.",
    )
    labels = [d.name for d in context.practices]
    if labels:
        left = flow.label_width(labels, SIZES["chart"]) + 14
        ax = flow.axes(24 * len(labels) + 80, left=left, right=24, bottom=66, top=4)
        draw_chart("practices", context, ax)
        flow.skip(14)

    diagnosis = context.diagnosis
    if not diagnosis.top_blockers:
        flow.paragraph(
            "No blocker is clearly higher than in your organization, so we recommend no specific "
            "play. Keep the plays your team already uses in practice, and try one it rarely uses."
        )
        return
    first = {p.id for p in diagnosis.plays_to_practise_first}
    described: set[str] = set()
    for dim_id in diagnosis.top_blockers:
        plays = [p for p in diagnosis.recommended_plays if dim_id in p.addresses]
        flow.heading(f"Against {lower_first(context.name_of(dim_id))}", keep_with=80)
        if not plays:
            flow.paragraph("The framework lists no play for this blocker.", colour=MUTED)
            continue
        for play in plays:
            if play.id in described:
                flow.bullet("Described above.", lead=play.name, after=4)
                continue
            described.add(play.id)
            _play(flow, context, play, play.id in first)


def _play(flow: PageFlow, context: TeamReportContext, play: RecommendedPlay, first: bool) -> None:
    mark = "  \u00b7  practise first" if first else ""
    mark = mark or ("  \u00b7  already in regular use" if play.in_regular_use else "")
    flow.bullet(
        f"{context.sentences.usage(play.id, play.practice_mean)} Why it works: {play.rationale}",
        lead=play.name + mark,
        after=3,
    )
    for question in play.questions:
        flow.bullet(
            question,
            size=SIZES["small"],
            marker="?",
            indent=28,
            after=1,
            marker_colour=MUTED,
            colour=INK,
            hang=14,
        )
    flow.skip(6)


def _checklist(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    top = context.diagnosis.top_blockers
    tailored = (
        f"The prompts are tailored to your strongest blocker, "
        f"{lower_first(context.name_of(top[0]))}."
        if top
        else "With no main blocker, the prompts are the general ones."
    )
    flow.section(
        number_,
        SECTION_TITLES["checklist"],
        "Work through these questions together before your next important negotiation. " + tailored,
    )
    for heading, line in context.diagnosis.checklist:
        flow.bullet(
            line, lead=heading, marker="\u2610", indent=20, size=SIZES["body"] + 0.5, after=10
        )


def _change(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    change = context.change
    if change is None:
        return
    flow.section(
        number_,
        SECTION_TITLES["change"],
        f"How your team's averages moved since {change.previous_round}. "
        f"{context.sentences.round_mode()} A filled marker means the 95% interval of the "
        "change excludes zero; a change that rounds to 0.0 is drawn as no change.",
    )
    rows = [r for r in change.rows if _known(context, r.dimension)]
    if rows:
        labels = [context.name_of(r.dimension) for r in rows] + ["Plays in use (higher is better)"]
        left = flow.label_width(labels, SIZES["chart"]) + 14
        ax = flow.axes(15 * (len(rows) + 2) + 72, left=left, right=10, bottom=62, top=4)
        draw_chart("change", context, ax)
        flow.skip(14)
    table = []
    for row in rows:
        if row.withheld:
            table.append([context.name_of(row.dimension), "withheld", "", "", ""])
            continue
        ci = f" ({_signed(row.ci_low)} to {_signed(row.ci_high)})" if row.ci_low is not None else ""
        table.append(
            [
                context.name_of(row.dimension),
                number(row.mean_before),
                number(row.mean_after),
                f"{_signed(row.change)}{ci}",
                f"{row.n_before} \u2192 {row.n_after}",
            ]
        )
    flow.table(
        table,
        [2.2, 0.8, 0.8, 1.8, 1.0],
        header=[
            "Scale",
            change.previous_round,
            context.round_name,
            "Change (95% CI)",
            "Respondents",
        ],
        align=["left", "right", "right", "right", "right"],
    )
    flow.paragraph(
        f"A scale is withheld when either round has fewer than {context.threshold} answers on it.",
        size=SIZES["small"],
        colour=MUTED,
    )


def _known(context: TeamReportContext, dim_id: str) -> bool:
    try:
        context.dimension(dim_id)
    except KeyError:
        return False
    return True


def _signed(value: float | None) -> str:
    """A change to one decimal with its sign ("+0.3", "\u22120.2", "0.0")."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = number(value)
    if text.startswith("-"):
        return "\u2212" + text[1:]
    return text if text.strip("0.") == "" else "+" + text


_METHODS = {
    "gmm": "a Gaussian mixture model (latent profile analysis)",
    "lpa": "latent profile analysis",
    "kmeans": "k-means clustering",
}


def _method(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(number_, SECTION_TITLES["method"])
    flow.heading("Who answered", keep_with=30)
    rate = (
        f" out of {context.invited} invited (a response rate of {percent(context.response_rate)})"
        if context.invited and context.response_rate is not None
        else ""
    )
    flow.paragraph(
        f"{context.n} members of {context.team} answered{rate}. Across the organization, "
        f"{context.n_round} people answered in {context.round_name}. The questionnaire was "
        f"{context.instrument_title} (version {context.instrument_version})."
    )

    flow.heading("How your team is compared", keep_with=40)
    flow.paragraph(
        "Each scale score is the average of a person's answers to its questions, with "
        "reverse-worded questions flipped. The team average comes with a 95% confidence "
        "interval. The percentile places the team average among the individual scores of "
        "the organization. \u201cMembers who agree\u201d counts members whose score is at or "
        "above \u201cAgree\u201d (4 of 5)."
    )
    flow.paragraph(
        "A blocker is a main blocker only when your team's average is clearly higher than the "
        "organization's: the difference passes a test that keeps false alarms to about one in "
        "ten across every team and blocker of the round (Benjamini\u2013Hochberg "
        "false-discovery control), and the team's 95% interval lies above the organization's "
        "median. In a team of fewer than 10 members, or when one member's answers make the "
        "difference, it is marked tentative. A strength is the same, below the organization. "
        "The pillars take their level from the same rule. Blockers are listed in the order in "
        "which they stand out for your team, allowing for the profiles of its members."
    )
    renamed = [
        [d.name, d.instrument_name]
        for d in (*context.blockers, *context.practices)
        if d.name != d.instrument_name
    ]
    if renamed:
        flow.heading("Names in this report and in the questionnaire", keep_with=40)
        flow.table(
            renamed,
            [3.0, 3.0],
            header=["In this report", "Questions your members answered"],
            align=["left", "left"],
        )

    counterparty_method(flow, context)

    flow.heading("How figures are rounded", keep_with=40)
    flow.paragraph(COARSENING_NOTE)

    if context.release_text is not None:
        flow.heading("When results change", keep_with=40)
        flow.paragraph(context.release_text)

    flow.heading("How reliable the scales are", keep_with=60)
    flow.paragraph(
        "Cronbach's alpha shows whether the questions of a scale hang together; 0.70 or more "
        "is usually taken as adequate. Its 95% interval (Feldt) shows how precisely it is "
        "known; omega total is a second estimate that does not assume every question weighs "
        "the same. Every statement that uses a flagged scale carries a caveat."
    )
    rows = []
    for item in context.reliability:
        if not _known(context, item.dimension):
            continue
        dim = context.dimension(item.dimension)
        if item.alpha is None:
            note = "could not be estimated"
        else:
            note = "below the usual standard" if item.flagged else "adequate"
        interval = (
            f"{number(item.alpha_ci_low, 2)}\u2013{number(item.alpha_ci_high, 2)}"
            if item.alpha_ci_low is not None and item.alpha_ci_high is not None
            else "\u2013"
        )
        rows.append(
            [
                dim.name,
                "blocker" if dim.kind == "blocker" else "play" if dim.kind == "practice" else "",
                str(item.n_items),
                number(item.alpha, 2) if item.alpha is not None else "\u2013",
                interval,
                number(item.omega, 2) if item.omega is not None else "\u2013",
                ("\u26a0 " if item.flagged else "") + note,
            ]
        )
    flow.table(
        rows,
        [2.3, 0.7, 0.55, 0.6, 1.0, 0.8, 1.5],
        header=["Scale", "Kind", "Items", "Alpha", "95% CI", "Omega", "Note"],
        align=["left", "left", "right", "right", "right", "right", "left"],
    )

    flow.heading("How the profiles were found", keep_with=40)
    info = context.profiles
    if info is None:
        flow.paragraph(_no_profiles(context))
    else:
        method = _METHODS.get(info.method.lower(), info.method)
        if info.stability_ari is None:
            stability = "Their stability was not checked for this round."
        else:
            stability = (
                "Refitting them on bootstrap resamples of the round gave a mean adjusted Rand "
                f"index of {number(info.stability_ari, 2)} with the original solution"
            )
            stability += (
                f"; by Hennig's criterion (how well each profile is recovered) the least "
                f"stable profile is \u201c{info.stability_verdict}\u201d."
                if info.stability_verdict
                else "."
            )
        flow.paragraph(
            f"{info.k} profile{'s were' if info.k != 1 else ' was'} found with {method} of "
            f"everyone's blocker scores in the round. {stability}"
        )

    flow.heading("Anonymity", keep_with=40)
    flow.paragraph(
        f"Results are shown only for groups of at least {context.threshold} people. A team "
        f"with fewer respondents gets no report; a scale is withheld when fewer than "
        f"{context.threshold} members answered enough of its questions; the organization's "
        f"bands are drawn only where at least {context.threshold} people lie beyond each edge; "
        "and the profile mix is merged or withheld when a group would be smaller than "
        f"{context.threshold}. No individual answer, and no minimum or maximum of the team, "
        "appears in this report."
    )
