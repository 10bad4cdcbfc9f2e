"""Tests for reading a wide responses CSV (``negoscope import-responses``)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.instrument import Instrument
from analytics.instrument_parser import load_default_instrument
from analytics.response_csv import CsvProblem, ResponseCsvError, read_responses_csv

INSTRUMENT = load_default_instrument()
ITEMS = INSTRUMENT.item_ids


def csv_text(rows: list[dict[str, object]], columns: list[str] | None = None) -> bytes:
    """A CSV with the default instrument's item columns; unlisted item cells blank."""
    columns = columns or ["team", *ITEMS]
    frame = pd.DataFrame([{column: row.get(column, "") for column in columns} for row in rows])
    return frame.to_csv(index=False).encode("utf-8")


def problems_of(data: bytes | str, instrument: Instrument = INSTRUMENT, **kwargs: int) -> list[str]:
    with pytest.raises(ResponseCsvError) as caught:
        read_responses_csv(data.encode() if isinstance(data, str) else data, instrument, **kwargs)
    return [str(problem) for problem in caught.value.problems]


def test_valid_file_gives_the_wide_frame() -> None:
    data = csv_text(
        [
            {"team": "red", "respondent": "r1", "TR1": 3, "ME1": "5", "role": "sales"},
            {"team": " blue ", "respondent": "", "TR1": "3.0", "role": ""},
        ],
        ["respondent", "role", "team", *reversed(ITEMS)],
    )
    frame = read_responses_csv(data, INSTRUMENT)
    assert list(frame.columns) == ["team", "respondent", *ITEMS, "role"]
    assert list(frame["team"]) == ["red", "blue"]
    assert frame["respondent"].iloc[0] == "r1"
    assert pd.isna(frame["respondent"].iloc[1])
    assert frame[list(ITEMS)].dtypes.eq("float64").all()
    assert frame["TR1"].tolist() == [3.0, 3.0]
    assert frame["ME1"].iloc[0] == 5.0
    assert np.isnan(frame["ME1"].iloc[1])
    assert frame["role"].iloc[0] == "sales"
    assert pd.isna(frame["role"].iloc[1])
    assert isinstance(frame.index, pd.RangeIndex)


def test_optional_columns_are_absent_when_not_in_the_file() -> None:
    frame = read_responses_csv(csv_text([{"team": "a", "TR1": 1}]), INSTRUMENT)
    assert list(frame.columns) == ["team", *ITEMS]


def test_values_are_checked_against_each_items_own_scale(small_instrument: Instrument) -> None:
    data = "team,A1,A2,A3,B1,B2\nx,5,1,,7,6\n"
    frame = read_responses_csv(data.encode(), small_instrument)
    assert frame[["A1", "B1", "B2"]].iloc[0].tolist() == [5.0, 7.0, 6.0]
    assert problems_of("team,A1,A2,A3,B1,B2\nx,6,1,,7,8\n", small_instrument) == [
        "row 2, column A1: 6 is outside 1-5",
        "row 2, column B2: 8 is outside 1-7",
    ]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("7", "7 is outside 1-5"),
        ("0", "0 is outside 1-5"),
        ("-1", "-1 is outside 1-5"),
        ("3.5", "3.5 is not a whole number"),
        ("abc", "'abc' is not a number"),
        ("nan", "'nan' is not a number"),
        ("inf", "'inf' is not a number"),
        ("3 4", "'3 4' is not a number"),
    ],
)
def test_bad_item_values(cell: str, message: str) -> None:
    rows = [{"team": "t", "TR3": 2} for _ in range(11)]
    rows[10]["TR3"] = cell
    assert problems_of(csv_text(rows)) == [f"row 12, column TR3: {message}"]


def test_problem_str() -> None:
    assert str(CsvProblem(12, "TR3", "7 is outside 1-5")) == "row 12, column TR3: 7 is outside 1-5"
    assert str(CsvProblem(None, "team", "x")) == "column team: x"
    assert str(CsvProblem(None, None, "the file is empty")) == "the file is empty"


