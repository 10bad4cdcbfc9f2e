"""Tests for analytics.coarsen: display rounding, count words, scale labels, published JSON."""

from __future__ import annotations

import doctest
import json
import math
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import analytics.coarsen as coarsen
from analytics.coarsen import (
    COUNT_WORDS,
    POINTING,
    SMALL_GROUP,
    count_phrase,
    count_word,
    display_round,
    display_round_or_none,
    format_percent,
    format_score,
    published_json,
    scale_label,
    shows_exact_count,
)

FREQUENCY = ("Never", "Rarely", "Sometimes", "Often", "Always")
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)


@st.composite
def counts(draw, max_n: int = 60) -> tuple[int, int]:
    n = draw(st.integers(min_value=0, max_value=max_n))
    return draw(st.integers(min_value=0, max_value=n)), n


# --- display rounding -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2.5, 2.5),
        (2.45, 2.5),
        (2.55, 2.6),  # the float is 2.5499...; written as 2.55 it rounds up
        (2.449, 2.4),
        (2.95, 3.0),
        (-0.25, -0.3),
        (-0.04, 0.0),
        (0.05, 0.1),
        (3, 3.0),
    ],
)
def test_display_round_halves_away_from_zero(value: float, shown: float) -> None:
    assert display_round(value) == shown
    assert math.copysign(1.0, display_round(-0.04)) == 1.0  # no "-0.0"


def test_display_round_passes_nan_and_infinity_through() -> None:
    assert math.isnan(display_round(float("nan")))
    assert display_round(float("inf")) == float("inf")
    assert display_round(1e300) == 1e300  # beyond any fractional part, no decimal overflow
    assert display_round_or_none(None) is None and display_round_or_none(float("nan")) is None


def test_format_score_and_percent() -> None:
    assert [format_score(v) for v in (2.45, 2.55, 4, None, float("nan"))] == [
        "2.5",
        "2.6",
        "4.0",
        "\u2013",
        "\u2013",
    ]
    assert format_score(0.125, 2) == "0.13"
    assert [format_percent(v) for v in (0.125, 0.875, 0.5, None)] == ["13%", "88%", "50%", "\u2013"]


@given(finite)
def test_display_round_is_idempotent(x: float) -> None:
    once = display_round(x)
    assert display_round(once) == once


@given(finite)
def test_display_round_is_within_half_a_tenth(x: float) -> None:
    assert abs(display_round(x) - x) <= 0.05 + 1e-12 * max(1.0, abs(x))


@given(finite, finite)
def test_display_round_is_monotone(x: float, y: float) -> None:
    low, high = sorted((x, y))
    assert display_round(low) <= display_round(high)


