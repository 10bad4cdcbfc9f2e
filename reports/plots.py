"""The report's chart functions: pure plots of small data frames.

Every function takes a frame (one row per blocker, pillar, play or
dimension, indexed by the name shown) and an optional Axes, draws on it and
returns it. Without an Axes it makes its own :class:`matplotlib.figure.Figure`;
pyplot is never imported, so nothing touches global figure state. Missing
values (``NaN``) are drawn as "withheld" rather than as points. Nothing here
knows about report contexts: :mod:`reports.charts` builds the frames from a
context (rounded as the report prints them) and adapts the plots to the PDF
and to SVG.

Examples
--------
>>> data = pd.DataFrame({"change": [-0.4], "ci_low": [-0.8], "ci_high": [0.0],
...                      "kind": ["blocker"]}, index=["Deadline pressure"])
>>> [t.get_text() for t in change_chart(data).get_yticklabels()][1]
'Deadline pressure'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import ScalarFormatter
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from analytics.advice import PILLAR_LEVELS
from analytics.coarsen import display_round, format_score
from reports.i18n import _
from reports.sentences import SEEN_DIFFERENTLY
from reports.style import (
    ACCENT,
    ACCENT_DARK,
    BAND_COLOURS,
    GRID,
    HIGHLIGHT,
    INK,
    LEVEL_STYLES,
    MUTED,
    PAPER,
    RULE,
    SIZES,
    TINT,
    rc_context,
)
from reports.text import escape_mathtext, ordinal, whole

__all__ = [
    "CHANGE_DIRECTIONS",
    "SEEN_DIFFERENTLY",
    "blocker_profile_chart",
    "change_chart",
    "change_direction",
    "gap_chart",
    "pillar_chart",
    "practice_chart",
    "spread_chart",
    "trend_chart",
]

_TEAM_MARKER = {"marker": "D", "markersize": 6.5, "markeredgecolor": INK, "markeredgewidth": 0.8}


def _finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _new_axes(ax: Axes | None, width: float, height: float) -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig.add_subplot()


def _row_positions(n: int) -> np.ndarray:
    """Y positions so that the first row is at the top."""
    return np.arange(n, dtype=float)[::-1]


def _label_rows(
    ax: Axes, positions: Sequence[float], labels: Sequence[str], bold: Sequence[bool]
) -> None:
    ax.set_yticks(list(positions), labels=[escape_mathtext(str(s)) for s in labels])
    for tick, is_bold in zip(ax.get_yticklabels(), bold, strict=True):
        tick.set_fontweight("bold" if is_bold else "normal")
    ax.tick_params(axis="y", length=0, pad=6)


def _clean(ax: Axes, *, grid_x: bool = True) -> None:
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(RULE)
    ax.set_axisbelow(True)
    if grid_x:
        ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.tick_params(axis="x", colors=MUTED, length=3)
    _decimal_ticks(ax)


def _decimal_ticks(ax: Axes) -> None:
    """Numeric tick labels with the language's decimal mark (a comma in French), as in
    the text (:func:`analytics.coarsen.format_score`)."""
    mark = format_score(0.5)[1]
    if mark == ".":
        return
    for axis in (ax.xaxis, ax.yaxis):
        if type(axis.get_major_formatter()) is ScalarFormatter:
            axis.set_major_formatter(_MarkFormatter(mark))


class _MarkFormatter(ScalarFormatter):
    """matplotlib's default tick labels, with another decimal mark."""

    def __init__(self, mark: str) -> None:
        super().__init__()
        self.mark = mark

    def __call__(self, x: float, pos: int | None = None) -> str:
        return super().__call__(x, pos).replace(".", self.mark)


def _scale_ticks(ax: Axes, scale: tuple[int, int], labels: Sequence[str] | None) -> None:
    low, high = scale
    ticks = list(range(low, high + 1))
    ax.set_xlim(low - 0.15, high + 0.15)
    if labels is not None and len(labels) == len(ticks):
        ax.set_xticks(
            ticks, labels=[f"{v}\n{escape_mathtext(s)}" for v, s in zip(ticks, labels, strict=True)]
        )
    else:
        ax.set_xticks(ticks)


