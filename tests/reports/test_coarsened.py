"""The report shows coarsened figures: one decimal, drawn where printed, counts in words.

Issue #13 (results that cannot be differenced) and #14 (the same value worded
differently): every figure comes through :mod:`analytics.coarsen`.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest

from analytics.coarsen import (
    COARSENING_NOTE,
    COUNT_WORDS,
    count_phrase,
    display_round,
    shows_exact_count,
)
from analytics.pipeline import analyze_round
from analytics.profiles import ProfileModel
from analytics.synthetic import simulate_responses
from reports.charts import CHART_KINDS, chart_data, chart_figure
from reports.context import TeamReportContext
from reports.team_report import render_team_report
from tests.reports.conftest import make_context

SMALL_SIZES = {"alpha": 16, "beta": 14, "gamma": 12, "delta": 10, "small": 6}

#: "k of n" that are not counts of members: page numbers, "Agree (4 of 5)", "of 8 invited".
ALLOWED_OF = re.compile(r"Page \d+ of \d+|\(4 of 5\)|\d+% of \d+ invited")


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_pages(pdf: bytes, tmp_path) -> list[str]:
    """The PDF's text per page, read by poppler's pdftotext (as a reader would copy it)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    ).stdout.decode("utf-8")
    return [flat(page) for page in out.split("\f")]


def counts_of_members(text: str) -> list[str]:
    """Every "k of n" in the text that is not a page number or other allowed figure."""
    return re.findall(r"\b\d+ of \d+\b", ALLOWED_OF.sub("", text))


