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

from analytics.coarsen import SMALL_GROUP, coarsening_note, count_word
from analytics.diagnosis import OTHER_PROFILES, DimensionFinding, RecommendedPlay
from analytics.language import use_language
from reports.agenda import AGENDA_TITLE, agenda_section
from reports.charts import draw_chart
from reports.context import TeamReportContext
from reports.gap import counterparty_method, counterparty_section
from reports.i18n import N_, _
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
    ellipsize,
    fit_lines,
    long_date,
    lower_first,
    members,
    missing,
    number,
    percent,
    percentile_phrase,
    text_width,
    whole,
)

__all__ = ["OPTIONAL_SECTION_TITLES", "SECTION_TITLES", "build_pages", "render_team_report"]

#: Section titles, in report order (the cover has none).
SECTION_TITLES = {
    "summary": N_("Summary"),
    "blockers": N_("Blocker profile"),
    "spread": N_("Where the team disagrees"),
    "profiles": N_("Profiles in the team"),
    "plays": N_("Plays and practices"),
    "checklist": N_("Before your next negotiation"),
    "change": N_("Change since the last round"),
    "method": N_("Method and privacy"),
}

#: Titles of the sections shown only when the context carries their data (#16); the
#: counterparty page is titled "Us and <counterparty>".
OPTIONAL_SECTION_TITLES = {
    "trend": TREND_TITLE,
    "followups": FOLLOWUP_TITLE,
    "agenda": AGENDA_TITLE,
}