def _right_note(ax: Axes, y: float, text: str, **kwargs: object) -> None:
    """Text just right of the axes, level with data row ``y``."""
    transform = blended_transform_factory(ax.transAxes, ax.transData) + ScaledTranslation(
        6 / 72, 0, ax.figure.dpi_scale_trans
    )
    options = {"fontsize": SIZES["chart"] - 0.5, "color": MUTED, **kwargs}
    ax.text(1.0, y, escape_mathtext(text), transform=transform, va="center", ha="left", **options)


def _legend_below(ax: Axes, handles: list, ncol: int, offset: float) -> None:
    """A legend ``offset`` points below the axes, centred on the figure.

    Centring on the figure rather than the axes keeps a wide legend inside the
    page column when the axes leave room on the left for long row labels.
    """
    shift = ScaledTranslation(0, -offset / 72, ax.figure.dpi_scale_trans)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=blended_transform_factory(ax.figure.transFigure, ax.transAxes) + shift,
        ncol=ncol,
        handlelength=1.6,
        columnspacing=1.4,
        borderaxespad=0.0,
    )


def blocker_profile_chart(
    data: pd.DataFrame,
    *,
    scale: tuple[int, int] = (1, 5),
    scale_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The team's mean on each blocker against the organization's distribution.

    Shaded bands show the organization's 5-95, 10-90 and 25-75 percentile
    ranges with a line at the median; the team's mean is a diamond with its
    95% confidence interval.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per blocker, indexed by name, with columns ``mean``,
        ``ci_low``, ``ci_high``, ``q5``, ``q10``, ``q25``, ``q50``, ``q75``,
        ``q90``, ``q95`` and optionally ``percentile`` and ``top`` (bool, drawn
        bold). ``NaN`` mean = withheld; a ``NaN`` quantile leaves out its band.
    scale : (int, int), default (1, 5)
        The response scale.
    scale_labels : sequence of str, optional
        Labels of the scale points, shown under the numbers.
    ax : Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    Axes

    Examples
    --------
    >>> row = {"mean": 3.9, "ci_low": 3.5, "ci_high": 4.3, "q5": 1.6, "q10": 1.9,
    ...        "q25": 2.4, "q50": 2.9, "q75": 3.4, "q90": 3.9, "q95": 4.2}
    >>> ax = blocker_profile_chart(pd.DataFrame([row], index=["Deadline pressure"]))
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Deadline pressure']
    """
    with rc_context():
        ax = _new_axes(ax, 6.5, 0.55 * len(data) + 1.4)
        y = _row_positions(len(data))
        bands = (("q5", "q95"), ("q10", "q90"), ("q25", "q75"))
        half = 0.3
        for yi, (_name, row) in zip(y, data.iterrows(), strict=True):
            for (lo, hi), colour in zip(bands, BAND_COLOURS, strict=True):
                if _finite(row.get(lo)) and _finite(row.get(hi)):
                    ax.barh(
                        yi, row[hi] - row[lo], left=row[lo], height=2 * half, color=colour, lw=0
                    )
            if _finite(row.get("q50")):
                ax.plot([row["q50"]] * 2, [yi - half, yi + half], color=ACCENT_DARK, lw=1.6)
            if _finite(row.get("mean")):
                err = None
                if _finite(row.get("ci_low")) and _finite(row.get("ci_high")):
                    err = [[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]]
                ax.errorbar(
                    row["mean"], yi, xerr=err, fmt="none", ecolor=INK, elinewidth=1.1, capsize=3.5
                )
                ax.plot(row["mean"], yi, color=HIGHLIGHT, zorder=5, **_TEAM_MARKER)
                if _finite(row.get("percentile")):
                    _right_note(
                        ax,
                        yi,
                        _("%(ordinal)s percentile", ordinal=ordinal(whole(row["percentile"]))),
                    )
            else:
                ax.text(
                    (scale[0] + scale[1]) / 2,
                    yi,
                    _("withheld: too few answers"),
                    ha="center",
                    va="center",
                    color=MUTED,
                    style="italic",
                )
        _label_rows(ax, y, list(data.index), _bool_column(data, "top"))
        ax.set_ylim(-0.6, len(data) - 0.4)
        _scale_ticks(ax, scale, scale_labels)
        _clean(ax)
        handles: list = []
        for (lo, hi), colour, label in zip(
            reversed(bands),
            reversed(BAND_COLOURS),
            (_("Middle 50%%"), _("Middle 80%%"), _("Middle 90%%")),
            strict=True,
        ):
            if data.get(lo) is not None and data[[lo, hi]].notna().all(axis=1).any():
                handles.append(Patch(color=colour, label=label))
        if handles:
            handles[0].set_label(_("Organization: middle 50%%"))
        handles += [
            Line2D([], [], color=ACCENT_DARK, lw=1.6, label=_("Median")),
            Line2D(
                [], [], color=HIGHLIGHT, ls="none", label=_("Your team (95%% CI)"), **_TEAM_MARKER
            ),
        ]
        _legend_below(ax, handles, ncol=len(handles), offset=36 if scale_labels else 22)
    return ax


def spread_chart(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """How much the team's members differ on each blocker, against other teams.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per blocker, indexed by name, with columns ``sd`` (the team's
        standard deviation), ``q25``, ``q50``, ``q75`` (quartiles of the teams'
        standard deviations in the organization) and ``disagreeing`` (bool or
        ``NaN``). ``NaN`` sd = withheld.
    ax : Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> data = pd.DataFrame({"sd": [1.2], "q25": [0.7], "q50": [0.8], "q75": [1.0],
    ...                      "disagreeing": [True]}, index=["Fixed-pie thinking"])
    >>> float(spread_chart(data).get_xlim()[0])
    0.0
    """
    with rc_context():
        ax = _new_axes(ax, 6.5, 0.5 * len(data) + 1.2)
        y = _row_positions(len(data))
        values = data[["sd", "q25", "q50", "q75"]].to_numpy(dtype="float64", na_value=np.nan)
        top = np.nanmax(values) if np.isfinite(values).any() else 1.5
        half = 0.26
        for yi, (_name, row) in zip(y, data.iterrows(), strict=True):
            if _finite(row.get("q25")) and _finite(row.get("q75")):
                ax.barh(
                    yi,
                    row["q75"] - row["q25"],
                    left=row["q25"],
                    height=2 * half,
                    color=BAND_COLOURS[1],
                    lw=0,
                )
            if _finite(row.get("q50")):
                ax.plot([row["q50"]] * 2, [yi - half, yi + half], color=ACCENT_DARK, lw=1.6)
            if not _finite(row.get("sd")):
                ax.text(
                    top / 2,
                    yi,
                    _("withheld: too few answers"),
                    ha="center",
                    va="center",
                    color=MUTED,
                    style="italic",
                )
                continue
            flagged = (
                bool(row.get("disagreeing")) if _finite_bool(row.get("disagreeing")) else False
            )
            if flagged:
                ax.plot(
                    row["sd"],
                    yi,
                    marker="^",
                    markersize=8.5,
                    color=HIGHLIGHT,
                    markeredgecolor=INK,
                    markeredgewidth=0.8,
                    zorder=5,
                    ls="none",
                )
                ax.annotate(
                    _("high spread"),
                    (row["sd"], yi),
                    xytext=(8, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=SIZES["chart"] - 0.5,
                    color=HIGHLIGHT,
                    fontweight="bold",
                )
            else:
                ax.plot(
                    row["sd"],
                    yi,
                    marker="o",
                    markersize=6.5,
                    color=PAPER,
                    markeredgecolor=INK,
                    markeredgewidth=1.2,
                    zorder=5,
                    ls="none",
                )
        _label_rows(ax, y, list(data.index), [False] * len(data))
        ax.set_ylim(-0.6, len(data) - 0.4)
        ax.set_xlim(0, max(1.0, top * 1.3))
        ax.set_xlabel(_("Standard deviation within the team (scale points)"), color=MUTED)
        _clean(ax)
        _legend_below(
            ax,
            [
                Patch(color=BAND_COLOURS[1], label=_("Middle half of teams")),
                Line2D([], [], color=ACCENT_DARK, lw=1.6, label=_("Typical team")),
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="none",
                    color=PAPER,
                    markeredgecolor=INK,
                    markeredgewidth=1.2,
                    label=_("Your team"),
                ),
                Line2D(
                    [],
                    [],
                    marker="^",
                    ls="none",
                    color=HIGHLIGHT,
                    markeredgecolor=INK,
                    markersize=8,
                    label=_("High spread"),
                ),
            ],
            ncol=4,
            offset=36,
        )
    return ax


def _finite_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def _bool_column(data: pd.DataFrame, column: str) -> list[bool]:
    if column not in data.columns:
        return [False] * len(data)
    return [_finite_bool(v) and bool(v) for v in data[column]]


def pillar_chart(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    level_labels: Mapping[str, str] | None = None,
) -> Axes:
    """The team's level on each pillar, in zones that are the levels themselves.

    The zones, left to right, are :data:`analytics.advice.PILLAR_LEVELS`
    ("strong", "mixed", "at risk"); each pillar's bar ends in the middle of the
    zone of its level, so a bar can never end in one zone under the label of
    another. The level comes from the flags of the pillar's blockers
    (:func:`analytics.diagnosis.pillar_level`), the rule that also names the
    main blockers; the bar carries the level's colour, "at risk" is hatched,
    and the label beside it is the one the report text uses.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per pillar, indexed by name, with columns ``level`` (one of
        the levels, or missing = not rated) and optionally ``label`` (the
        level as worded, e.g. "at risk (tentative)"; default the level).
    ax : Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> data = pd.DataFrame({"level": ["at risk"], "label": ["at risk"]}, index=["Process"])
    >>> ax = pillar_chart(data)
    >>> [float(v) for v in ax.get_xlim()], float(ax.patches[-1].get_width())
    ([0.0, 3.0], 2.5)
    """
    level_labels = level_labels or {}
    with rc_context():
        ax = _new_axes(ax, 6.5, 0.5 * len(data) + 1.0)
        y = _row_positions(len(data))
        for index, (level, shade) in enumerate(
            zip(PILLAR_LEVELS, (PAPER, TINT, "#FBEDE4"), strict=True)
        ):
            ax.axvspan(index, index + 1, color=shade, lw=0, zorder=0)
            ax.text(
                index + 0.5,
                1.02,
                level_labels.get(level, level),
                transform=blended_transform_factory(ax.transData, ax.transAxes),
                ha="center",
                va="bottom",
                color=MUTED,
                fontsize=SIZES["chart"] - 0.5,
            )
        for yi, (_name, row) in zip(y, data.iterrows(), strict=True):
            level = row.get("level") if isinstance(row.get("level"), str) else ""
            look = LEVEL_STYLES.get(level, {"fill": RULE, "hatch": "", "text": MUTED})
            if level in PILLAR_LEVELS:
                ax.barh(
                    yi,
                    PILLAR_LEVELS.index(level) + 0.5,
                    height=0.5,
                    color=look["fill"],
                    hatch=look["hatch"] or None,
                    edgecolor=INK,
                    linewidth=0.5,
                    zorder=2,
                )
                label = row.get("label") if isinstance(row.get("label"), str) else level
                _right_note(ax, yi, label, fontweight="bold")
            else:
                ax.text(
                    0.05,
                    yi,
                    _("not rated: too few answers"),
                    va="center",
                    color=MUTED,
                    style="italic",
                )
        _label_rows(ax, y, list(data.index), [True] * len(data))
        ax.set_ylim(-0.6, len(data) - 0.4)
        ax.set_xlim(0.0, float(len(PILLAR_LEVELS)))
        ax.set_xticks([])
        ax.set_xlabel(
            _(
                "At risk: a blocker is clearly higher than in the organization; "
                "strong: every blocker clearly lower"
            ),
            color=MUTED,
        )
        _clean(ax, grid_x=False)
    return ax


def practice_chart(
    data: pd.DataFrame,
    *,
    scale: tuple[int, int] = (1, 5),
    scale_labels: Sequence[str] | None = ("Never", "Rarely", "Sometimes", "Often", "Always"),
    ax: Axes | None = None,
) -> Axes:
    """How often the team uses each play, from Never to Always.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per play, indexed by name, with columns ``mean``, ``ci_low``,
        ``ci_high`` and optionally ``recommended`` (bool: drawn bold with a
        filled diamond). ``NaN`` mean = withheld.
    scale : (int, int), default (1, 5)
    scale_labels : sequence of str, optional
    ax : Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> data = pd.DataFrame({"mean": [2.1], "ci_low": [1.8], "ci_high": [2.4],
    ...                      "recommended": [True]}, index=["Objective criteria"])
    >>> practice_chart(data).get_xticklabels()[0].get_text()
    '1\\nNever'
    """
    with rc_context():
        ax = _new_axes(ax, 6.5, 0.45 * len(data) + 1.3)
        y = _row_positions(len(data))
        recommended = _bool_column(data, "recommended")
        mid = (scale[0] + scale[1]) / 2
        middle = math.ceil(mid)
        # A mean reads as the label of its nearest point (halves up), so the means read as
        # below the middle point are those under middle - 0.5: the practice gaps.
        ax.axvspan(scale[0] - 0.15, middle - 0.5, color=TINT, lw=0, zorder=0)
        ax.axvline(middle - 0.5, color=RULE, lw=0.9, ls=(0, (3, 2)), zorder=1)
        for yi, (_name, row), rec in zip(y, data.iterrows(), recommended, strict=True):
            if not _finite(row.get("mean")):
                ax.text(
                    mid,
                    yi,
                    _("withheld: too few answers"),
                    ha="center",
                    va="center",
                    color=MUTED,
                    style="italic",
                )
                continue
            if _finite(row.get("ci_low")) and _finite(row.get("ci_high")):
                ax.plot(
                    [row["ci_low"], row["ci_high"]],
                    [yi, yi],
                    color=INK,
                    lw=1.1,
                    solid_capstyle="butt",
                    zorder=3,
                )
            if rec:
                ax.plot(row["mean"], yi, zorder=5, color=HIGHLIGHT, **_TEAM_MARKER)
            else:
                ax.plot(
                    row["mean"],
                    yi,
                    marker="o",
                    markersize=6,
                    color=ACCENT,
                    markeredgecolor=INK,
                    markeredgewidth=0.8,
                    zorder=5,
                )
        _label_rows(ax, y, list(data.index), recommended)
        ax.set_ylim(-0.6, len(data) - 0.4)
        _scale_ticks(ax, scale, scale_labels)
        _clean(ax)
        _legend_below(
            ax,
            [
                Line2D(
                    [], [], color=HIGHLIGHT, ls="none", label=_("Recommended play"), **_TEAM_MARKER
                ),
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="none",
                    color=ACCENT,
                    markeredgecolor=INK,
                    label=_("Other play"),
                ),
                Line2D([], [], color=INK, lw=1.1, label=_("95%% CI")),
                Patch(color=TINT, label=_below_label(scale, scale_labels)),
            ],
            ncol=4,
            offset=36 if scale_labels else 22,
        )
    return ax


def _below_label(scale: tuple[int, int], labels: Sequence[str] | None) -> str:
    """The legend of the shaded zone: means read as below the middle point."""
    middle = math.ceil((scale[0] + scale[1]) / 2)
    if labels is not None and len(labels) == scale[1] - scale[0] + 1:
        return _("Reads below \u201c%(label)s\u201d", label=labels[middle - scale[0]].lower())
    return _("Below %(value)s", value=format_score(middle - 0.5))


def change_chart(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Change of the team's mean per dimension since the earlier round.

    Blockers and practices are grouped: for blockers a change below zero is
    an improvement, for practices a change above zero; a change of zero (as
    printed: the frame holds rounded values) is neither, and is drawn as "no
    change". A filled marker means the 95% interval excludes zero.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per dimension, indexed by name, with columns ``change``,
        ``ci_low``, ``ci_high`` and ``kind`` ("blocker" or "practice").
        ``NaN`` change = withheld.
    ax : Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> data = pd.DataFrame({"change": [-0.5], "ci_low": [-0.9], "ci_high": [-0.1],
    ...                      "kind": ["blocker"]}, index=["Deadline pressure"])
    >>> labels = [t.get_text() for t in change_chart(data).get_yticklabels()]
    >>> labels[0].startswith("Blockers")
    True
    """
    with rc_context():
        groups = [
            ("blocker", _("Blockers (lower is better)")),
            ("practice", _("Plays in use (higher is better)")),
        ]
        rows: list[tuple[str, pd.Series | None]] = []
        for kind, title in groups:
            part = data[data["kind"] == kind] if "kind" in data.columns else data.iloc[0:0]
            if len(part):
                rows.append((title, None))
                rows.extend((str(name), row) for name, row in part.iterrows())
        rest = (
            data[~data["kind"].isin([g for g, _title in groups])]
            if "kind" in data.columns
            else data
        )
        rows.extend((str(name), row) for name, row in rest.iterrows())
        ax = _new_axes(ax, 6.5, 0.32 * len(rows) + 1.1)
        y = _row_positions(len(rows))
        extent = [0.5]
        unchanged = False
        for yi, (_name, row) in zip(y, rows, strict=True):
            if row is None:
                continue
            if not _finite(row.get("change")):
                ax.text(
                    0,
                    yi,
                    _("withheld: too few answers"),
                    ha="center",
                    va="center",
                    color=MUTED,
                    style="italic",
                    fontsize=SIZES["chart"] - 0.5,
                )
                continue
            change = float(row["change"])
            clear = False
            if _finite(row.get("ci_low")) and _finite(row.get("ci_high")):
                lo, hi = float(row["ci_low"]), float(row["ci_high"])
                ax.plot([lo, hi], [yi, yi], color=INK, lw=1.1, zorder=3)
                extent += [abs(lo), abs(hi)]
                clear = lo > 0 or hi < 0
            extent.append(abs(change))
            state = change_direction(change, row.get("kind"))
            unchanged = unchanged or state == "no change"
            colour, marker = _CHANGE_LOOKS[state]
            ax.plot(
                change,
                yi,
                marker=marker,
                markersize=6.5,
                color=colour if clear else PAPER,
                markeredgecolor=colour if not clear else INK,
                markeredgewidth=1.3,
                zorder=5,
                ls="none",
            )
        _label_rows(ax, y, [name for name, _row in rows], [row is None for _name, row in rows])
        for tick, (_name, row) in zip(ax.get_yticklabels(), rows, strict=True):
            if row is None:
                tick.set_color(MUTED)
        ax.axvline(0, color=INK, lw=0.9, zorder=2)
        limit = max(extent) * 1.15
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlabel(_("Change in the team mean (scale points, 95%% CI)"), color=MUTED)
        _clean(ax)
        handles = [
            Line2D(
                [],
                [],
                marker=_CHANGE_LOOKS[state][1],
                ls="none",
                color=_CHANGE_LOOKS[state][0],
                markeredgecolor=INK,
                label=state[:1].upper() + state[1:],
            )
            for state in CHANGE_DIRECTIONS
            if state != "no change" or unchanged
        ]
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                color=PAPER,
                markeredgecolor=MUTED,
                label=_("Open: could be chance"),
            )
        )
        _legend_below(ax, handles, ncol=len(handles), offset=36)
    return ax