def sentence_start(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


@pytest.fixture(scope="module")
def small_context(instrument) -> TeamReportContext:
    """A team of six in a round of five teams."""
    data = simulate_responses(
        instrument,
        n_respondents=sum(SMALL_SIZES.values()),
        teams=SMALL_SIZES,
        team_effects={"small": {"time_pressure": 1.4, "fixed_pie": 0.9}},
        random_state=7,
    ).data
    model = ProfileModel(k_range=(1, 2), covariance_types=("diag",), n_init=2, random_state=0)
    analysis = analyze_round(
        data,
        instrument,
        round_name="Spring 2025",
        invited={team: size + 2 for team, size in SMALL_SIZES.items()},
        profile_model=model,
        stability_boot=0,
    )
    return make_context(analysis, instrument, "small")


def _with_findings(context: TeamReportContext, **changes: dict) -> TeamReportContext:
    """The context with some fields of some findings replaced."""
    dimensions = dict(context.diagnosis.dimensions)
    for dim_id, fields in changes.items():
        dimensions[dim_id] = dataclasses.replace(dimensions[dim_id], **fields)
    diagnosis = dataclasses.replace(context.diagnosis, dimensions=dimensions)
    return dataclasses.replace(context, diagnosis=diagnosis)


def test_pdf_of_a_team_under_ten_gives_no_count_of_members(small_context, tmp_path) -> None:
    assert small_context.n == 6
    pages = pdf_pages(render_team_report(small_context), tmp_path)
    text = " ".join(pages)
    assert counts_of_members(text) == [], counts_of_members(text)
    assert "6 team members" in text  # the size of the team is a completion count
    for dim in small_context.blockers:
        finding = small_context.diagnosis.dimensions[dim.id]
        assert not finding.withheld
        phrase = count_phrase(finding.n_prevalent, finding.n_scored)
        assert not any(c.isdigit() for c in phrase)
        assert f"{sentence_start(phrase)} {dim.behaviour}." in text
    for sentence in (small_context.diagnosis.summary, *small_context.diagnosis.strength_sentences):
        if sentence:
            assert flat(sentence) in text and not re.search(r"\d+ of \d+", sentence)


@pytest.mark.parametrize(("k", "n"), [(1, 6), (2, 6), (5, 6), (1, 14), (13, 14), (5, 14)])
def test_a_count_of_one_or_two_never_shows(context, k: int, n: int, tmp_path) -> None:
    changed = _with_findings(context, trust={"n_prevalent": k, "n_scored": n})
    text = " ".join(pdf_pages(render_team_report(changed), tmp_path))
    behaviour = context.dimension("trust").behaviour
    phrase = count_phrase(k, n)
    assert f"{sentence_start(phrase)} {behaviour}." in text  # plural verb, always
    if shows_exact_count(k, n):
        assert f"{k} of {n} members" in text
    else:
        assert f"{k} of {n}" not in text
        assert phrase.split(" members")[0].split(" of the")[0] in COUNT_WORDS.values()


def test_means_are_printed_to_one_decimal_and_drawn_where_printed(context, tmp_path) -> None:
    # Halves and values whose float lies just below a half (2.55 is 2.5499...).
    means = dict(zip([d.id for d in context.blockers], [2.45, 2.55, 2.5, 3.449, 3.95], strict=True))
    changed = _with_findings(
        context,
        **{
            dim_id: {"mean": m, "ci_low": m - 0.35, "ci_high": m + 0.35, "percentile": 72.5}
            for dim_id, m in means.items()
        },
    )
    text = " ".join(pdf_pages(render_team_report(changed), tmp_path))
    fig = chart_figure("blockers", changed)
    (ax,) = fig.axes
    drawn = [
        float(line.get_xdata()[0]) for line in ax.get_lines() if line.get_marker() == "D"
    ]  # the team's diamonds, top row first
    assert drawn == [display_round(means[d.id]) for d in changed.blockers]
    assert drawn == [2.5, 2.6, 2.5, 3.4, 4.0]
    for dim, x in zip(changed.blockers, drawn, strict=True):
        assert f"{dim.name} Team average {x:.1f} (95% CI" in text
    notes = [t.get_text() for t in ax.texts]
    assert notes.count("73rd percentile") == 5  # 72.5 rounds up, in the chart and the text
    assert "73rd percentile" in text and "72nd" not in text


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_chart_data_holds_the_printed_values(kind, context) -> None:
    data = chart_data(kind, context)
    assert not {"min", "max"} & set(data.columns)
    for column in data.columns:
        if data[column].dtype.kind != "f":
            continue
        digits = 0 if column == "percentile" else 1
        for value in data[column].dropna():
            assert value == display_round(value, digits), (kind, column, value)


def test_spread_and_change_use_one_decimal(context, tmp_path) -> None:
    pages = pdf_pages(render_team_report(context), tmp_path)
    method = next(i for i, page in enumerate(pages) if "SECTION 9 Method and privacy" in page)
    for page in pages[:method]:
        # Alpha and the stability index (two decimals) are in the method section only.
        assert not re.search(r"\d\.\d\d", page), re.findall(r"\S*\d\.\d\d\S*", page)
    spread = chart_data("spread", context)
    for dim in context.blockers:
        sd = context.diagnosis.dimensions[dim.id].sd
        assert spread.loc[dim.name, "sd"] == display_round(sd)
    assert flat(COARSENING_NOTE) in " ".join(pages[method:])


@pytest.mark.parametrize(
    ("mean", "phrase"),
    [
        (2.5, "sometimes on average (2.5 on a 1\u20135 scale from Never to Always)"),
        (2.45, "sometimes on average (2.5 on a 1\u20135 scale from Never to Always)"),
        (2.55, "sometimes on average (2.6 on a 1\u20135 scale from Never to Always)"),
        (2.449, "rarely on average (2.4 on a 1\u20135 scale from Never to Always)"),
        (None, "not known (too few answers)"),
    ],
)
def test_a_mean_reads_as_the_label_of_its_printed_value(context, mean, phrase) -> None:
    assert context.usage("meso", mean) == phrase
    assert context.usage("not-a-dimension", 2.45) == "2.5 on average"


def test_the_pdf_words_a_play_as_the_dashboard_does(context, tmp_path) -> None:
    play = context.diagnosis.recommended_plays[0]
    plays = (dataclasses.replace(play, practice_mean=2.5), *context.diagnosis.recommended_plays[1:])
    changed = dataclasses.replace(
        context, diagnosis=dataclasses.replace(context.diagnosis, recommended_plays=plays)
    )
    text = " ".join(pdf_pages(render_team_report(changed), tmp_path))
    assert f"Your team uses it {changed.usage(play.id, 2.5)}." in text
    assert "sometimes on average (2.5 on a 1\u20135 scale" in text
