"""The facilitator agenda, the trend and the commitments in the team report (#16),
and the report without them."""

from __future__ import annotations

import math
import re

import pytest

from analytics.coarsen import format_score
from reports.agenda import AGENDA_TITLE, agenda_schedule
from reports.charts import chart_data, chart_figure
from reports.progress import change_cell, trend_summary
from reports.team_report import OPTIONAL_SECTION_TITLES, SECTION_TITLES, render_team_report
from tests.reports.kit_data import full_context
from tests.reports.test_team_report import flat, pdf_text


@pytest.fixture(scope="module")
def full(context, analysis, instrument):
    return full_context(context, analysis, instrument)


@pytest.fixture(scope="module")
def pages(full) -> list[str]:
    return [flat(p) for p in pdf_text(render_team_report(full))]


def pages_of(pages: list[str], title: str) -> list[str]:
    """The pages of the section with this title (from its first page to the next section)."""
    first = next(i for i, p in enumerate(pages) if i > 0 and re.search(rf"SECTION \d+ {title}", p))
    out = [pages[first]]
    for page in pages[first + 1 :]:
        if re.match(r"SECTION \d+ ", page):
            break
        out.append(page)
    return out


# --- agenda ------------------------------------------------------------------------------


def test_agenda_is_60_to_90_minutes_and_names_the_main_blocker(full, pages) -> None:
    agenda = full.agenda
    assert 60 <= agenda.total_minutes <= 90
    assert agenda.total_minutes == sum(i.minutes for i in agenda.items)
    section = pages_of(pages, AGENDA_TITLE)
    assert len(section) == 1, "the agenda fits on one page"
    text = section[0]
    assert f"Total {agenda.total_minutes} minutes" in text
    main = full.diagnosis.top_blockers[0]
    assert main == "time_pressure"
    assert f"Blocker: {full.name_of(main)}" in text
    for scheduled in agenda_schedule(agenda):
        item = scheduled.item
        assert f"{scheduled.clock} {item.minutes} min {item.title}" in text
        for step in item.steps:
            assert flat(step) in text
    assert agenda_schedule(agenda)[-1].end == agenda.total_minutes


def test_agenda_has_a_drill_for_each_chosen_play(full, pages) -> None:
    text = pages_of(pages, AGENDA_TITLE)[0]
    drills = [i for i in full.agenda.items if i.kind == "drill"]
    assert drills and [d.ref for d in drills] == list(full.agenda.plays)
    for drill in drills:
        assert drill.title in text and f"{drill.minutes} min" in text


# --- trend -------------------------------------------------------------------------------


def test_trend_summary_matches_the_chart(full, pages) -> None:
    trend = full.trend
    data = chart_data("trend", full)
    assert list(data.columns) == list(trend.round_labels)
    summary = trend_summary(full)
    assert summary.startswith(trend.summary)
    clear = 0
    for blocker in trend.blockers:
        name = full.name_of(blocker.blocker_id)
        row = data.loc[name]
        for change, column in ((blocker.overall, 0), (blocker.last_step, -2)):
            if change is None or not change.clear:
                continue
            clear += 1
            first, last = row.iloc[column], row.iloc[-1]
            # The summary's words and figures are the chart's values, in its direction.
            word = "fell" if change.change < 0 else "rose"
            assert f"{blocker.name} {word}" in summary
            assert f"{name} {format_score(first)} in {data.columns[column]}" in summary
            assert f"{format_score(last)} in {data.columns[-1]}" in summary
            assert (last <= first) if word == "fell" else (last >= first)
            break
    assert clear, "the fixture's deadline pressure falls clearly in the last step"
    # Stated in the summary section and on the trend page.
    assert flat(summary) in pages[1]
    assert flat(summary) in pages_of(pages, OPTIONAL_SECTION_TITLES["trend"])[0]


def test_trend_chart_labels_every_point_with_its_value(full) -> None:
    data = chart_data("trend", full)
    ax = chart_figure("trend", full).axes[0]
    labels = [t.get_text() for t in ax.texts]
    for _, row in data.iterrows():
        for value in row:
            if not math.isnan(value):
                assert f"{value:.1f}" in labels


# --- commitments ---------------------------------------------------------------------------


def test_commitments_show_beside_the_change_in_their_blockers(full, pages) -> None:
    text = " ".join(pages_of(pages, OPTIONAL_SECTION_TITLES["followups"]))
    assert len(full.followups) == 2
    for followup in full.followups:
        assert flat(followup.sentence) in text
        for blocker_id, change in zip(followup.blockers, followup.changes, strict=True):
            assert f"{full.name_of(blocker_id)} {change_cell(change)}" in text


# --- without the optional data -----------------------------------------------------------------


def test_report_without_the_optional_data_has_none_of_their_pages(context, full) -> None:
    plain = " ".join(flat(p) for p in pdf_text(render_team_report(context)))
    for title in (*OPTIONAL_SECTION_TITLES.values(), "Us and ", "Across your rounds"):
        assert title not in plain
    last = len(SECTION_TITLES) + 1
    assert f"SECTION {last} {SECTION_TITLES['method']}" in plain
    assert "rwg(j)" not in plain and "ICC" not in plain
    # Adding the sections renumbers nothing before them.
    rich = " ".join(flat(p) for p in pdf_text(render_team_report(full)))
    for number, key in enumerate(("summary", "blockers", "spread", "profiles", "plays"), start=2):
        assert f"SECTION {number} {SECTION_TITLES[key]}" in rich
