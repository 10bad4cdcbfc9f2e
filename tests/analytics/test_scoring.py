"""Tests for analytics.scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.instrument import Instrument
from analytics.scoring import (
    keyed_items,
    min_answered,
    reverse_key,
    score_dimensions,
    scoring_summary,
    select_dimensions,
)

NAN = np.nan


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "team": ["red", "red", "blue", "blue"],
            "respondent": ["r1", "r2", "r3", "r4"],
            "A1": [5.0, 1.0, 3.0, NAN],
            "A2": [4.0, 2.0, NAN, NAN],
            "A3": [1.0, 5.0, NAN, 2.0],
            "B1": [7.0, 1.0, 4.0, 6.0],
            "B2": [1.0, 7.0, NAN, 3.0],
            "role": ["sales", "other", "sales", "engineering"],
        },
        index=pd.Index([10, 11, 12, 13], name="row"),
    )


# --- reverse_key ---------------------------------------------------------------------------


def test_reverse_key_uses_each_items_own_scale(small_instrument) -> None:
    keyed = reverse_key(small_frame(), small_instrument)
    # A3 is on 1-5 (6 - x), B2 on 1-7 (8 - x).
    assert keyed["A3"].tolist()[:2] == [5.0, 1.0]
    assert keyed["A3"].iloc[3] == 4.0
    assert keyed["B2"].tolist()[:2] == [7.0, 1.0]
    assert keyed["B2"].iloc[3] == 5.0
    assert np.isnan(keyed["A3"].iloc[2])


def test_reverse_key_leaves_other_columns_and_input_alone(small_instrument) -> None:
    data = small_frame()
    original = data.copy()
    keyed = reverse_key(data, small_instrument)
    pd.testing.assert_frame_equal(data, original)
    for column in ["team", "respondent", "A1", "A2", "B1", "role"]:
        pd.testing.assert_series_equal(keyed[column], data[column])


def test_reverse_key_ignores_absent_items(small_instrument) -> None:
    data = pd.DataFrame({"A1": [1, 2], "A3": [1, 2]})
    keyed = reverse_key(data, small_instrument)
    assert keyed["A3"].tolist() == [5, 4]
    assert list(keyed.columns) == ["A1", "A3"]


# --- min_answered --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_items", "fraction", "expected"),
    [
        (5, 2 / 3, 4),  # 3.33 -> 4
        (3, 2 / 3, 2),
        (2, 2 / 3, 2),  # 1.33 -> 2
        (6, 2 / 3, 4),
        (10, 0.7, 7),  # 0.7 * 10 is 7.000000000000001 in floating point
        (5, 1.0, 5),
        (5, 0.0, 1),
        (1, 2 / 3, 1),
    ],
)
def test_min_answered_rounds_up(n_items: int, fraction: float, expected: int) -> None:
    assert min_answered(n_items, fraction) == expected


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_min_answered_rejects_fractions_outside_0_1(fraction: float) -> None:
    with pytest.raises(ValueError, match="min_fraction"):
        min_answered(5, fraction)


# --- score_dimensions ----------------------------------------------------------------------


def test_score_dimensions_hand_computed(small_instrument) -> None:
    scores = score_dimensions(small_frame(), small_instrument)
    assert list(scores.columns) == ["alpha", "beta"]
    assert scores.index.equals(small_frame().index)
    assert all(dtype == np.float64 for dtype in scores.dtypes)
    expected = pd.DataFrame(
        {
            # row 12: A1 only (1 of 3, needs 2); row 13: A3 only -> NaN
            "alpha": [(5 + 4 + 5) / 3, (1 + 2 + 1) / 3, NAN, NAN],
            # row 12: B1 only (1 of 2, needs 2) -> NaN
            "beta": [(7 + 7) / 2, (1 + 1) / 2, NAN, (6 + 5) / 2],
        },
        index=small_frame().index,
    )
    pd.testing.assert_frame_equal(scores, expected)


def test_five_item_dimension_needs_four_answers(default_instrument) -> None:
    trust = default_instrument.dimension("trust")
    ids = list(trust.item_ids)
    answers = {i: [3.0, 3.0, 3.0] for i in ids}
    # Row 0 answers all five, row 1 four, row 2 three.
    answers[ids[0]][1] = NAN
    answers[ids[0]][2] = NAN
    answers[ids[1]][2] = NAN
    frame = pd.DataFrame(answers)
    scores = score_dimensions(frame, default_instrument, dimensions=["trust"])
    assert scores["trust"].tolist()[:2] == [3.0, 3.0]
    assert np.isnan(scores["trust"].iloc[2])


def test_min_fraction_one_requires_every_item(small_instrument) -> None:
    data = small_frame()
    scores = score_dimensions(data, small_instrument, min_fraction=1.0)
    assert scores["alpha"].notna().tolist() == [True, True, False, False]


def test_dimensions_subset_keeps_instrument_order(small_instrument) -> None:
    scores = score_dimensions(small_frame(), small_instrument, dimensions=["beta", "alpha"])
    assert list(scores.columns) == ["alpha", "beta"]
    only_beta = score_dimensions(
        small_frame().drop(columns=["A1", "A2", "A3"]), small_instrument, dimensions=["beta"]
    )
    assert list(only_beta.columns) == ["beta"]


def test_unknown_dimension_is_an_error(small_instrument) -> None:
    with pytest.raises(ValueError, match="gamma"):
        score_dimensions(small_frame(), small_instrument, dimensions=["gamma"])


def test_missing_item_column_is_named(small_instrument) -> None:
    with pytest.raises(ValueError, match="A2"):
        score_dimensions(small_frame().drop(columns=["A2"]), small_instrument)


def test_nullable_integer_columns_are_scored(small_instrument) -> None:
    data = pd.DataFrame(
        {
            "A1": pd.array([5, None], dtype="Int64"),
            "A2": pd.array([4, 2], dtype="Int64"),
            "A3": pd.array([1, 5], dtype="Int64"),
            "B1": pd.array([7, 1], dtype="Int64"),
            "B2": pd.array([1, None], dtype="Int64"),
        }
    )
    scores = score_dimensions(data, small_instrument)
    assert scores["alpha"].tolist() == pytest.approx([14 / 3, 1.5])
    assert scores["beta"].iloc[0] == 7.0
    assert np.isnan(scores["beta"].iloc[1])


def test_empty_frame_gives_empty_scores(small_instrument) -> None:
    data = small_frame().iloc[0:0]
    scores = score_dimensions(data, small_instrument)
    assert scores.shape == (0, 2)


def test_keyed_items_are_float_and_reverse_keyed(small_instrument) -> None:
    items = keyed_items(small_frame(), small_instrument, "beta")
    assert list(items.columns) == ["B1", "B2"]
    assert items["B2"].tolist()[:2] == [7.0, 1.0]
    assert all(dtype == np.float64 for dtype in items.dtypes)


def test_select_dimensions(small_instrument) -> None:
    assert [d.id for d in select_dimensions(small_instrument)] == ["alpha", "beta"]
    with pytest.raises(TypeError):
        select_dimensions(small_instrument, "alpha")


# --- scoring_summary -----------------------------------------------------------------------


def test_scoring_summary_counts(small_instrument) -> None:
    summary = scoring_summary(small_frame(), small_instrument)
    assert summary.index.tolist() == ["alpha", "beta"]
    assert summary["n_items"].tolist() == [3, 2]
    assert summary["min_answered"].tolist() == [2, 2]
    assert summary["n_scored"].tolist() == [2, 3]
    assert summary["n_unscored"].tolist() == [2, 1]


# --- properties ----------------------------------------------------------------------------


def answer_frames(instrument: Instrument) -> st.SearchStrategy[pd.DataFrame]:
    """Frames of on-scale answers (with holes) to every item of ``instrument``."""
    item_ids = list(instrument.item_ids)

    @st.composite
    def frames(draw: st.DrawFn) -> pd.DataFrame:
        n_rows = draw(st.integers(min_value=0, max_value=12))
        columns = {}
        for item_id in item_ids:
            scale = instrument.scale_for(item_id)
            value = st.one_of(st.none(), st.integers(scale.min, scale.max))
            cells = draw(st.lists(value, min_size=n_rows, max_size=n_rows))
            columns[item_id] = [NAN if v is None else float(v) for v in cells]
        return pd.DataFrame(columns, columns=item_ids, dtype="float64")

    return frames()


@settings(max_examples=60, deadline=None)
@given(draw=st.data())
def test_scores_do_not_depend_on_column_order(draw: st.DataObject, small_instrument) -> None:
    data = draw.draw(answer_frames(small_instrument))
    order = draw.draw(st.permutations(list(data.columns)))
    pd.testing.assert_frame_equal(
        score_dimensions(data[order], small_instrument), score_dimensions(data, small_instrument)
    )


@settings(max_examples=60, deadline=None)
@given(draw=st.data())
def test_reverse_keying_twice_is_the_identity(draw: st.DataObject, small_instrument) -> None:
    data = draw.draw(answer_frames(small_instrument))
    twice = reverse_key(reverse_key(data, small_instrument), small_instrument)
    pd.testing.assert_frame_equal(twice, data)


@settings(max_examples=60, deadline=None)
@given(draw=st.data(), fraction=st.floats(0.0, 1.0))
def test_scores_stay_on_the_scale(draw: st.DataObject, fraction: float, small_instrument) -> None:
    data = draw.draw(answer_frames(small_instrument))
    scores = score_dimensions(data, small_instrument, min_fraction=fraction)
    for dim in small_instrument.dimensions:
        scale = dim.response_scale or small_instrument.response_scale
        values = scores[dim.id].dropna()
        assert ((values >= scale.min) & (values <= scale.max)).all()
