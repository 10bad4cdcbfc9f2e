"""The counterparty page of the team report and the gap chart (#16).

The page is read back from the PDF (pypdf); the chart from the registry's frame
and the figure it draws, in the PDF and as the dashboard's SVG.
"""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.colors import to_hex

from analytics.coarsen import display_round
from analytics.kit_schema import load_kit
from reports.charts import chart_data, chart_figure, render_chart_svg
from reports.sentences import (
    AGREEMENT_WORDS,
    SEEN_DIFFERENTLY,
    CounterpartySentences,
    agreement_words,
)
from reports.style import HIGHLIGHT
from reports.team_report import render_team_report
from reports.text import number
from tests.reports.kit_data import counterparty_context, full_context
from tests.reports.test_charts import svg_texts
from tests.reports.test_team_report import flat, pdf_text

KIT = load_kit()


@pytest.fixture(scope="module")
def full(context, analysis, instrument):
    return full_context(context, analysis, instrument)


@pytest.fixture(scope="module")
def pages(full) -> list[str]:
    return [flat(p) for p in pdf_text(render_team_report(full))]


def page_of(pages: list[str], start: str) -> str:
    """The text of the section that starts with ``start`` (up to the next section)."""
    body = " ".join(pages[1:])
    head = body.index(start)
    end = body.find("SECTION ", head + len(start))
    return body[head : end if end >= 0 else None]


def test_page_names_the_plays_from_the_rules_and_their_reasons(full, pages) -> None:
    gap = full.counterparty.gap
    assert gap.plays, "the ratings split the counterparty: the split rule fires"
    page = page_of(pages, "Us and Borealis Logistics")
    fired = {p.rule_id for p in gap.plays}
    assert "split_counterparty" in fired
    for play in gap.plays:
        assert play.name in page
        assert flat(play.reason) in page
    # Only the rules that fired: a reason of a rule that did not fire is absent.
    for rule in KIT.pair_rules:
        if rule.id not in fired:
            assert flat(rule.reason) not in page


def test_a_blocker_not_shared_reads_seen_differently_and_has_no_figure(full, pages) -> None:
    gap = full.counterparty.gap
    unshared = [b for b in gap.blockers if not b.them_shared]
    assert [b.blocker_id for b in unshared] == ["misalignment"]
    page = page_of(pages, "Us and Borealis Logistics")
    name = full.name_of("misalignment")
    us = full.counterparty_sentences.us(unshared[0])
    # The table row: the team's own figure, then "seen differently" where theirs would be.
    assert f"{name} {us} {SEEN_DIFFERENTLY}" in page
    assert KIT.agreement.wording.blocker_not_shared.format(name=unshared[0].name) in page

    data = chart_data("gap", full)
    row = data.loc[name]
    assert row["shared"] is False or row["shared"] == False  # noqa: E712 - numpy bool
    assert all(math.isnan(row[c]) for c in ("them", "them_low", "them_high"))
    ax = chart_figure("gap", full).axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count(SEEN_DIFFERENTLY) == 1
    # One "them" marker per shared blocker, none for the one seen differently (never a 0).
    them = [
        line
        for line in ax.lines
        if line.get_marker() == "o" and to_hex(line.get_color()) == to_hex(HIGHLIGHT)
    ]
    assert len(them) == len(gap.blockers) - 1
    assert all(float(line.get_xdata()[0]) >= 1 for line in them)


def test_chart_is_drawn_at_the_printed_values(full) -> None:
    data = chart_data("gap", full)
    for gap in full.counterparty.gap.blockers:
        row = data.loc[full.name_of(gap.blocker_id)]
        assert row["us"] == display_round(gap.us.mean)
        if gap.them is not None:
            assert row["them"] == display_round(gap.them.mean)
    ax = chart_figure("gap", full).axes[0]
    drawn = {round(float(line.get_xdata()[0]), 6) for line in ax.lines if line.get_marker() in "oD"}
    printed = set(data["us"].dropna()) | set(data["them"].dropna())
    assert drawn == {round(v, 6) for v in printed}


