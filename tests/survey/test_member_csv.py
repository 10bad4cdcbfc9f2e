"""Tests for the member CSV upload parser (pure, no app needed)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.services.member_csv import (
    MAX_ERRORS,
    MemberCsvResult,
    MemberRow,
    RowError,
    parse_member_csv,
)

TEAMS = ["Sales", "Engineering", "Procurement", "Management", "Legal", "Finance", "Support"]


def parse(text: str | bytes, **kwargs: object) -> MemberCsvResult:
    data = text.encode("utf-8") if isinstance(text, str) else text
    kwargs.setdefault("known_teams", TEAMS)
    return parse_member_csv(data, **kwargs)  # type: ignore[arg-type]


def messages(result: MemberCsvResult) -> list[str]:
    return [str(error) for error in result.errors]


def test_valid_file_gives_normalised_rows() -> None:
    result = parse(
        "name,email,team\nAda Lovelace, Ada@Example.ORG ,sales\n,bob@example.org,Legal\n"
    )
    assert result.ok
    assert result.rows == (
        MemberRow(line=2, name="Ada Lovelace", email="ada@example.org", team="Sales"),
        MemberRow(line=3, name=None, email="bob@example.org", team="Legal"),
    )


def test_name_without_email_is_allowed() -> None:
    result = parse("name,email,team\nCarla,,Finance\n")
    assert result.rows == (MemberRow(2, "Carla", None, "Finance"),)


def test_header_is_case_insensitive_in_any_order_with_bom_and_spaces() -> None:
    data = "\ufeff Team , EMAIL,Name \r\nsupport,c@example.org,Cy\r\n".encode()
    result = parse(data)
    assert result.ok
    assert result.rows == (MemberRow(2, "Cy", "c@example.org", "Support"),)


def test_semicolon_separated_file_from_a_european_excel_is_read() -> None:
    result = parse("name;email;team\nDee;d@example.org;Sales\n")
    assert result.rows == (MemberRow(2, "Dee", "d@example.org", "Sales"),)


def test_blank_lines_are_skipped_and_row_numbers_stay_those_of_the_file() -> None:
    result = parse("\nname,email,team\n\n,,\nEve,e@example.org,Sales\n\n")
    assert result.rows == (MemberRow(5, "Eve", "e@example.org", "Sales"),)


def test_trailing_empty_cells_are_ignored() -> None:
    result = parse("name,email,team,,\nFay,f@example.org,Sales,,\n")
    assert result.ok


def test_team_is_returned_in_its_known_spelling() -> None:
    result = parse("name,email,team\nGil,,  PROCUREMENT \n", known_teams=[" Procurement"])
    assert result.rows[0].team == " Procurement"


def test_error_str_names_row_and_column() -> None:
    assert str(RowError(12, "email", "'bob@' is not an email address")) == (
        "row 12, column email: 'bob@' is not an email address"
    )
    assert str(RowError(3, None, "x")) == "row 3: x"
    assert str(RowError(None, None, "The file is empty.")) == "The file is empty."


def test_file_larger_than_the_limit_says_size_and_limit() -> None:
    result = parse_member_csv(b"x" * 10_000_000, known_teams=TEAMS)
    assert messages(result) == ["The file is 10.0 MB; the limit is 2.0 MB."]


def test_size_message_shows_bytes_when_megabytes_would_look_equal() -> None:
    result = parse_member_csv(b"x" * 2_000_001, known_teams=TEAMS)
    assert messages(result) == ["The file is 2,000,001 bytes; the limit is 2,000,000 bytes."]


def test_non_utf8_bytes_name_the_line_and_suggest_csv_utf8() -> None:
    data = "name,email,team\nAda,a@example.org,Sales\nJosé,j@example.org,Sales\n".encode("cp1252")
    (error,) = parse(data).errors
    assert error.line == 3
    assert "CSV UTF-8" in error.message


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \r\n", b",,,\n;;\n"])
def test_empty_file(data: bytes) -> None:
    result = parse(data)
    assert not result.ok
    assert "empty" in messages(result)[0]


def test_header_without_members() -> None:
    assert "no members" in messages(parse("name,email,team\n\n"))[0]


def test_spreadsheet_file_is_recognised_as_not_csv() -> None:
    result = parse(b"PK\x03\x04\x14\x00\x06\x00binary")
    assert "not a CSV file" in messages(result)[0]


def test_first_row_that_is_data_rather_than_a_header() -> None:
    (message,) = messages(parse("Ada,a@example.org,Sales\n"))
    assert message.startswith("row 1: the first row must be the header name,email,team")


def test_missing_columns_are_named() -> None:
    (message,) = messages(parse("name,e-mail\nA,a@example.org\n"))
    assert "no email and team columns" in message


def test_extra_columns_are_named_and_rows_still_checked() -> None:
    result = parse("name,email,team,phone,Role\nA,a@,Sales,1,x\n")
    assert messages(result) == [
        "row 1: unexpected columns 'phone', 'Role'; only name, email, team and move are allowed",
        "row 2, column email: 'a@' is not an email address",
    ]


def test_duplicated_header_column() -> None:
    assert "appears twice" in messages(parse("name,email,team,Email\n"))[0]


def test_value_under_a_column_without_header() -> None:
    result = parse("name,email,team,\nA,a@example.org,Sales,oops\n")
    assert messages(result) == ["row 2: has a value in column 4, which has no header"]


def test_rows_with_the_wrong_number_of_values() -> None:
    result = parse("name,email,team\nA,a@example.org\nB,b@example.org,Sales,extra\n")
    assert messages(result) == [
        "row 2: has 2 values but the header has 3 columns",
        "row 3: has 4 values but the header has 3 columns",
    ]


def test_too_many_rows() -> None:
    body = "".join(f"P{i},p{i}@example.org,Sales\n" for i in range(12))
    result = parse("name,email,team\n" + body, max_rows=10)
    assert messages(result) == [
        "The file has 12 members; the limit is 10 per upload. Split it into smaller files."
    ]


def test_unknown_team_suggests_and_lists_five_known_teams() -> None:
    (error,) = parse("name,email,team\nA,,Salez\n").errors
    assert (error.line, error.column) == (2, "team")
    assert "did you mean 'Sales'?" in error.message
    assert "Engineering, Finance, Legal, Management, Procurement and 2 more" in error.message


def test_unknown_team_when_there_are_no_teams() -> None:
    (error,) = parse("name,email,team\nA,,Sales\n", known_teams=[]).errors
    assert "no teams yet" in error.message


def test_missing_team() -> None:
    assert messages(parse("name,email,team\nA,a@example.org,\n")) == [
        "row 2, column team: the team is missing"
    ]


def test_duplicate_email_names_both_rows() -> None:
    result = parse("name,email,team\nA,x@example.org,Sales\n\nB,X@Example.org,Legal\n")
    assert messages(result) == [
        "row 4, column email: 'x@example.org' is listed twice, in rows 2 and 4"
    ]
    assert [row.line for row in result.rows] == [2]


def test_existing_member_is_compared_case_insensitively() -> None:
    result = parse(
        "name,email,team\nA,Old@Example.org,Sales\n", existing_emails=["old@EXAMPLE.org"]
    )
    assert messages(result) == ["row 2, column email: 'old@example.org' is already a member"]


def test_existing_member_with_a_known_team_is_told_how_to_move() -> None:
    result = parse(
        "name,email,team\nA,old@example.org,Legal\n", existing_emails={"old@example.org": "Sales"}
    )
    assert messages(result) == [
        "row 2, column email: 'old@example.org' is already a member of Sales;"
        " to move them, write yes in a move column"
    ]


def test_a_move_column_moves_existing_members_and_adds_new_ones() -> None:
    result = parse(
        "name,email,team,move\n"
        "A,old@example.org,Legal,yes\n"
        "B,same@example.org,sales,Y\n"
        "C,new@example.org,Legal,\n"
        "D,kept@example.org,Legal,no\n",
        existing_emails={
            "OLD@example.org": "Sales",
            "same@example.org": "Sales",
            "kept@example.org": "Sales",
        },
    )
    assert messages(result) == [
        "row 5, column email: 'kept@example.org' is already a member of Sales;"
        " to move them, write yes in a move column"
    ]
    assert result.rows == (
        MemberRow(2, "A", "old@example.org", "Legal", "move", "Sales"),
        MemberRow(3, "B", "same@example.org", "Sales", "unchanged", "Sales"),
        MemberRow(4, "C", "new@example.org", "Legal"),
    )


def test_the_move_option_applies_to_every_row() -> None:
    result = parse(
        "name,email,team\nA,old@example.org,Legal\n",
        existing_emails={"old@example.org": "Sales"},
        move=True,
    )
    assert result.ok and result.rows[0].action == "move"


def test_a_move_cell_must_say_yes_or_no() -> None:
    result = parse("name,email,team,move\nA,a@example.org,Legal,perhaps\n")
    assert messages(result) == [
        "row 2, column move: 'perhaps': write yes to move the member, or leave it empty"
    ]


@pytest.mark.parametrize(
    "email",
    [
        "bob@",
        "@example.org",
        "bob@example",
        "bob@@example.org",
        "bob@example..org",
        "bob smith@example.org",
        "Bob <bob@example.org>",
        "b@" + "x" * 320 + ".org",
    ],
)
def test_invalid_email(email: str) -> None:
    quoted = f'"{email}"' if "," in email or '"' in email else email
    (error,) = parse(f"name,email,team\nBob,{quoted},Sales\n").errors
    assert (error.line, error.column) == (2, "email")
    assert error.message.endswith("is not an email address")


@pytest.mark.parametrize("email", ["a@b.co", "first.last+tag@mail.example.org", "Ünï@exämple.de"])
def test_valid_email(email: str) -> None:
    assert parse(f"name,email,team\n,{email},Sales\n").ok


def test_row_with_neither_name_nor_email() -> None:
    assert messages(parse("name,email,team\n,,Sales\n")) == [
        "row 2: has neither a name nor an email address"
    ]


def test_name_too_long() -> None:
    result = parse(f"name,email,team\n{'n' * 201},,Sales\n")
    assert messages(result) == ["row 2, column name: the name has 201 characters; the limit is 200"]
    assert parse(f"name,email,team\n{'n' * 200},,Sales\n").ok


def test_control_characters_in_fields() -> None:
    result = parse('name,email,team\n"A\x07b",a@example.org,"Sa\nles"\n')
    assert messages(result) == [
        "row 2, column name: contains a control character (U+0007)",
        "row 2, column team: contains a control character (U+000A)",
    ]


def test_all_problems_are_collected_then_summarised() -> None:
    body = "".join(f"P{i},bad{i}@,Sales\n" for i in range(MAX_ERRORS + 30))
    errors = parse("name,email,team\n" + body).errors
    assert len(errors) == MAX_ERRORS + 1
    assert errors[0].line == 2
    assert str(errors[-1]) == "and 30 more problems"


def test_several_problems_in_one_row_are_all_reported() -> None:
    result = parse(f"name,email,team\n{'n' * 201},bob@,Nowhere\n")
    assert [error.column for error in result.errors] == ["name", "email", "team"]
    assert result.rows == ()


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = parse_member_csv(data, known_teams=TEAMS)
    assert isinstance(result, MemberCsvResult)
    assert result.ok or all(isinstance(error, RowError) for error in result.errors)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('name,emailtam"\n\r;@.x\x00\ufeff '), max_size=200))
def test_csv_like_text_never_raises(text: str) -> None:
    assert isinstance(parse(text), MemberCsvResult)


NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40
).filter(lambda name: name == name.strip() and name != "")
LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789._+-", min_size=1, max_size=12)
DOMAIN = st.from_regex(r"[a-zA-Z0-9-]{1,10}(\.[a-zA-Z]{2,6}){1,2}", fullmatch=True)


@st.composite
def member_files(draw: st.DrawFn) -> tuple[bytes, list[MemberRow]]:
    n = draw(st.integers(1, 15))
    emails = draw(
        st.lists(
            st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN),
            min_size=n,
            max_size=n,
            unique_by=str.lower,
        )
    )
    order = draw(st.permutations(["name", "email", "team"]))
    header = [draw(st.sampled_from([col, col.upper(), f" {col.title()} "])) for col in order]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    expected = []
    for index, email in enumerate(emails):
        name = draw(st.none() | NAMES)
        with_email = name is None or draw(st.booleans())
        team = draw(st.sampled_from(TEAMS))
        written_team = draw(st.sampled_from([team, team.lower(), f" {team.upper()}"]))
        cells = {"name": name or "", "email": email if with_email else "", "team": written_team}
        writer.writerow([cells[col] for col in order])
        expected.append(MemberRow(index + 2, name, email.lower() if with_email else None, team))
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + out.getvalue()).encode("utf-8"), expected


@settings(max_examples=150, deadline=None)
@given(member_files())
def test_valid_generated_files_round_trip(case: tuple[bytes, list[MemberRow]]) -> None:
    data, expected = case
    result = parse_member_csv(data, known_teams=TEAMS)
    assert result.errors == ()
    assert list(result.rows) == expected
