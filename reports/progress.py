"""The team report's progress pages (#16): the trend across all rounds, and the
commitments of the previous round beside the change in their blockers.

:func:`trend_section` draws the ``"trend"`` chart of :data:`reports.charts.CHARTS`
(the dashboard's too) with the trend's summary; :func:`followup_section` lists
each commitment (play, owner role, due date) with the change in the blockers
its play counters. Both appear only when the context carries the data. The
sentences are the framework file's (``trend.wording``, through
:mod:`analytics.trend` and :mod:`analytics.session_kit`) and
:func:`trend_summary` / :func:`change_cell`, which the dashboard uses too;
figures are rounded by :mod:`analytics.coarsen`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.coarsen import display_round, format_score
from reports.charts import chart_data, draw_chart
from reports.context import TeamReportContext
from reports.i18n import N_, _
from reports.layout import PageFlow
from reports.style import MUTED, SIZES

if TYPE_CHECKING:
    from analytics.trend import BlockerChange, Trend

__all__ = [
    "FOLLOWUP_TITLE",
    "TREND_TITLE",
    "change_cell",
    "followup_section",
    "trend_figures",
    "trend_section",
    "trend_summary",
]

TREND_TITLE = N_("Across all rounds")
FOLLOWUP_TITLE = N_("Commitments from the last round")


def trend_figures(trend: Trend, names: dict[str, str] | None = None) -> str:
    """The first and last value of each blocker that changed clearly, as printed.

    The values are those the trend chart is drawn at (rounded to one decimal).
    """
    if len(trend.round_labels) < 2:
        return ""
    parts = []
    for blocker in trend.blockers:
        name = (names or {}).get(blocker.blocker_id, blocker.name)
        for change, since in (
            (blocker.overall, trend.round_labels[0]),
            (blocker.last_step, trend.round_labels[-2]),
        ):
            if change is None or not change.clear:
                continue
            parts.append(
                _(
                    "%(name)s %(before)s in %(since)s, %(after)s in %(last)s",
                    name=name,
                    before=format_score(change.before),
                    since=since,
                    after=format_score(change.after),
                    last=trend.round_labels[-1],
                )
            )
            break
    return _("In figures: %(figures)s.", figures="; ".join(parts)) if parts else ""


def trend_summary(context: TeamReportContext) -> str:
    """The trend's summary (framework wording) and the figures behind it."""
    trend = context.trend
    if trend is None:
        return ""
    names = {d.id: d.name for d in context.blockers}
    return " ".join(p for p in (trend.summary, trend_figures(trend, names)) if p)


def change_cell(change: BlockerChange | None) -> str:
    """A change with its 95% interval, as printed ("\u22120.4 (\u22120.8 to \u22120.1)")."""
    if change is None:
        return _("not measured in both rounds")
    text = _signed(change.change)
    if change.ci_low is not None and change.ci_high is not None:
        text += _(
            " (%(low)s to %(high)s)", low=_signed(change.ci_low), high=_signed(change.ci_high)
        )
    return text


def _signed(value: float) -> str:
    shown = display_round(value)
    if shown == 0:
        return format_score(0.0)
    text = format_score(value)
    return "\u2212" + text[1:] if text.startswith("-") else "+" + text


def trend_section(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    """Draw the trend section (nothing without a trend)."""
    trend = context.trend
    if trend is None:
        return
    rounds = ", ".join(trend.round_labels)
    flow.section(
        number_,
        _(TREND_TITLE),
        _(
            "Your team's average on each blocker in every round so far (%(rounds)s). Lower is "
            "better. A change counts as clear when its 95%% interval excludes zero.",
            rounds=rounds,
        ),
    )
    data = chart_data("trend", context)
    if len(data):
        left = flow.label_width([str(i) for i in data.index], SIZES["chart"]) + 14
        ax = flow.axes(40 * len(data) + 50, left=left, right=16, bottom=40, top=4)
        draw_chart("trend", context, ax)
        flow.skip(14)
    flow.callout(trend_summary(context), size=SIZES["body"] + 0.5)
    rows = []
    for blocker in trend.blockers:
        rows.append(
            [
                context.name_of(blocker.blocker_id),
                change_cell(blocker.overall) if blocker.overall else "\u2013",
                change_cell(blocker.last_step) if blocker.last_step else "\u2013",
            ]
        )
    if len(trend.round_labels) > 1:
        flow.table(
            rows,
            [2.2, 2.0, 2.0],
            header=[
                _("Blocker"),
                _("Since %(round)s (95%% CI)", round=trend.round_labels[0]),
                _("Since %(round)s (95%% CI)", round=trend.round_labels[-2]),
            ],
            align=["left", "right", "right"],
        )


def followup_section(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    """Draw the commitments of the last round beside the change (nothing without any)."""
    followups = context.followups
    if not followups:
        return
    flow.section(
        number_,
        _(FOLLOWUP_TITLE),
        _(
            "The commitments your coach recorded with the team, each beside the change in the "
            "blockers its play counters. A change is clear when its 95%% interval excludes "
            "zero; a play rarely moves a blocker within one round, so read these as a "
            "conversation starter, not a verdict."
        ),
    )
    for followup in followups:
        flow.bullet(followup.sentence, after=4)
        rows = []
        for blocker_id, change in zip(followup.blockers, followup.changes, strict=True):
            rows.append([context.name_of(blocker_id), change_cell(change)])
        if rows:
            flow.table(
                rows,
                [3.0, 3.0],
                header=[_("Related blocker"), _("Change (95%% CI)")],
                align=["left", "right"],
            )
    flow.paragraph(
        _("Commitments are recorded per team, never per person; the owner is a role."),
        size=SIZES["small"],
        colour=MUTED,
    )
