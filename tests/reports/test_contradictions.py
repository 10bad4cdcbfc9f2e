"""Issue #14: what a coach reads in the PDF never contradicts itself.

Each test reads the rendered report's text (poppler's ``pdftotext``, as a reader
would copy it) or the chart that the report draws, for one contradiction the
issue lists.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from matplotlib.patches import Rectangle

from analytics.advice import PILLAR_LEVELS, load_advice
from analytics.pipeline import analyze_round
from analytics.profiles import ProfileModel
from analytics.synthetic import simulate_responses
from reports.charts import change_chart, chart_data, chart_figure
from reports.context import ChangeRow, ChangeSinceLast, ReliabilityInfo, TeamReportContext
from reports.team_report import render_team_report
from tests.reports.conftest import SIZES, make_context
from tests.reports.test_coarsened import pdf_pages

WORDING = load_advice().wording
SHOWN = [team for team, size in SIZES.items() if size >= 5]


@pytest.fixture(scope="module")
def texts(analysis, instrument, tmp_path_factory) -> dict[str, str]:
    """Every shown team's report, as text."""
    folder = tmp_path_factory.mktemp("reports")
    return {team: body(make_context(analysis, instrument, team), folder) for team in SHOWN}


def body(context: TeamReportContext, folder) -> str:
    """The report's text after the cover (whose contents list names every section)."""
    return " ".join(pdf_pages(render_team_report(context), folder)[1:])


def section(text: str, start: str, end: str) -> str:
    """The text from ``start`` up to the next ``end``."""
    head = text.index(start)
    return text[head : text.index(end, head + len(start))]


# --- pillars: the bar, its zone and its label ---------------------------------------------


@pytest.mark.parametrize("team", SHOWN)
def test_pillar_bars_end_in_the_zone_their_label_names(analysis, instrument, texts, team):
    context = make_context(analysis, instrument, team)
    figure = chart_figure("pillars", context)
    ax = figure.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() == 0.5]
    # The zone labels come first (above the axes), then one note beside each bar.
    zones = [t.get_text() for t in ax.texts[: len(PILLAR_LEVELS)]]
    assert zones == list(PILLAR_LEVELS)
    notes = [t.get_text() for t in ax.texts[len(PILLAR_LEVELS) :]]
    pillars = context.diagnosis.pillars
    assert len(bars) == len(pillars)
    for pillar, bar in zip(pillars, sorted(bars, key=lambda b: -b.get_y()), strict=True):
        end = bar.get_x() + bar.get_width()
        assert PILLAR_LEVELS[int(end)] == pillar.level  # the zone the bar ends in
        label = context.sentences.pillar_label(pillar)
        assert label in notes
        assert f"{pillar.name}: {label}" in texts[team]  # the text says the same


@pytest.mark.parametrize("team", SHOWN)
def test_no_pillar_is_at_risk_beside_no_blocker_standing_out(analysis, instrument, texts, team):
    context = make_context(analysis, instrument, team)
    text = texts[team]
    at_risk = [p for p in context.diagnosis.pillars if p.level == "at risk"]
    if "No blocker stands out" in text:
        assert not at_risk
        assert not re.search(r": at risk\b", section(text, "Summary", "SECTION 3"))
    for pillar in at_risk:  # a pillar at risk names its flagged blockers, which are main blockers
        assert set(pillar.flagged) <= set(context.diagnosis.top_blockers)
        for blocker in pillar.flagged:
            assert context.name_of(blocker) in section(text, "Your main blockers", "What your")


# --- names ---------------------------------------------------------------------------------


def test_the_report_names_the_questions_members_answered(context, texts) -> None:
    text = texts["deadline"]
    trust = context.dimension("trust")
    assert (trust.name, trust.instrument_name) == ("Guarded information", "Trust")
    assert "Guarded information" in text
    assert "Asked as \u201cTrust\u201d in the questionnaire" in text
    table = section(text, "Names in this report and in the questionnaire", "How figures")
    assert "Guarded information Trust" in table


def test_play_names_are_the_same_in_text_and_charts(context, texts) -> None:
    advice = load_advice()
    charted = list(chart_data("practices", context).index)
    assert charted == [advice.play(d.id).name for d in context.practices]
    text = texts["deadline"]
    plays = section(text, "Plays and practices", "Before your next negotiation")
    for play in context.diagnosis.recommended_plays:
        assert play.name in charted
        assert play.name in plays


# --- the change section ----------------------------------------------------------------------