def test_item_values_with_spaces_and_decimal_zero_are_accepted() -> None:
    frame = read_responses_csv(csv_text([{"team": "t", "TR1": " 4 ", "TR2": "2.0"}]), INSTRUMENT)
    assert frame[["TR1", "TR2"]].iloc[0].tolist() == [4.0, 2.0]


def test_every_row_needs_a_team() -> None:
    rows = [{"team": "t", "TR1": 1}, {"team": "  ", "TR1": 2}]
    assert problems_of(csv_text(rows)) == ["row 3, column team: the team is missing"]


def test_team_column_is_required() -> None:
    assert problems_of(csv_text([{"TR1": 1}], list(ITEMS))) == [
        "column team: the file needs a team column naming each response's team"
    ]


def test_missing_item_columns_are_listed() -> None:
    columns = ["team", *ITEMS[:-2]]
    (message,) = problems_of(csv_text([{"team": "t"}], columns))
    assert message.startswith("missing item columns PS1, PS2;")


def test_many_missing_item_columns_are_summarised() -> None:
    (message,) = problems_of("team,TR1\nt,1\n")
    assert message.startswith("missing item columns TR2, TR3,")
    assert "and 26 more" in message


def test_unknown_columns_with_did_you_mean() -> None:
    columns = ["team", *ITEMS, "TR 1", "Rol", "favourite colour"]
    problems = problems_of(csv_text([{"team": "t"}], columns))
    assert problems == [
        "column TR 1: not an item or context question of negotiation-blockers v1 "
        "(did you mean TR1?)",
        "column Rol: not an item or context question of negotiation-blockers v1 "
        "(did you mean role?)",
        "column favourite colour: not an item or context question of negotiation-blockers v1",
    ]


def test_column_names_are_matched_ignoring_case_and_spaces() -> None:
    header = ",".join([" Team", "RESPONDENT ", *(item.lower() for item in ITEMS), "Tenure"])
    row = ",".join(["t", "r", *["3"] * len(ITEMS), "Over 10 years"])
    frame = read_responses_csv(f"{header}\n{row}\n".encode(), INSTRUMENT)
    assert list(frame.columns) == ["team", "respondent", *ITEMS, "tenure"]
    assert frame["tenure"].iloc[0] == "over 10 years"


def test_duplicate_columns() -> None:
    header = ",".join(["team", *ITEMS, "tr1"])
    (message,) = problems_of(f"{header}\nt\n")
    assert message == f"column tr1: appears twice (columns 2 and {len(ITEMS) + 2})"


def test_duplicate_respondents_name_both_rows() -> None:
    rows = [{"team": "t", "respondent": r} for r in ["a", "b", "", "", " a", "c", "b"]]
    problems = problems_of(csv_text(rows, ["team", "respondent", *ITEMS]))
    assert problems == [
        "row 6, column respondent: 'a' is also in row 2; respondent ids must be unique",
        "row 8, column respondent: 'b' is also in row 3; respondent ids must be unique",
    ]


def test_context_values_must_be_options() -> None:
    rows = [{"team": "t", "role": "Sales"}, {"team": "t", "role": "CEO"}]
    (message,) = problems_of(csv_text(rows, ["team", *ITEMS, "role"]))
    assert message == (
        "row 3, column role: 'CEO' is not an option; "
        "choose one of sales, procurement, engineering, management, other"
    )


def test_blank_lines_are_skipped_and_rows_numbered_as_in_a_spreadsheet() -> None:
    header = ",".join(["team", *ITEMS])
    blank_row = "," * len(ITEMS)
    good = ",".join(["t", *["1"] * len(ITEMS)])
    bad = ",".join(["t", "9", *["1"] * (len(ITEMS) - 1)])
    text = f"\n\n{header}\n{good}\n\n{blank_row}\n{bad}\n\n"
    assert problems_of(text) == ["row 7, column TR1: 9 is outside 1-5"]
    fixed = read_responses_csv(text.replace(bad, good).encode(), INSTRUMENT)
    assert len(fixed) == 2


