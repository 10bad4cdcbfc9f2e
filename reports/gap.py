"""The team report's counterparty page: "Us and <counterparty>" (#16).

:func:`counterparty_section` draws, on the report's :class:`reports.layout.PageFlow`,
the gap chart (the ``"gap"`` kind of :data:`reports.charts.CHARTS`, the same chart
the dashboard shows), what the comparison finds (whether the team's view of the
counterparty is shared, blockers seen differently, blockers present on both
sides), a table per blocker with agreement in words, and the plays that fit the
pair with the reason for each. :func:`counterparty_method` adds how agreement
was measured (rwg(j) per blocker, the intraclass correlations with their
intervals) to the method section.

The page exists only when the context carries a
:class:`reports.context.CounterpartyContext`, which callers build only from a
released counterparty round with at least the anonymity threshold of raters.
Every sentence comes from :class:`reports.sentences.CounterpartySentences`
(and through it from the framework file), so the dashboard says the same; a
blocker the raters do not agree on has no figure anywhere, only "seen
differently".
"""

from __future__ import annotations

from reports.charts import draw_chart
from reports.context import TeamReportContext
from reports.i18n import _
from reports.layout import PageFlow
from reports.style import MUTED, SIZES
from reports.text import number

__all__ = ["counterparty_method", "counterparty_section"]


def counterparty_section(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    """Draw the counterparty section (nothing without a counterparty)."""
    counterparty = context.counterparty
    sentences = context.counterparty_sentences
    if counterparty is None or sentences is None:
        return
    gap = counterparty.gap
    flow.section(number_, sentences.title(), sentences.intro())

    labels = [context.name_of(b.blocker_id) for b in gap.blockers]
    left = flow.label_width(labels, SIZES["chart"]) + 14
    ax = flow.axes(31 * len(labels) + 70, left=left, right=70, bottom=60, top=2)
    draw_chart("gap", context, ax)
    flow.skip(8)

    findings = sentences.findings()
    if findings:
        flow.heading(_("What the comparison shows"), keep_with=60)
        if not sentences.shared():  # the team sees them differently: the finding comes first
            flow.callout(findings[0], size=SIZES["body"] + 0.5)
            findings = findings[1:]
        for sentence in findings:
            flow.bullet(sentence)

    flow.heading(_("Blocker by blocker"), keep_with=80)
    rows = [
        [
            sentences.name_of(b),
            sentences.us(b),
            sentences.them(b),
            sentences.agreement(b),
        ]
        for b in gap.blockers
    ]
    flow.table(
        rows,
        [1.9, 1.35, 1.45, 1.4],
        header=[
            _("Blocker"),
            _("Your team (95%% CI)"),
            _("%(counterparty)s (95%% CI)", counterparty=_short(counterparty.name)),
            _("Your team's agreement on them"),
        ],
        align=["left", "right", "right", "left"],
    )

    flow.heading(_("Plays that fit the pair"), keep_with=60)
    if not gap.plays:
        flow.paragraph(sentences.no_pair_plays(), colour=MUTED)
        return
    for names, reason in sentences.plays_by_reason():
        flow.bullet(reason, lead="  \u00b7  ".join(names), after=5)


def counterparty_method(flow: PageFlow, context: TeamReportContext) -> None:
    """The method part of the counterparty page: how agreement was measured."""
    counterparty = context.counterparty
    sentences = context.counterparty_sentences
    if counterparty is None or sentences is None:
        return
    flow.heading(
        _("How your team's view of %(counterparty)s was measured", counterparty=counterparty.name),
        keep_with=60,
    )
    flow.paragraph(sentences.method_rwg())
    rows = []
    for gap in counterparty.gap.blockers:
        rated = sentences.rating(gap)
        value = (
            number(rated.rwg_j, 2)
            if rated is not None and not rated.withheld and rated.rwg_j is not None
            else "\u2013"
        )
        rows.append([sentences.name_of(gap), value, sentences.agreement(gap)])
    flow.table(
        rows,
        [2.4, 1.0, 2.6],
        header=[_("Blocker"), "rwg(j)", _("In words")],
        align=["left", "right", "left"],
    )
    flow.paragraph(sentences.method_icc())


def _short(name: str, limit: int = 28) -> str:
    """A counterparty's name short enough for a table header."""
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "\u2026"
