"""The report's charts from a report context: one registry, drawn in the PDF or as SVG.

:data:`CHARTS` is the one registry of chart kinds: for each kind, its title,
how its frame is built from a :class:`reports.context.TeamReportContext`, how
it is drawn (a pure plot function of :mod:`reports.plots`) and its size on the
dashboard. :func:`draw_chart` draws a kind on the PDF's Axes;
:func:`render_chart_svg` draws it as a stand-alone SVG for the dashboard
(:func:`figure_svg`: deterministic, text kept as ``<text>`` elements).

The frames built from a report context (:func:`chart_data`) hold the figures
as the report prints them - rounded by :func:`analytics.coarsen.display_round`
to one decimal, percentiles to whole numbers - so every chart, in the PDF and
on the dashboard, is drawn at the rounded value and agrees with the text. The
charts show team aggregates and organization quantiles only; no chart has a
whisker or marker at an individual's score (a team's minimum or maximum).

The plot functions are re-exported here for code that imported them from
this module.

Examples
--------
>>> data = pd.DataFrame(
...     {"change": [-0.4, 0.2], "ci_low": [-0.8, -0.1], "ci_high": [0.0, 0.5],
...      "kind": ["blocker", "practice"]},
...     index=["Deadline pressure", "Objective criteria"],
... )
>>> ax = change_chart(data)
>>> svg = figure_svg(ax.figure)
>>> svg.startswith("<?xml") and "Deadline pressure" in svg
True
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from xml.sax.saxutils import escape as xml_escape

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analytics.advice import PILLAR_LEVELS
from analytics.coarsen import DISPLAY_DIGITS, display_round
from reports.context import TeamReportContext
from reports.i18n import _
from reports.plots import (
    CHANGE_DIRECTIONS,
    blocker_profile_chart,
    change_chart,
    change_direction,
    gap_chart,
    pillar_chart,
    practice_chart,
    spread_chart,
    trend_chart,
)
from reports.sentences import BOTH_SIDES_NOTE
from reports.style import SIZES, rc_context
from reports.text import ellipsize

__all__ = [
    "CHANGE_DIRECTIONS",
    "CHARTS",
    "CHART_KINDS",
    "CHART_TITLES",
    "ChartKind",
    "blocker_profile_chart",
    "change_chart",
    "change_direction",
    "chart_data",
    "chart_figure",
    "draw_chart",
    "figure_svg",
    "gap_chart",
    "pillar_chart",
    "practice_chart",
    "render_chart_svg",
    "spread_chart",
    "trend_chart",
]


# --- data from a report context -------------------------------------------------------


def _blocker_data(context: TeamReportContext) -> pd.DataFrame:
    diagnosis = context.diagnosis
    rows, names = [], []
    for dim in context.blockers:
        finding = diagnosis.dimensions.get(dim.id)
        dist = context.org_distributions.get(dim.id)
        row: dict[str, object] = {
            f"q{level}": (dist.quantile(level) if dist is not None else None)
            for level in (5, 10, 25, 50, 75, 90, 95)
        }
        withheld = finding is None or finding.withheld
        row.update(
            mean=None if withheld else finding.mean,
            ci_low=None if withheld else finding.ci_low,
            ci_high=None if withheld else finding.ci_high,
            percentile=None if withheld else finding.percentile,
            top=dim.id in diagnosis.top_blockers,
        )
        rows.append(row)
        names.append(dim.name)
    return _frame(rows, names)


def _spread_data(context: TeamReportContext) -> pd.DataFrame:
    rows, names = [], []
    for dim in context.blockers:
        finding = context.diagnosis.dimensions.get(dim.id)
        ref = context.spread_references.get(dim.id)
        withheld = finding is None or finding.withheld
        rows.append(
            {
                "sd": None if withheld else finding.sd,
                "q25": ref.q25 if ref else None,
                "q50": ref.q50 if ref else None,
                "q75": ref.q75 if ref else None,
                "disagreeing": None if withheld else finding.disagreeing,
            }
        )
        names.append(dim.name)
    return _frame(rows, names)


def _pillar_data(context: TeamReportContext) -> pd.DataFrame:
    pillars = context.diagnosis.pillars
    sentences = context.sentences
    return _frame(
        [{"level": p.level, "label": sentences.pillar_label(p)} for p in pillars],
        [p.name for p in pillars],
        columns=["level", "label"],
    )


def _practice_data(context: TeamReportContext) -> pd.DataFrame:
    recommended = {p.id for p in context.diagnosis.recommended_plays}
    rows, names = [], []
    for dim in context.practices:
        finding = context.diagnosis.dimensions.get(dim.id)
        withheld = finding is None or finding.withheld
        rows.append(
            {
                "mean": None if withheld else finding.mean,
                "ci_low": None if withheld else finding.ci_low,
                "ci_high": None if withheld else finding.ci_high,
                "recommended": dim.id in recommended,
            }
        )
        names.append(dim.name)
    return _frame(rows, names)


def _change_data(context: TeamReportContext) -> pd.DataFrame:
    if context.change is None:
        return _frame([], [], columns=["change", "ci_low", "ci_high", "kind"])
    rows, names = [], []
    for row in context.change.rows:
        try:
            dim = context.dimension(row.dimension)
        except KeyError:
            continue
        rows.append(
            {"change": row.change, "ci_low": row.ci_low, "ci_high": row.ci_high, "kind": dim.kind}
        )
        names.append(dim.name)
    return _frame(rows, names)


_GAP_COLUMNS = ["us", "us_low", "us_high", "them", "them_low", "them_high", "shared", "note"]


def _gap_data(context: TeamReportContext) -> pd.DataFrame:
    """One row per blocker: the team's mean and its rating of the counterparty.

    A blocker the raters do not share a view on has no "them" figures at all
    (``shared`` false), so nothing can draw or print it as a value.
    """
    counterparty = context.counterparty
    if counterparty is None:
        return _frame([], [], columns=_GAP_COLUMNS)
    gap = counterparty.gap
    rows, names = [], []
    for blocker in gap.blockers:
        us, them = blocker.us, blocker.them if blocker.them_shared else None
        rows.append(
            {
                "us": None if us is None else us.mean,
                "us_low": None if us is None else us.ci_low,
                "us_high": None if us is None else us.ci_high,
                "them": None if them is None else them.mean,
                "them_low": None if them is None else them.ci_low,
                "them_high": None if them is None else them.ci_high,
                "shared": bool(blocker.them_shared or blocker.them_withheld),
                "note": _(BOTH_SIDES_NOTE) if blocker.blocker_id in gap.both_sides else "",
            }
        )
        names.append(context.name_of(blocker.blocker_id))
    return _frame(rows, names, columns=_GAP_COLUMNS)


def _draw_gap(data: pd.DataFrame, context: TeamReportContext, ax: Axes) -> Axes:
    counterparty = context.counterparty
    rating = counterparty.rating if counterparty is not None else None
    scale = (rating.scale_min, rating.scale_max) if rating is not None else (1, 5)
    _scale, labels = _blocker_scale(context)
    name = counterparty.name if counterparty is not None else _("The counterparty")
    them = _(
        "%(counterparty)s as your team rates them",
        counterparty=ellipsize(name, 150, SIZES["chart"] - 0.5),
    )
    return gap_chart(
        data,
        scale=scale,
        scale_labels=_short(labels),
        us_label=_("Your team"),
        them_label=them,
        ax=ax,
    )


def _trend_data(context: TeamReportContext) -> pd.DataFrame:
    """One row per blocker, one column per round (oldest first): the means as printed.

    A blocker withheld in a round is ``NaN`` there. Columns are positional
    (round labels may repeat), so the frame is built here rather than by
    :func:`_frame`.
    """
    trend = context.trend
    if trend is None:
        return pd.DataFrame(index=pd.Index([], dtype=object))
    labels = list(trend.round_labels)
    rows, names = [], []
    for blocker in trend.blockers:
        by_round = {v.round_label: v.mean for v in blocker.values}
        rows.append([display_round(by_round[r]) if r in by_round else float("nan") for r in labels])
        names.append(context.name_of(blocker.blocker_id))
    frame = pd.DataFrame(rows, columns=labels, dtype="float64")
    frame.index = pd.Index(names, dtype=object)
    return frame


def _draw_trend(data: pd.DataFrame, context: TeamReportContext, ax: Axes) -> Axes:
    scale, _labels = _blocker_scale(context)
    return trend_chart(data, scale=scale, ax=ax)


def _frame(
    rows: list[dict[str, object]], names: list[str], columns: list[str] | None = None
) -> pd.DataFrame:
    frame = (
        pd.DataFrame.from_records(rows, columns=columns)
        if rows
        else pd.DataFrame(columns=columns or [])
    )
    frame.index = pd.Index(names, dtype=object)
    for column in frame.columns:
        if column not in (
            "top",
            "disagreeing",
            "recommended",
            "level",
            "label",
            "kind",
            "shared",
            "note",
        ):
            values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
            digits = 0 if column == "percentile" else DISPLAY_DIGITS
            frame[column] = values.map(lambda v, d=digits: display_round(v, d)).astype("float64")
    if "disagreeing" in frame.columns:
        frame["disagreeing"] = frame["disagreeing"].astype(object)
    return frame


def _blocker_scale(context: TeamReportContext) -> tuple[tuple[int, int], tuple[str, ...] | None]:
    blockers = context.blockers
    if not blockers:
        return (1, 5), None
    first = blockers[0]
    return (first.scale_min, first.scale_max), first.scale_labels


def _practice_scale(context: TeamReportContext) -> tuple[tuple[int, int], tuple[str, ...] | None]:
    practices = context.practices
    if not practices:
        return (1, 5), None
    first = practices[0]
    return (first.scale_min, first.scale_max), first.scale_labels


def _short(labels: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Scale labels short enough to sit under a tick, else none."""
    if labels is None:
        return None
    return labels if max(len(s) for s in labels) <= 18 else None