def test_a_change_of_zero_is_drawn_as_no_change_not_worse() -> None:
    import pandas as pd

    data = pd.DataFrame(
        {"change": [0.0, 0.3], "ci_low": [-0.4, -0.1], "ci_high": [0.4, 0.7]},
        index=["Deadline pressure", "Power imbalance"],
    ).assign(kind="blocker")
    ax = change_chart(data)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "No change" in legend and "Worse" in legend
    markers = [line.get_marker() for line in ax.get_lines() if line.get_marker() not in ("None",)]
    assert "D" in markers  # the zero change has the "no change" marker


def test_a_change_that_rounds_to_zero_reads_as_no_change_in_the_pdf(context, tmp_path) -> None:
    rows = tuple(
        dataclasses.replace(r, change=0.04, ci_low=-0.5, ci_high=0.6)
        if r.dimension == "time_pressure"
        else r
        for r in context.change.rows
    )
    changed = dataclasses.replace(context, change=ChangeSinceLast("Autumn 2024", rows))
    text = body(changed, tmp_path)
    change = section(text, "Change since the last round", "Method and privacy")
    assert "No change" in change
    assert "Deadline pressure" in change and "0.0" in change


@pytest.mark.parametrize("mode", ["confidential", "anonymous", None])
def test_the_change_section_words_the_round_as_its_mode(context, tmp_path, mode) -> None:
    moded = dataclasses.replace(context, round_mode=mode)
    text = body(moded, tmp_path)
    change = section(text, "How your team's averages moved", "Method and privacy")
    assert WORDING.round_mode(mode) in change
    if mode != "anonymous":
        assert "anonymous" not in change


# --- plays to practise first and reliability caveats -------------------------------------------


@pytest.fixture(scope="module")
def busy_context(instrument) -> TeamReportContext:
    """A team with deadline pressure that already improves its deals after signing often."""
    sizes = {"busy": 14, "a": 16, "b": 16, "c": 16, "d": 16}
    data = simulate_responses(
        instrument,
        n_respondents=sum(sizes.values()),
        teams=sizes,
        team_effects={"busy": {"time_pressure": 1.6, "post_settlement": 2.2}},
        random_state=5,
    ).data
    model = ProfileModel(k_range=(1, 2), covariance_types=("diag",), n_init=2, random_state=0)
    analysis = analyze_round(
        data, instrument, round_name="Spring 2025", profile_model=model, stability_boot=0
    )
    return make_context(analysis, instrument, "busy")


def test_a_play_the_team_uses_often_is_not_one_to_practise_first(busy_context, tmp_path) -> None:
    diagnosis = busy_context.diagnosis
    assert diagnosis.top_blockers[0] == "time_pressure"
    post = next(p for p in diagnosis.recommended_plays if p.id == "post_settlement")
    assert post.in_regular_use
    assert post not in diagnosis.plays_to_practise_first
    text = body(busy_context, tmp_path)
    first = section(text, "Plays to practise first", "SECTION 3")
    assert "Post-settlement improvement" not in first
    usage = busy_context.usage("post_settlement", post.practice_mean)
    assert usage.startswith(("often", "always"))
    plays = section(text, "Plays and practices", "Before your next negotiation")
    assert "Post-settlement improvement \u00b7 already in regular use" in plays


def test_a_reliability_warning_reaches_every_statement_using_the_scale(
    busy_context, tmp_path
) -> None:
    flagged = tuple(
        dataclasses.replace(r, alpha=0.69, flagged=True)
        if r.dimension in ("objective_criteria", "time_pressure")
        else r
        for r in busy_context.reliability
    )
    context = dataclasses.replace(busy_context, reliability=flagged)
    text = body(context, tmp_path)
    play_caveat = WORDING.caveat("Objective criteria", 0.69)
    blocker_caveat = WORDING.caveat("Deadline pressure", 0.69)
    # Beside the play in the summary and in the plays section, and beside the blocker.
    assert play_caveat in section(text, "Plays to practise first", "SECTION 3")
    assert play_caveat in section(text, "Plays and practices", "Before your next negotiation")
    assert blocker_caveat in section(text, "Your main blockers", "What your")
    assert blocker_caveat in section(text, "Reading the chart", "SECTION 4")
    assert "0.69" in section(text, "How reliable the scales are", "How the profiles")


def test_reliability_info_without_intervals_prints_a_dash(context, tmp_path) -> None:
    bare = tuple(
        ReliabilityInfo(r.dimension, r.alpha, r.n_items, r.flagged) for r in context.reliability
    )
    text = " ".join(
        pdf_pages(render_team_report(dataclasses.replace(context, reliability=bare)), tmp_path)
    )
    assert "How reliable the scales are" in text


def test_change_rows_are_a_frame(context) -> None:
    assert isinstance(context.change.rows[0], ChangeRow)