def test_svg_for_the_dashboard_is_the_same_chart(full) -> None:
    svg = render_chart_svg("gap", full)
    texts = svg_texts(svg)
    for name in chart_data("gap", full).index:
        assert name in texts
    assert SEEN_DIFFERENTLY in texts
    assert any("Borealis Logistics" in t for t in texts)
    assert render_chart_svg("gap", full) == svg


def test_both_sides_and_shared_findings_are_stated(full, pages) -> None:
    page = page_of(pages, "Us and Borealis Logistics")
    for sentence in full.counterparty.gap.findings:
        assert flat(sentence) in page
    assert "on both sides" in page  # the chart's note beside fixed-pie thinking
    assert full.counterparty.gap.both_sides == ("fixed_pie",)


def test_team_that_sees_them_differently_gets_that_finding(context, analysis) -> None:
    split = {b: [1, 5, 1, 5, 1, 5, 2] for b in ("trust", "time_pressure", "fixed_pie", "power")}
    split["misalignment"] = [5, 1, 5, 1, 5, 1, 4]
    counterparty = counterparty_context(analysis, context.team, ratings=split)
    assert not counterparty.gap.shared
    report = dataclasses.replace(context, counterparty=counterparty, change=None)
    page = page_of([flat(p) for p in pdf_text(render_team_report(report))], "Us and Borealis")
    assert KIT.agreement.wording.profile_not_shared in page
    assert page.count(SEEN_DIFFERENTLY) >= len(counterparty.gap.blockers)
    assert "(95% CI)" in page  # the table is there, with no figure for their side


def test_method_gives_rwg_per_blocker_and_icc_with_interval(full, pages) -> None:
    method = page_of(pages, "Method and privacy")
    rating = full.counterparty.rating
    icc = rating.icc
    assert icc is not None
    assert f"ICC(2,k) {number(icc.icc2k.value, 2)}" in method
    assert f"95% CI {number(icc.icc2k.ci_low, 2)} to {number(icc.icc2k.ci_high, 2)}" in method
    assert f"ICC(1) {number(icc.icc1.value, 2)}" in method
    for blocker in rating.blockers:
        assert f"{full.name_of(blocker.blocker_id)} {number(blocker.rwg_j, 2)}" in method


def test_page_shows_no_extremes_and_rounded_figures_only(full, pages) -> None:
    page = page_of(pages, "Us and Borealis Logistics")
    for word in ("minimum", "maximum", "lowest rating", "highest rating"):
        assert word not in page.lower()
    # Every figure on the page has one decimal, except the raters' number (a group size).
    for figure in re.findall(r"\d+\.\d+", page):
        assert len(figure.split(".")[1]) == 1, figure
    assert f"{full.counterparty.rating.n} members of your team rated" in page


@given(st.floats(0, 1), st.floats(0.35, 0.85))
def test_agreement_words_never_contradict_the_cut(rwg, cut) -> None:
    words = agreement_words(rwg, cut)
    above = {w for u, w in AGREEMENT_WORDS if u > cut}
    assert (words in above) == (rwg >= cut)


def test_an_icc_without_interval_is_stated_without_one(full) -> None:
    """Raters who all answer alike give an ICC with no interval: no "not available to ..."."""
    rating = full.counterparty.rating
    nan = math.nan
    no_interval = dataclasses.replace(
        rating.icc,
        icc1=dataclasses.replace(rating.icc.icc1, ci_low=nan, ci_high=nan),
        icc2k=dataclasses.replace(rating.icc.icc2k, ci_low=nan),
    )
    counterparty = dataclasses.replace(
        full.counterparty, rating=dataclasses.replace(rating, icc=no_interval)
    )
    text = CounterpartySentences(counterparty, full).method_icc()
    assert "not available to not available" not in text
    assert "ICC(1) " in text and "ICC(2) " in text and "(95% CI" in text  # ICC(2) keeps its own
    assert text.count("95% CI") == 1