#: How a change is read: better, worse, or no change (a printed change of 0.0).
CHANGE_DIRECTIONS = ("better", "worse", "no change")

_CHANGE_LOOKS = {"better": (ACCENT, "o"), "worse": (HIGHLIGHT, "s"), "no change": (MUTED, "D")}


def change_direction(change: float, kind: object) -> str:
    """Whether a change, as printed, is better, worse or no change for this kind of scale.

    Lower is better for blockers, higher for plays; a change that rounds to
    0.0 (:func:`analytics.coarsen.display_round`) is "no change".

    Examples
    --------
    >>> change_direction(-0.04, "blocker"), change_direction(0.3, "blocker")
    ('no change', 'worse')
    >>> change_direction(0.3, "practice")
    'better'
    """
    shown = display_round(change)
    if shown == 0:
        return "no change"
    return "better" if (shown < 0) == (kind == "blocker") else "worse"


_THEM_MARKER = {"marker": "o", "markersize": 6.5, "markeredgecolor": INK, "markeredgewidth": 0.8}
_US_MARKER = {"marker": "D", "markersize": 6.0, "markeredgecolor": INK, "markeredgewidth": 0.8}


def gap_chart(
    data: pd.DataFrame,
    *,
    scale: tuple[int, int] = (1, 5),
    scale_labels: Sequence[str] | None = None,
    us_label: str = "Your team",
    them_label: str = "The counterparty, as your team rates it",
    ax: Axes | None = None,
) -> Axes:
    """The team's own blocker profile beside its rating of a counterparty.

    Each row is a blocker: the team's mean with its 95% interval (diamond, upper
    line) and the counterparty's mean as the team rates it (circle, lower line).
    A blocker the raters do not share a view on has no "them" value: it is
    written as "seen differently", never drawn as a point (and never as zero).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per blocker, indexed by name, with columns ``us``, ``us_low``,
        ``us_high``, ``them``, ``them_low``, ``them_high``, and optionally
        ``shared`` (bool; ``False`` = seen differently) and ``note`` (text shown
        right of the row, e.g. "both guarded"). ``NaN`` = not known.
    scale : (int, int), default (1, 5)
    scale_labels : sequence of str, optional
    us_label, them_label : str
        Legend entries.
    ax : Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> data = pd.DataFrame({"us": [3.4], "us_low": [3.0], "us_high": [3.8],
    ...                      "them": [float("nan")], "them_low": [float("nan")],
    ...                      "them_high": [float("nan")], "shared": [False]},
    ...                     index=["Guarded information"])
    >>> SEEN_DIFFERENTLY in [t.get_text() for t in gap_chart(data).texts]
    True
    """
    with rc_context():
        ax = _new_axes(ax, 6.5, 0.6 * len(data) + 1.4)
        y = _row_positions(len(data))
        offset = 0.17
        mid = (scale[0] + scale[1]) / 2
        shared = [
            not (_finite_bool(v) and not bool(v))
            for v in (data["shared"] if "shared" in data.columns else [True] * len(data))
        ]
        for yi, (_name, row), is_shared in zip(y, data.iterrows(), shared, strict=True):
            ax.axhspan(yi - 0.42, yi + 0.42, color=TINT, lw=0, zorder=0)
            us_y, them_y = yi + offset, yi - offset
            us = row.get("us")
            them = row.get("them") if is_shared else None
            if _finite(us) and _finite(them):
                ax.plot([us, them], [us_y, them_y], color=RULE, lw=1.0, zorder=2)
            for value, low, high, at, look, colour in (
                (us, "us_low", "us_high", us_y, _US_MARKER, ACCENT),
                (them, "them_low", "them_high", them_y, _THEM_MARKER, HIGHLIGHT),
            ):
                if not _finite(value):
                    continue
                if _finite(row.get(low)) and _finite(row.get(high)):
                    ax.plot([row[low], row[high]], [at, at], color=INK, lw=1.1, zorder=3)
                ax.plot(value, at, color=colour, zorder=5, ls="none", **look)
            if not _finite(us):
                ax.text(
                    mid,
                    us_y,
                    _("withheld: too few answers"),
                    ha="center",
                    va="center",
                    color=MUTED,
                    style="italic",
                    fontsize=SIZES["chart"] - 0.5,
                )
            if not is_shared:
                ax.text(
                    mid,
                    them_y,
                    _(SEEN_DIFFERENTLY),
                    ha="center",
                    va="center",
                    color=MUTED,
                    style="italic",
                    fontsize=SIZES["chart"] - 0.5,
                )
            elif not _finite(them):
                ax.text(
                    mid,
                    them_y,
                    _("withheld: too few ratings"),
                    ha="center",
                    va="center",
                    color=MUTED,
                    style="italic",
                    fontsize=SIZES["chart"] - 0.5,
                )
            note = row.get("note") if "note" in data.columns else None
            if isinstance(note, str) and note:
                _right_note(ax, yi, note, color=HIGHLIGHT, fontweight="bold")
        _label_rows(ax, y, list(data.index), [False] * len(data))
        ax.set_ylim(-0.6, len(data) - 0.4)
        _scale_ticks(ax, scale, scale_labels)
        _clean(ax)
        _legend_below(
            ax,
            [
                Line2D([], [], color=ACCENT, ls="none", label=us_label, **_US_MARKER),
                Line2D([], [], color=HIGHLIGHT, ls="none", label=them_label, **_THEM_MARKER),
                Line2D([], [], color=INK, lw=1.1, label=_("95%% interval")),
            ],
            ncol=3,
            offset=36 if scale_labels else 22,
        )
    return ax