def test_problems_are_capped_and_ordered_by_row_then_column() -> None:
    rows = [{"team": "t", "TR1": 9, "TR2": 9} for _ in range(40)]
    problems = problems_of(csv_text(rows), max_problems=5)
    assert problems == [
        "row 2, column TR1: 9 is outside 1-5",
        "row 2, column TR2: 9 is outside 1-5",
        "row 3, column TR1: 9 is outside 1-5",
        "row 3, column TR2: 9 is outside 1-5",
        "row 4, column TR1: 9 is outside 1-5",
        "... and 75 more problems",
    ]


def test_column_and_cell_problems_are_reported_together() -> None:
    columns = ["team", *ITEMS, "extra"]
    problems = problems_of(csv_text([{"team": "", "TR1": 8, "extra": 1}], columns))
    assert problems == [
        "column extra: not an item or context question of negotiation-blockers v1",
        "row 2, column team: the team is missing",
        "row 2, column TR1: 8 is outside 1-5",
    ]


def test_row_with_too_many_values() -> None:
    header = ",".join(["team", *ITEMS])
    good = ",".join(["t", *["1"] * len(ITEMS)])
    assert problems_of(f"{header}\n{good}\n{good},1\n") == [
        f"row 3: has {len(ITEMS) + 2} values but the header has {len(ITEMS) + 1} columns"
    ]


def test_value_in_a_column_without_header() -> None:
    header = ",".join(["team", *ITEMS, ""])
    row = ",".join(["t", *["1"] * len(ITEMS), "stray"])
    assert problems_of(f"{header}\n{row}\n") == [
        f"row 2: has a value in column {len(ITEMS) + 2}, which has no header"
    ]


def test_trailing_empty_column_is_ignored() -> None:
    header = ",".join(["team", *ITEMS, ""])
    row = ",".join(["t", *["1"] * len(ITEMS), ""])
    assert len(read_responses_csv(f"{header}\n{row}\n".encode(), INSTRUMENT)) == 1


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n \r\n\t\n"])
def test_empty_file(data: bytes) -> None:
    (message,) = problems_of(data)
    assert message.startswith("the file is empty")


def test_header_without_responses() -> None:
    assert problems_of(",".join(["team", *ITEMS]) + "\n") == [
        "the file has no responses below the header"
    ]


def test_non_utf8_file_names_the_line() -> None:
    header = ",".join(["team", *ITEMS, "role"])
    row = ",".join(["Zürich", *["1"] * len(ITEMS), "sales"])
    (problem,) = problems_of(f"{header}\n{row}\n".encode("latin-1"))
    assert problem.startswith("row 2: byte 0xfc is not UTF-8 text")
    assert "CSV UTF-8" in problem


def test_semicolon_separated_file_gets_a_clear_problem() -> None:
    (problem,) = problems_of("team;TR1;TR2\nt;1;2\n")
    assert problem == (
        "row 1: the values are separated by ';'; save it as \"CSV UTF-8\" (comma separated) "
        "and try again"
    )


def test_unterminated_quote_is_a_problem_not_a_traceback() -> None:
    (problem,) = problems_of('team,TR1\n"t,1\n')
    assert problem.startswith("not a readable CSV file")


def test_sources_path_bytes_file_object_and_bom(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + csv_text([{"team": "t", "TR1": 2}])
    path = tmp_path / "responses.csv"
    path.write_bytes(data)
    frames = [
        read_responses_csv(path, INSTRUMENT),
        read_responses_csv(str(path), INSTRUMENT),
        read_responses_csv(data, INSTRUMENT),
        read_responses_csv(io.BytesIO(data), INSTRUMENT),
    ]
    for frame in frames:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert frames[0]["team"].tolist() == ["t"]


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ResponseCsvError) as caught:
        read_responses_csv(tmp_path / "nope.csv", INSTRUMENT)
    (problem,) = caught.value.problems
    assert "cannot read" in problem.message
    assert "nope.csv" in problem.message