def _draw_blockers(data: pd.DataFrame, context: TeamReportContext, ax: Axes) -> Axes:
    scale, labels = _blocker_scale(context)
    return blocker_profile_chart(data, scale=scale, scale_labels=_short(labels), ax=ax)


def _draw_practices(data: pd.DataFrame, context: TeamReportContext, ax: Axes) -> Axes:
    scale, labels = _practice_scale(context)
    return practice_chart(data, scale=scale, scale_labels=_short(labels), ax=ax)


@dataclass(frozen=True)
class ChartKind:
    """One kind of chart: its title, its frame, how it is drawn and its dashboard size.

    ``size`` is (width, height per row of data, height besides the rows) in
    inches; ``extra_rows`` counts rows drawn beyond the frame's (group headings).
    """

    title: str
    data: Callable[[TeamReportContext], pd.DataFrame]
    draw: Callable[[pd.DataFrame, TeamReportContext, Axes], Axes]
    size: tuple[float, float, float]
    extra_rows: int = 0


#: The one registry of chart kinds, in dashboard order.
CHARTS: Mapping[str, ChartKind] = MappingProxyType(
    {
        "blockers": ChartKind("Blocker profile", _blocker_data, _draw_blockers, (6.8, 0.5, 1.9)),
        "spread": ChartKind(
            "Where the team disagrees",
            _spread_data,
            lambda data, _context, ax: spread_chart(data, ax=ax),
            (6.8, 0.45, 1.5),
        ),
        "pillars": ChartKind(
            "Standing on the three pillars",
            _pillar_data,
            lambda data, context, ax: pillar_chart(
                data,
                ax=ax,
                level_labels={
                    level: context.sentences.wording.level_label(level) for level in PILLAR_LEVELS
                },
            ),
            (6.8, 0.5, 1.1),
        ),
        "practices": ChartKind(
            "How often the team uses each play",
            _practice_data,
            _draw_practices,
            (6.8, 0.42, 1.8),
        ),
        "change": ChartKind(
            "Change since the last round",
            _change_data,
            lambda data, _context, ax: change_chart(data, ax=ax),
            (6.8, 0.3, 1.3),
            extra_rows=2,
        ),
        "gap": ChartKind(
            "Us and the counterparty",
            _gap_data,
            _draw_gap,
            (6.8, 0.6, 1.6),
        ),
        "trend": ChartKind("Blockers across all rounds", _trend_data, _draw_trend, (6.8, 0.6, 1.0)),
    }
)

