"""Tests for reports.charts and reports.style."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from reports.charts import (
    CHART_KINDS,
    blocker_profile_chart,
    change_chart,
    chart_data,
    figure_svg,
    pillar_chart,
    practice_chart,
    render_chart_svg,
    spread_chart,
)
from reports.style import BAND_COLOURS, LEVEL_STYLES

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> & "Co"'


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_chart_svg_is_valid_deterministic_and_keeps_text(kind, context) -> None:
    svg = render_chart_svg(kind, context)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert "<script" not in svg.lower()
    assert "<metadata" not in svg and "<dc:date" not in svg.lower()
    assert render_chart_svg(kind, context) == svg
    texts = svg_texts(svg)
    assert texts, "svg.fonttype 'none' keeps text as <text> elements"
    names = list(chart_data(kind, context).index)
    assert set(names) <= set(texts)


def test_blocker_chart_names_every_blocker(context) -> None:
    texts = svg_texts(render_chart_svg("blockers", context))
    for dim in context.blockers:
        assert dim.name in texts


def test_hostile_team_name_is_escaped_in_svg(context) -> None:
    hostile = dataclasses.replace(context, team=HOSTILE)
    svg = render_chart_svg("pillars", hostile)
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in svg
    title = ET.fromstring(svg).find(f"{SVG}title")
    assert title is not None and title.text.endswith(HOSTILE)


def test_hostile_labels_are_drawn_literally() -> None:
    label = "<b>$x$</b> & co"
    data = pd.DataFrame({"percentile": [50.0], "level": ["mixed"]}, index=[label])
    svg = figure_svg(pillar_chart(data).figure)
    ET.fromstring(svg)
    assert label in svg_texts(svg)  # no mathtext: the dollars stay, nothing is italicised
    assert "<b>" not in svg


def test_chart_functions_draw_on_the_given_axes() -> None:
    fig = Figure()
    axes = fig.subplots(5)
    blockers = pd.DataFrame(
        {
            "mean": [3.0],
            "ci_low": [2.5],
            "ci_high": [3.5],
            "q25": [2.0],
            "q50": [2.6],
            "q75": [3.1],
            "q10": [1.6],
            "q90": [3.8],
            "q5": [np.nan],
            "q95": [np.nan],
        },
        index=["Trust"],
    )
    assert blocker_profile_chart(blockers, ax=axes[0]) is axes[0]
    spread = pd.DataFrame(
        {"sd": [0.9], "q25": [0.7], "q50": [0.8], "q75": [1.0], "disagreeing": [False]},
        index=["Trust"],
    )
    assert spread_chart(spread, ax=axes[1]) is axes[1]
    pillars = pd.DataFrame({"percentile": [30.0], "level": ["strong"]}, index=["Goals"])
    assert pillar_chart(pillars, ax=axes[2]) is axes[2]
    plays = pd.DataFrame({"mean": [4.0], "ci_low": [3.6], "ci_high": [4.4]}, index=["MESO"])
    assert practice_chart(plays, ax=axes[3]) is axes[3]
    change = pd.DataFrame(
        {"change": [0.3], "ci_low": [0.1], "ci_high": [0.5], "kind": ["practice"]},
        index=["MESO"],
    )
    assert change_chart(change, ax=axes[4]) is axes[4]
    ET.fromstring(figure_svg(fig))


def test_withheld_rows_are_labelled_not_plotted() -> None:
    data = pd.DataFrame(
        {
            "mean": [np.nan, 3.2],
            "ci_low": [np.nan, 2.9],
            "ci_high": [np.nan, 3.5],
            **{f"q{p}": [np.nan, 3.0] for p in (5, 10, 25, 50, 75, 90, 95)},
        },
        index=["Withheld one", "Shown one"],
    )
    texts = svg_texts(figure_svg(blocker_profile_chart(data).figure))
    assert "withheld: too few answers" in texts
    assert "nan" not in " ".join(texts).lower()


def test_missing_bands_are_left_out_of_the_legend() -> None:
    data = pd.DataFrame(
        {
            "mean": [3.2],
            "ci_low": [2.9],
            "ci_high": [3.5],
            "q5": [np.nan],
            "q95": [np.nan],
            "q10": [1.5],
            "q90": [4.0],
            "q25": [2.5],
            "q50": [3.0],
            "q75": [3.5],
        },
        index=["Trust"],
    )
    legend = blocker_profile_chart(data).get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert "Middle 90%" not in labels and "Middle 80%" in labels


def test_change_chart_without_previous_round_is_empty(context) -> None:
    no_change = dataclasses.replace(context, change=None)
    assert chart_data("change", no_change).empty


def test_unknown_chart_kind(context) -> None:
    with pytest.raises(ValueError, match="unknown chart kind"):
        render_chart_svg("pie", context)


def _luminance(colour: str) -> float:
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_bands_differ_in_lightness_so_they_survive_greyscale() -> None:
    lum = [_luminance(c) for c in BAND_COLOURS]  # outermost (5-95) first
    assert lum == sorted(lum, reverse=True)
    assert min(np.diff(sorted(lum))) > 0.08


def test_pillar_levels_differ_in_lightness_or_hatching() -> None:
    looks = list(LEVEL_STYLES.values())
    for i, a in enumerate(looks):
        for b in looks[i + 1 :]:
            distinct_grey = abs(_luminance(a["fill"]) - _luminance(b["fill"])) > 0.1
            assert distinct_grey or a["hatch"] != b["hatch"]


def test_one_registry_defines_every_chart_kind(context) -> None:
    from reports.charts import CHART_TITLES, CHARTS

    assert tuple(CHARTS) == CHART_KINDS
    assert dict(CHART_TITLES) == {kind: spec.title for kind, spec in CHARTS.items()}
    for kind, spec in CHARTS.items():
        assert chart_data(kind, context).equals(spec.data(context))