@given(finite)
def test_display_round_has_one_decimal_and_formats_as_it(x: float) -> None:
    shown = display_round(x)
    assert Decimal(str(shown)) == Decimal(format_score(x))
    assert re.fullmatch(r"-?\d+\.\d", format_score(x))


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_whole_number_rounding_is_half_up_on_the_written_number(x: float) -> None:
    written = Decimal(str(x))
    expected = float(written.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    assert display_round(x, 0) == expected + 0.0


# --- scale labels ---------------------------------------------------------------------------


def test_scale_label_reads_the_printed_number() -> None:
    # Issue #14: 2.5 read "rarely" and 2.55 "sometimes" (Python's round); both print 2.5/2.6.
    assert scale_label(2.5, FREQUENCY) == scale_label(2.55, FREQUENCY) == "Sometimes"
    assert scale_label(2.45, FREQUENCY) == "Sometimes"  # printed as 2.5
    assert scale_label(2.449, FREQUENCY) == "Rarely"  # printed as 2.4
    assert scale_label(-3.0, FREQUENCY) == "Never" and scale_label(7.0, FREQUENCY) == "Always"
    assert scale_label(4.0, ("a", "b", "c"), scale_min=3) == "b"
    assert scale_label(float("nan"), FREQUENCY) == "" and scale_label(3.0, ()) == ""


@given(st.floats(min_value=0.5, max_value=5.5))
def test_values_that_print_alike_read_alike(x: float) -> None:
    assert scale_label(x, FREQUENCY) == scale_label(display_round(x), FREQUENCY)


# --- counts ------------------------------------------------------------------------------


def _docstring_table() -> dict[int, dict[str, set[int]]]:
    """The thresholds table of the module docstring, as {n: {word: counts}}."""
    header = ["none", "a few", "about half", "most", "all"]
    table = {}
    for line in coarsen.__doc__.splitlines():
        cells = line.split()
        if not cells or not cells[0].isdigit() or len(cells) != 6:
            continue
        row = {}
        for word, cell in zip(header, cells[1:], strict=True):
            if cell == "-":
                row[word] = set()
            else:
                low, _, high = cell.partition("-")
                row[word] = set(range(int(low), int(high or low) + 1))
        table[int(cells[0])] = row
    return table


def test_the_documented_table_is_the_rule() -> None:
    table = _docstring_table()
    assert sorted(table) == list(range(1, SMALL_GROUP))
    for n, row in table.items():
        actual = {word: {k for k in range(n + 1) if count_word(k, n) == word} for word in row}
        assert actual == row, n


@pytest.mark.parametrize(
    ("k", "n", "word"),
    [
        (1, 9, "a few"),
        (2, 9, "a few"),
        (3, 9, "about half"),
        (6, 9, "about half"),
        (7, 9, "most"),
        (0, 9, "none"),
        (9, 9, "all"),
        (1, 6, "a few"),
        (2, 6, "a few"),
        (3, 6, "about half"),
        (5, 6, "most"),
        (1, 10, "a few"),
        (3, 10, "3 of 10"),
        (7, 10, "7 of 10"),
        (8, 10, "most"),
        (0, 12, "none"),
        (12, 12, "all"),
        (7, 12, "7 of 12"),
    ],
)
def test_count_word(k: int, n: int, word: str) -> None:
    assert count_word(k, n) == word
    assert shows_exact_count(k, n) == (word == f"{k} of {n}")


def test_count_phrases_read_as_plural_subjects() -> None:
    assert [count_phrase(k, 8) for k in (0, 1, 4, 7, 8)] == [
        "none of the members",
        "a few members",
        "about half of the members",
        "most members",
        "all members",
    ]
    assert count_phrase(7, 12) == "7 of 12 members"
    assert count_phrase(11, 12, "people") == "most people"


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_impossible_counts_are_refused(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="between 0 and the group size"):
        count_word(k, n)


@given(counts(max_n=SMALL_GROUP - 1))
def test_no_digit_for_a_count_in_a_small_group(kn: tuple[int, int]) -> None:
    k, n = kn
    assert not any(c.isdigit() for c in count_word(k, n))
    assert not any(c.isdigit() for c in count_phrase(k, n))
    assert count_word(k, n) in COUNT_WORDS.values()


@given(counts())
def test_one_or_two_members_at_either_end_are_never_revealed(kn: tuple[int, int]) -> None:
    k, n = kn
    edge = k in (1, 2) or n - k in (1, 2)
    if edge:
        assert not shows_exact_count(k, n)
        assert str(k) not in count_word(k, n).split()
        if n > 2 * POINTING:  # 1 and 2 read alike, as do all but 1 and all but 2
            twin = 3 - k if k in (1, 2) else 2 * n - 3 - k
            assert count_word(k, n) == count_word(twin, n)
            assert count_phrase(k, n) == count_phrase(twin, n)


@given(counts())
def test_exact_counts_only_in_large_groups_and_the_words_are_ordered(kn: tuple[int, int]) -> None:
    k, n = kn
    if shows_exact_count(k, n):
        assert n >= SMALL_GROUP and POINTING < k < n - POINTING
        assert count_word(k, n) == f"{k} of {n}"
    order = ["none", "a few", "about half", "most", "all"]
    if k < n and not shows_exact_count(k, n) and not shows_exact_count(k + 1, n):
        assert order.index(count_word(k, n)) <= order.index(count_word(k + 1, n))


# --- published JSON -------------------------------------------------------------------------


def _decimals(value: float) -> int:
    return max(0, -Decimal(str(value)).as_tuple().exponent)


@pytest.fixture(scope="module")
def analysis_json() -> dict:
    from analytics.instrument_parser import load_default_instrument
    from analytics.pipeline import analyze_round
    from analytics.profiles import ProfileModel
    from analytics.synthetic import simulate_responses

    instrument = load_default_instrument()
    sizes = {"big": 24, "mid": 14, "six": 6, "eight": 8, "tiny": 3}
    data = simulate_responses(
        instrument, n_respondents=sum(sizes.values()), teams=sizes, random_state=5
    ).data
    model = ProfileModel(k_range=(1, 2), covariance_types=("diag",), n_init=2, random_state=0)
    analysis = analyze_round(
        data,
        instrument,
        round_name="R",
        invited={t: s + 1 for t, s in sizes.items()},
        profile_model=model,
        stability_boot=0,
        threshold=4,
    )
    return analysis.to_json_dict()


def test_published_json_rounds_every_figure_and_words_small_counts(analysis_json) -> None:
    before = json.dumps(analysis_json, sort_keys=True)
    out = published_json(analysis_json)
    assert json.dumps(analysis_json, sort_keys=True) == before  # the input is untouched
    json.dumps(out, allow_nan=False)
    assert out["teams"]["tiny"] == {"n": 3, "suppressed": True}
    for dim in out["org"].values():
        for key in ("mean", "sd", "spread_threshold"):
            assert dim[key] is None or _decimals(dim[key]) <= 1
    for name, team in out["teams"].items():
        if team["suppressed"]:
            continue
        raw = analysis_json["teams"][name]
        for dim_id, finding in team["dimensions"].items():
            if finding["withheld"]:
                continue
            exact = raw["dimensions"][dim_id]
            assert finding["mean"] == display_round(exact["mean"])
            assert finding["sd"] == display_round(exact["sd"])
            assert finding["ci"] == [display_round(v) for v in exact["ci"]]
            assert finding["percentile"] == display_round(exact["percentile"], 0)
            k, n = exact["n_prevalent"], exact["n"]
            assert finding["n"] == n
            assert finding["prevalent"] == count_word(k, n)
            if shows_exact_count(k, n):
                assert finding["n_prevalent"] == k
            else:
                assert finding["n_prevalent"] is finding["prevalence"] is None
                assert finding["severity"] is None
        for pillar in team["pillars"].values():
            assert pillar["percentile"] is None or float(pillar["percentile"]).is_integer()
        for play in team["recommended_plays"] + team["practice_gaps"]:
            assert play["practice_mean"] is None or _decimals(play["practice_mean"]) <= 1
        if team["n"] < SMALL_GROUP:
            text = json.dumps(team["dimensions"])
            assert '"n_prevalent": null' in text and '"prevalence": null' in text
            for sentence in [team["summary"] or "", *team["strength_sentences"]]:
                assert not re.search(r"\d+ of \d+", sentence), sentence
    for centroid in (out["profiles"] or {}).get("centroids", {}).values():
        assert all(_decimals(v) <= 1 for v in centroid.values())


def test_published_json_removes_extremes_and_words_profile_counts() -> None:
    team = {
        "n": 8,
        "suppressed": False,
        "dimensions": {"trust": {"n": 8, "mean": 3.04, "min": 1.0, "max": 5.0, "withheld": False}},
        "min": 1.0,
        "profile_mix": {
            "shown": True,
            "n_assigned": 7,
            "counts": {"A": 4.4, "Other profiles": 2.6},
            "merged": [],
            "reason": None,
        },
    }
    # The two teams share their "counts" dict: each must still be coarsened once.
    big = {**team, "n": 14, "profile_mix": {**team["profile_mix"], "n_assigned": 10}}
    org = {"trust": {"mean": 3.0449, "sd": 0.95, "maximum": 5.0, "n": 40}}
    out = published_json({"org": org, "teams": {"small": team, "big": big}})
    small = out["teams"]["small"]
    assert "min" not in small and set(small["dimensions"]["trust"]) == {
        "n",
        "mean",
        "withheld",
        "prevalence",
        "n_prevalent",
        "severity",
    }
    assert small["dimensions"]["trust"]["mean"] == 3.0
    assert out["org"]["trust"] == {"mean": 3.0, "sd": 1.0, "n": 40}
    assert small["profile_mix"]["counts"] == {"A": "about half", "Other profiles": "about half"}
    assert small["profile_mix"]["assigned"] == "most" and small["profile_mix"]["n_assigned"] is None
    assert out["teams"]["big"]["profile_mix"]["counts"] == {"A": 4.0, "Other profiles": 3.0}
    assert out["teams"]["big"]["profile_mix"]["assigned"] == "10 of 14"
    assert out["teams"]["big"]["profile_mix"]["n_assigned"] == 10


def test_docstring_examples() -> None:
    result = doctest.testmod(coarsen, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


def test_published_json_withholds_the_centroid_of_a_profile_smaller_than_the_threshold():
    from analytics.coarsen import published_json

    payload = {
        "anonymity_threshold": 5,
        "profiles": {
            "sizes": {"A": 40, "B": 2},
            "centroids": {"A": {"trust": 3.14159}, "B": {"trust": 4.66666}},
        },
    }
    out = published_json(payload)
    assert out["profiles"]["sizes"] == {"A": 40, "B": "fewer than 5"}
    assert out["profiles"]["centroids"] == {"A": {"trust": 3.1}, "B": None}
    assert payload["profiles"]["sizes"]["B"] == 2  # the argument is not changed