#: Chart kinds accepted by :func:`chart_data` and :func:`render_chart_svg`.
CHART_KINDS = tuple(CHARTS)

#: Accessible titles of the chart kinds (the team name is appended).
CHART_TITLES = MappingProxyType({kind: spec.title for kind, spec in CHARTS.items()})


def _kind(kind: str) -> ChartKind:
    if kind not in CHARTS:
        raise ValueError(f"unknown chart kind {kind!r}; use one of {', '.join(CHART_KINDS)}")
    return CHARTS[kind]


def chart_data(kind: str, context: TeamReportContext) -> pd.DataFrame:
    """The frame a chart of this kind draws, built from a report context.

    Parameters
    ----------
    kind : {"blockers", "spread", "pillars", "practices", "change", "gap", "trend"}
    context : TeamReportContext

    Returns
    -------
    pandas.DataFrame
        Indexed by display name; see the chart functions for the columns.
        Figures are rounded as the report prints them (one decimal;
        percentiles whole), so the chart is drawn at the printed values.
    """
    return _kind(kind).data(context)


def draw_chart(kind: str, context: TeamReportContext, ax: Axes) -> Axes:
    """Draw the chart of this kind for a context on the given Axes."""
    spec = _kind(kind)
    return spec.draw(spec.data(context), context, ax)