def test_values_that_pandas_would_read_as_missing_stay_text() -> None:
    frame = read_responses_csv(
        csv_text([{"team": "NA", "respondent": "null"}], ["team", "respondent", *ITEMS]), INSTRUMENT
    )
    assert frame[["team", "respondent"]].iloc[0].tolist() == ["NA", "null"]


# --- properties -----------------------------------------------------------------------------

TEAM_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12
).filter(lambda name: name == name.strip() and name != "")


@st.composite
def valid_frames(draw: st.DrawFn, *, with_respondent: bool | None = None) -> pd.DataFrame:
    n = draw(st.integers(1, 12))
    data: dict[str, list[object]] = {"team": draw(st.lists(TEAM_NAMES, min_size=n, max_size=n))}
    if with_respondent if with_respondent is not None else draw(st.booleans()):
        data["respondent"] = [f"R{i}" for i in draw(st.permutations(range(1000, 1000 + n)))]
    for item_id in ITEMS:
        scale = INSTRUMENT.scale_for(item_id)
        answer = st.none() | st.integers(scale.min, scale.max)
        data[item_id] = draw(st.lists(answer, min_size=n, max_size=n))
    for question in INSTRUMENT.context:
        if draw(st.booleans()):
            answer = st.none() | st.sampled_from(question.options)
            data[question.id] = draw(st.lists(answer, min_size=n, max_size=n))
    frame = pd.DataFrame(data)
    for item_id in ITEMS:
        frame[item_id] = frame[item_id].astype("float64")
    return frame


def written(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_frames())
def test_valid_frames_round_trip(frame: pd.DataFrame) -> None:
    result = read_responses_csv(written(frame).encode(), INSTRUMENT)
    pd.testing.assert_frame_equal(result, frame)
    assert result[list(ITEMS)].dtypes.eq("float64").all()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet='team,TR1;"\n\r 3x\x00', max_size=100))
def test_arbitrary_input_gives_a_frame_or_problems(data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    try:
        frame = read_responses_csv(raw, INSTRUMENT)
    except ResponseCsvError as error:
        assert error.problems
        assert all(isinstance(problem, CsvProblem) for problem in error.problems)
    else:
        assert list(frame.columns[:1]) == ["team"]


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[pd.DataFrame, int, str, str]:
    frame = draw(valid_frames(with_respondent=True))
    row = draw(st.integers(0, len(frame) - 1))
    targets = ["team", *ITEMS, *[q.id for q in INSTRUMENT.context if q.id in frame]]
    if row > 0:
        targets.append("respondent")
    column = draw(st.sampled_from(targets))
    if column == "team":
        value = draw(st.sampled_from(["", "  "]))
    elif column == "respondent":
        value = frame["respondent"].iloc[draw(st.integers(0, row - 1))]
    elif column in ITEMS:
        scale = INSTRUMENT.scale_for(column)
        value = draw(
            st.sampled_from(["abc", "x1", "2.5", "1,5", "--1"]).map(str)
            | st.integers(scale.max + 1, 99).map(str)
            | st.integers(-99, scale.min - 1).map(str)
        )
    else:
        value = draw(st.sampled_from(["ceo", "n/a", "0"]))
    return frame, row, column, value


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions())
def test_one_corrupted_cell_gives_exactly_one_problem_there(
    case: tuple[pd.DataFrame, int, str, str],
) -> None:
    frame, row, column, value = case
    text = frame.astype(object).where(frame.notna(), "")
    text[column] = text[column].astype(object)
    text.iloc[row, text.columns.get_loc(column)] = value
    with pytest.raises(ResponseCsvError) as caught:
        read_responses_csv(written(text).encode(), INSTRUMENT)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (row + 2, column)