def trend_chart(
    data: pd.DataFrame,
    *,
    scale: tuple[int, int] = (1, 5),
    ax: Axes | None = None,
) -> Axes:
    """The team's mean on each blocker in every round, one small line per blocker.

    Each row is a blocker; within its row the rounds run left to right and the
    line's height is the mean on the response scale (the row spans the whole
    scale). Every point is labelled with its value (changes and their intervals
    are the report's table, not the chart's). A missing value (withheld in that
    round) breaks the line.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per blocker, indexed by name; one column per round, in order,
        named by the round. Values are the means as printed (``NaN`` = withheld).
    scale : (int, int), default (1, 5)
    ax : Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> data = pd.DataFrame([[3.4, 3.1, 2.9]], index=["Deadline pressure"],
    ...                     columns=["Autumn 2024", "Spring 2025", "Autumn 2025"])
    >>> [t.get_text() for t in trend_chart(data).get_xticklabels()]
    ['Autumn 2024', 'Spring 2025', 'Autumn 2025']
    """
    with rc_context():
        rounds = [str(c) for c in data.columns]
        ax = _new_axes(ax, 6.5, 0.6 * len(data) + 1.2)
        y = _row_positions(len(data))
        band = 0.34
        low, high = scale
        x = np.arange(len(rounds), dtype=float)

        def height(yi: float, value: float) -> float:
            return yi - band + 2 * band * (value - low) / (high - low)

        for yi, (_name, row) in zip(y, data.iterrows(), strict=True):
            ax.axhspan(yi - band, yi + band, color=TINT, lw=0, zorder=0)
            ax.plot(
                [-0.5, len(rounds) - 0.5],
                [height(yi, (low + high) / 2)] * 2,
                color=GRID,
                lw=0.8,
                zorder=1,
            )
            values = pd.to_numeric(row, errors="coerce").to_numpy(dtype="float64")
            known = np.isfinite(values)
            if not known.any():
                ax.text(
                    (len(rounds) - 1) / 2,
                    yi,
                    _("withheld: too few answers"),
                    ha="center",
                    va="center",
                    color=MUTED,
                    style="italic",
                )
                continue
            heights = np.array(
                [height(yi, v) if k else np.nan for v, k in zip(values, known, strict=True)]
            )
            ax.plot(x, heights, color=ACCENT, lw=1.4, zorder=3)
            last = int(np.flatnonzero(known)[-1])
            for xi, (value, k) in enumerate(zip(values, known, strict=True)):
                if not k:
                    ax.text(
                        xi,
                        yi,
                        _("withheld"),
                        ha="center",
                        va="center",
                        color=MUTED,
                        style="italic",
                        fontsize=SIZES["chart"] - 1,
                    )
                    continue
                ax.plot(
                    xi,
                    heights[xi],
                    marker="o",
                    markersize=5 if xi != last else 6.5,
                    color=ACCENT if xi != last else ACCENT_DARK,
                    markeredgecolor=INK,
                    markeredgewidth=0.7,
                    zorder=5,
                    ls="none",
                )
                ax.annotate(
                    format_score(value),
                    (xi, heights[xi]),
                    xytext=(0, 5.5),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=SIZES["chart"] - 1,
                    color=INK,
                    zorder=6,
                )
        _label_rows(ax, y, list(data.index), [False] * len(data))
        ax.set_ylim(-0.6, len(data) - 0.4)
        ax.set_xlim(-0.5, max(len(rounds), 1) - 0.5)
        ax.set_xticks(list(x), labels=[escape_mathtext(r) for r in rounds])
        _clean(ax, grid_x=False)
        ax.tick_params(axis="x", length=0)
        ax.set_xlabel(
            _("Team mean per round (each row spans %(low)s\u2013%(high)s)", low=low, high=high),
            color=MUTED,
        )
    return ax