def chart_figure(kind: str, context: TeamReportContext) -> Figure:
    """A stand-alone figure of one chart kind for a context."""
    spec = _kind(kind)
    data = spec.data(context)
    rows = len(data) + spec.extra_rows
    width, per_row, base = spec.size
    with rc_context():
        fig = Figure(figsize=(width, per_row * max(rows, 1) + base), layout="constrained")
        spec.draw(data, context, fig.add_subplot())
    return fig


_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)


def figure_svg(fig: Figure) -> str:
    """SVG text of a figure: text kept as text, no metadata, deterministic.

    Parameters
    ----------
    fig : Figure

    Returns
    -------
    str
        An SVG document; the same figure gives the same text every time.
    """
    buffer = io.BytesIO()
    with rc_context():
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue().decode("utf-8")
    svg = _METADATA.sub("", svg, count=1)
    return _COMMENT.sub("", svg)


_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def render_chart_svg(kind: str, context: TeamReportContext) -> str:
    """SVG of one chart of a team's report, for the web dashboard.

    The SVG gets an accessible ``<title>`` naming the chart and the team
    (XML-escaped), so it can be inlined or used as an image.

    Parameters
    ----------
    kind : {"blockers", "spread", "pillars", "practices", "change", "gap", "trend"}
    context : TeamReportContext

    Returns
    -------
    str

    Examples
    --------
    >>> svg = render_chart_svg("pillars", context)  # doctest: +SKIP
    """
    svg = figure_svg(chart_figure(kind, context))
    title = f"<title>{xml_escape(f'{CHART_TITLES[kind]}: {context.team}')}</title>"
    match = _SVG_OPEN.search(svg)
    if match is None:  # pragma: no cover - matplotlib always writes the root element
        return svg
    return svg[: match.end()] + "\n " + title + svg[match.end() :]