CONFIDENTIAL = N_("Confidential: team results only")


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
    with rc_context(), gc_paused(), use_language(context.language):
        pages = build_pages(context)
        created = datetime.combine(context.report_date, time(12, 0), tzinfo=UTC)
        metadata = {
            "Title": _(
                "%(team)s: team negotiation report, %(round)s",
                team=context.team,
                round=context.round_name,
            ),
            "Author": "Negoscope",
            "Subject": _(
                "Negotiation blockers and plays for %(team)s (%(organization)s), %(round)s",
                team=context.team,
                organization=context.organization,
                round=context.round_name,
            ),
            "Keywords": _("negotiation, team report, blockers, plays"),
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
    with rc_context(), use_language(context.language):
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
        for number_, (_key, draw) in enumerate(sections, start=2):
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
        number_text = _("Page %(index)d of %(total)d", index=index, total=total)
        room = flow.column - text_width(number_text, size) - 24
        left = _footer_text(context, room, size)
        flow.rect(flow.left, y - 12, flow.column, 0.5, colour=RULE, page=page)
        flow.text_at(flow.left, y, left, size=size, colour=MUTED, page=page)
        flow.text_at(
            flow.left + flow.column, y, number_text, size=size, colour=MUTED, ha="right", page=page
        )


def _footer_text(context: TeamReportContext, room: float, size: float) -> str:
    """ "team · round · Confidential...", shortening the names first so the notice stays."""
    notice = f" \u00b7 {_(CONFIDENTIAL)}"
    names_room = room - text_width(notice, size)
    round_name = ellipsize(context.round_name, names_room * 0.4, size)
    team = ellipsize(context.team, names_room - text_width(f" \u00b7 {round_name}", size), size)
    return ellipsize(f"{team} \u00b7 {round_name}{notice}", room, size)


def _cover_end(flow: PageFlow, context: TeamReportContext, top: float) -> None:
    """Finish the cover once the sections are laid out: contents, then "About this report"."""
    page = flow.pages[0]
    size = SIZES["body"]
    flow.text_at(
        flow.left,
        top,
        _("IN THIS REPORT"),
        size=SIZES["caption"],
        bold=True,
        colour=MUTED,
        page=page,
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
    flow.paragraph(_("About this report"), size=SIZES["small"], bold=True, after=4, page=page)
    flow.paragraph(
        _(
            "This report describes %(team)s as a group: which negotiation blockers hold the "
            "team back, where its members see things differently, and which plays to practise. "
            "It never shows an individual's answers. Results are reported only for groups of at "
            "least %(threshold)d people, and this report is meant for the team and its coach.",
            team=context.team,
            threshold=context.threshold,
        ),
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
        _("Team negotiation report"),
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
        _(
            "%(rate)s of %(invited)d invited",
            rate=percent(context.response_rate),
            invited=context.invited,
        )
        if context.response_rate is not None and context.invited
        else _("not recorded")
    )
    facts = [
        (_("Survey round"), context.round_name),
        (_("Report date"), long_date(context.report_date)),
        (_("Respondents"), _("%(n)d team members", n=context.n)),
        (_("Response rate"), response),
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
    flow.section(number_, _(SECTION_TITLES["summary"]))
    flow.callout(sentences.summary(), size=SIZES["lead"] + 0.5, bold=False)

    if diagnosis.top_blockers:
        flow.heading(_("Your main blockers"))
        for dim_id in diagnosis.top_blockers:
            flow.bullet(sentences.blocker_line(dim_id), lead=sentences.blocker_lead(dim_id))

    flow.heading(_("What your team does well"))
    strengths = sentences.strengths()
    if strengths:
        for _dim, sentence in strengths[:3]:
            flow.bullet(sentence)
    else:
        flow.paragraph(
            _(
                "No blocker is clearly lower for your team than in your organization yet; the "
                "plays below are the quickest way to build a strength."
            ),
            colour=MUTED,
        )

    if diagnosis.pillars:
        flow.heading(_("Standing on the three pillars"), keep_with=140)
        labels = [p.name for p in diagnosis.pillars]
        left = flow.label_width(labels, SIZES["chart"]) + 14
        ax = flow.axes(30 * len(labels) + 44, left=left, right=118, bottom=28, top=16)
        draw_chart("pillars", context, ax)
        flow.skip(4)
        for pillar in diagnosis.pillars:
            flow.bullet(
                f"{pillar.description} {sentences.pillar_meaning(pillar)}",
                lead=_(
                    "%(pillar)s: %(level)s",
                    pillar=pillar.name,
                    level=sentences.pillar_label(pillar),
                ),
                size=SIZES["small"],
                after=2,
            )
        flow.skip(4)

    if context.trend is not None and len(context.trend.round_labels) > 1:
        flow.heading(_("Across your rounds"), keep_with=30)
        flow.paragraph(trend_summary(context))

    flow.heading(_("Plays to practise first"))
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
    head, dot, _rest = text.partition(". ")
    return head + "." if dot else text


def _blocker_profile(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(
        number_,
        _(SECTION_TITLES["blockers"]),
        _(
            "Each row is one blocker. The shaded bands show how the scores of everyone in your "
            "organization spread out; the diamond is your team's average with its 95%% "
            "confidence interval. Further right means more of the blocker."
        ),
    )
    labels = [d.name for d in context.blockers]
    left = flow.label_width(labels, SIZES["chart"]) + 14
    ax = flow.axes(30 * len(labels) + 74, left=left, right=84, bottom=62, top=4)
    draw_chart("blockers", context, ax)
    flow.skip(14)

    flow.heading(_("Reading the chart"))
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
                _("Withheld: too few members answered these questions.") + asked_text, lead=name
            )
            continue
        ci = (
            _(
                " (95%% CI %(low)s to %(high)s)",
                low=number(finding.ci_low),
                high=number(finding.ci_high),
            )
            if finding.ci_low is not None
            else ""
        )
        flow.bullet(
            _(
                "Team average %(mean)s%(ci)s, %(percentile)s.",
                mean=number(finding.mean),
                ci=ci,
                percentile=percentile_phrase(finding.percentile),
            )
            + f" {sentences.blocker_line(dim_id)}{asked_text}",
            lead=name,
        )


def _spread(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(
        number_,
        _(SECTION_TITLES["spread"]),
        _(
            "Spread shows how differently your members answered. When a team disagrees about a "
            "blocker, it sends mixed signals at the table and cannot offer clean trades until it "
            "aligns."
        ),
    )
    labels = [d.name for d in context.blockers]
    left = flow.label_width(labels, SIZES["chart"]) + 14
    ax = flow.axes(28 * len(labels) + 78, left=left, right=10, bottom=64, top=4)
    draw_chart("spread", context, ax)
    flow.skip(14)

    flow.heading(_("What it means"))
    findings = [(d, _finding(context, d.id)) for d in context.blockers]
    flagged = [(d, f) for d, f in findings if f is not None and f.disagreeing]
    comparable = any(f is not None and f.disagreeing is not None for _d, f in findings)
    if flagged:
        for dim, finding in flagged:
            ref = context.spread_references.get(dim.id)
            typical = (
                _(" against a typical %(q50)s", q50=number(ref.q50)) if ref and ref.q50 else ""
            )
            caveat = context.sentences.caveat(dim.id)
            flow.bullet(
                _(
                    "Your members differ more on this than the members of three in four teams "
                    "do (standard deviation %(sd)s%(typical)s). Talk it through before your next "
                    "negotiation: until the team aligns on it, it cannot offer clean trades.",
                    sd=number(finding.sd),
                    typical=typical,
                )
                + (f" {caveat}" if caveat else ""),
                lead=dim.name,
            )
    elif comparable:
        flow.paragraph(
            _(
                "Your team does not disagree unusually on any blocker: on each of them its "
                "spread is within the range of most teams in your organization. A shared view "
                "makes it easier to offer clean trades."
            )
        )
    else:
        flow.paragraph(
            _(
                "Too few teams took part to say whether your team's spread is unusual; the chart "
                "shows the spread itself."
            ),
            colour=MUTED,
        )
    flow.paragraph(
        _(
            "Spread is measured by the standard deviation of members' scores (in points on the "
            "1\u20135 scale, to one decimal). A team is flagged when its spread is in the top "
            "quarter of the teams in your organization."
        ),
        size=SIZES["small"],
        colour=MUTED,
    )


def _no_profiles(context: TeamReportContext) -> str:
    """Why there is no profile to show, in one sentence."""
    if context.no_profiles_reason:
        return _(
            "No profile structure was found in this round (%(reason)s), so no profiles are "
            "reported.",
            reason=context.no_profiles_reason,
        )
    return _("No profiles were fitted for this round.")


def _profiles(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(
        number_,
        _(SECTION_TITLES["profiles"]),
        _(
            "Profiles are recurring combinations of blockers, found across everyone who answered "
            "in your organization. The report shows at most how many of your members are likely "
            "to belong to each profile, never who."
        ),
    )
    info = context.profiles
    mix = context.diagnosis.profile_mix
    if info is None or not info.profiles:
        flow.paragraph(_no_profiles(context), colour=MUTED)
        return
    if info.k == 1:
        flow.callout(
            _(
                "Only one profile was found in your organization: people differ in degree, not "
                "in kind, so there is no mix to show."
            )
        )
    elif mix is None:
        flow.callout(_("The profile mix was not computed for this round."))
    elif not mix.shown:
        flow.callout(
            _(
                "Your team's profile mix is not shown: %(reason)s.",
                reason=mix.reason or _("too few members"),
            )
        )
    else:
        flow.callout(
            _(
                "Profiles could be estimated for %(members)s of your team. Counts are expected "
                "numbers of members, summed over how likely each person is to belong to each "
                "profile, so they are rounded.",
                members=members(mix.n_assigned, context.n),
            )
        )

    counts = dict(mix.counts) if mix is not None and mix.shown else {}
    merged = set(mix.merged) if mix is not None and mix.shown else set()
    rows = []
    for profile in info.profiles:
        if profile.name in counts:
            team = _about(counts[profile.name], context.n)
        elif profile.name in merged:
            team = _("in \u201cOther profiles\u201d")
        else:
            team = _("not shown") if not counts else _("none or very few")
        rows.append([context.profile_label(profile.name), profile.meaning, team])
    if OTHER_PROFILES in counts:
        rows.append(
            [
                context.profile_label(OTHER_PROFILES),
                _(
                    "The smaller profiles combined, so that no group in your team is smaller "
                    "than %(threshold)d members.",
                    threshold=context.threshold,
                ),
                _about(counts[OTHER_PROFILES], context.n),
            ]
        )
    flow.heading(_("What each profile means"), keep_with=60)
    flow.table(rows, [1.5, 3.1, 1.05], header=[_("Profile"), _("What it means"), _("In your team")])
    flow.paragraph(
        _(
            "A profile's meaning compares its typical scores with the organization's average on "
            "each blocker. People rarely fit a profile exactly; use the profiles as a vocabulary "
            "for discussion, not as labels for individuals."
        ),
        size=SIZES["small"],
        colour=MUTED,
    )


def _about(expected: float, n: int) -> str:
    """An expected number of members: "about 8", or words in a team under 10."""
    count = min(max(whole(expected), 0), n)
    if n < SMALL_GROUP:
        return count_word(count, n)
    return _("about %(count)d", count=count)


def _plays(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(
        number_,
        _(SECTION_TITLES["plays"]),
        _(
            "Six plays counter the blockers. The chart shows how often your team says it uses "
            "each one; the plays recommended for your main blockers are highlighted."
        ),
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
            _(
                "No blocker is clearly higher than in your organization, so we recommend no "
                "specific play. Keep the plays your team already uses in practice, and try one "
                "it rarely uses."
            )
        )
        return
    first = {p.id for p in diagnosis.plays_to_practise_first}
    described: set[str] = set()
    for dim_id in diagnosis.top_blockers:
        plays = [p for p in diagnosis.recommended_plays if dim_id in p.addresses]
        flow.heading(
            _("Against %(blocker)s", blocker=lower_first(context.name_of(dim_id))), keep_with=80
        )
        if not plays:
            flow.paragraph(_("The framework lists no play for this blocker."), colour=MUTED)
            continue
        for play in plays:
            if play.id in described:
                flow.bullet(_("Described above."), lead=play.name, after=4)
                continue
            described.add(play.id)
            _play(flow, context, play, play.id in first)


def _play(flow: PageFlow, context: TeamReportContext, play: RecommendedPlay, first: bool) -> None:
    mark = "  \u00b7  " + _("practise first") if first else ""
    mark = mark or ("  \u00b7  " + _("already in regular use") if play.in_regular_use else "")
    flow.bullet(
        context.sentences.usage(play.id, play.practice_mean)
        + " "
        + _("Why it works: %(rationale)s", rationale=play.rationale),
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
        _(
            "The prompts are tailored to your strongest blocker, %(blocker)s.",
            blocker=lower_first(context.name_of(top[0])),
        )
        if top
        else _("With no main blocker, the prompts are the general ones.")
    )
    flow.section(
        number_,
        _(SECTION_TITLES["checklist"]),
        _("Work through these questions together before your next important negotiation.")
        + " "
        + tailored,
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
        _(SECTION_TITLES["change"]),
        _("How your team's averages moved since %(round)s.", round=change.previous_round)
        + f" {context.sentences.round_mode()} "
        + _(
            "A filled marker means the 95%% interval of the change excludes zero; a change that "
            "rounds to %(zero)s is drawn as no change.",
            zero=number(0.0),
        ),
    )
    rows = [r for r in change.rows if _known(context, r.dimension)]
    if rows:
        labels = [context.name_of(r.dimension) for r in rows] + [
            _("Plays in use (higher is better)")
        ]
        left = flow.label_width(labels, SIZES["chart"]) + 14
        ax = flow.axes(15 * (len(rows) + 2) + 72, left=left, right=10, bottom=62, top=4)
        draw_chart("change", context, ax)
        flow.skip(14)
    table = []
    for row in rows:
        if row.withheld:
            table.append([context.name_of(row.dimension), _("withheld"), "", "", ""])
            continue
        ci = (
            _(" (%(low)s to %(high)s)", low=_signed(row.ci_low), high=_signed(row.ci_high))
            if row.ci_low is not None
            else ""
        )
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
            _("Scale"),
            change.previous_round,
            context.round_name,
            _("Change (95%% CI)"),
            _("Respondents"),
        ],
        align=["left", "right", "right", "right", "right"],
    )
    flow.paragraph(
        _(
            "A scale is withheld when either round has fewer than %(threshold)d answers on it.",
            threshold=context.threshold,
        ),
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
        return missing()
    text = number(value)
    if text.startswith("-"):
        return "\u2212" + text[1:]
    return text if text.strip("0.,") == "" else "+" + text


#: Hennig's verdicts (analytics.profile_stability), for the catalog.
_VERDICTS = (N_("stable"), N_("doubtful"), N_("not to be trusted"))

_METHODS = {
    "gmm": N_("a Gaussian mixture model (latent profile analysis)"),
    "lpa": N_("latent profile analysis"),
    "kmeans": N_("k-means clustering"),
}


def _method(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    flow.section(number_, _(SECTION_TITLES["method"]))
    flow.heading(_("Who answered"), keep_with=30)
    rate = (
        _(
            " out of %(invited)d invited (a response rate of %(rate)s)",
            invited=context.invited,
            rate=percent(context.response_rate),
        )
        if context.invited and context.response_rate is not None
        else ""
    )
    flow.paragraph(
        _(
            "%(n)d members of %(team)s answered%(rate)s. Across the organization, %(n_round)d "
            "people answered in %(round)s. The questionnaire was %(title)s (version "
            "%(version)d).",
            n=context.n,
            team=context.team,
            rate=rate,
            n_round=context.n_round,
            round=context.round_name,
            title=context.instrument_title,
            version=context.instrument_version,
        )
    )

    flow.heading(_("How your team is compared"), keep_with=40)
    flow.paragraph(
        _(
            "Each scale score is the average of a person's answers to its questions, with "
            "reverse-worded questions flipped. The team average comes with a 95%% confidence "
            "interval. The percentile places the team average among the individual scores of "
            "the organization. \u201cMembers who agree\u201d counts members whose score is at "
            "or above \u201cAgree\u201d (4 of 5)."
        )
    )
    flow.paragraph(
        _(
            "A blocker is a main blocker only when your team's average is clearly higher than "
            "the organization's: the difference passes a test that keeps false alarms to about "
            "one in ten across every team and blocker of the round (Benjamini\u2013Hochberg "
            "false-discovery control), and the team's 95%% interval lies above the "
            "organization's median. In a team of fewer than 10 members, or when one member's "
            "answers make the difference, it is marked tentative. A strength is the same, below "
            "the organization. The pillars take their level from the same rule. Blockers are "
            "listed in the order in which they stand out for your team, allowing for the "
            "profiles of its members."
        )
    )
    renamed = [
        [d.name, d.instrument_name]
        for d in (*context.blockers, *context.practices)
        if d.name != d.instrument_name
    ]
    if renamed:
        flow.heading(_("Names in this report and in the questionnaire"), keep_with=40)
        flow.table(
            renamed,
            [3.0, 3.0],
            header=[_("In this report"), _("Questions your members answered")],
            align=["left", "left"],
        )

    counterparty_method(flow, context)

    flow.heading(_("How figures are rounded"), keep_with=40)
    flow.paragraph(coarsening_note())

    if context.release_text is not None:
        flow.heading(_("When results change"), keep_with=40)
        flow.paragraph(context.release_text)

    flow.heading(_("How reliable the scales are"), keep_with=60)
    flow.paragraph(
        _(
            "Cronbach's alpha shows whether the questions of a scale hang together; %(cut)s or "
            "more is usually taken as adequate. Its 95%% interval (Feldt) shows how precisely it "
            "is known; omega total is a second estimate that does not assume every question "
            "weighs the same. Every statement that uses a flagged scale carries a caveat.",
            cut=number(0.70, 2),
        )
    )
    rows = []
    for item in context.reliability:
        if not _known(context, item.dimension):
            continue
        dim = context.dimension(item.dimension)
        if item.alpha is None:
            note = _("could not be estimated")
        else:
            note = _("below the usual standard") if item.flagged else _("adequate")
        interval = (
            f"{number(item.alpha_ci_low, 2)}\u2013{number(item.alpha_ci_high, 2)}"
            if item.alpha_ci_low is not None and item.alpha_ci_high is not None
            else "\u2013"
        )
        rows.append(
            [
                dim.name,
                _("blocker")
                if dim.kind == "blocker"
                else _("play")
                if dim.kind == "practice"
                else "",
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
        header=[_("Scale"), _("Kind"), _("Items"), _("Alpha"), _("95%% CI"), _("Omega"), _("Note")],
        align=["left", "left", "right", "right", "right", "right", "left"],
    )

    flow.heading(_("How the profiles were found"), keep_with=40)
    info = context.profiles
    if info is None:
        flow.paragraph(_no_profiles(context))
    else:
        method = (
            _(_METHODS[info.method.lower()]) if info.method.lower() in _METHODS else info.method
        )
        if info.stability_ari is None:
            stability = _("Their stability was not checked for this round.")
        else:
            stability = _(
                "Refitting them on bootstrap resamples of the round gave a mean adjusted Rand "
                "index of %(ari)s with the original solution",
                ari=number(info.stability_ari, 2),
            )
            stability += (
                _(
                    "; by Hennig's criterion (how well each profile is recovered) the least "
                    "stable profile is \u201c%(verdict)s\u201d.",
                    verdict=_(info.stability_verdict),
                )
                if info.stability_verdict
                else "."
            )
        found = (
            _(
                "%(k)d profiles were found with %(method)s of everyone's blocker scores in the "
                "round.",
                k=info.k,
                method=method,
            )
            if info.k != 1
            else _(
                "1 profile was found with %(method)s of everyone's blocker scores in the round.",
                method=method,
            )
        )
        flow.paragraph(f"{found} {stability}")

    flow.heading(_("Anonymity"), keep_with=40)
    flow.paragraph(
        _(
            "Results are shown only for groups of at least %(threshold)d people. A team with "
            "fewer respondents gets no report; a scale is withheld when fewer than "
            "%(threshold)d members answered enough of its questions; the organization's bands "
            "are drawn only where at least %(threshold)d people lie beyond each edge; and the "
            "profile mix is merged or withheld when a group would be smaller than "
            "%(threshold)d. No individual answer, and no minimum or maximum of the team, "
            "appears in this report.",
            threshold=context.threshold,
        )
    )
