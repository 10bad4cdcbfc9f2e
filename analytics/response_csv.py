"""Reading a CSV file of complete survey responses (``negoscope import-responses``).

The file is *wide*: a header row, then one row per respondent. Columns:

* ``team`` (required, every row needs one);
* ``respondent`` (optional): the analyst's own id, unique within the file;
  blank cells are allowed and read as missing;
* one column per item id of the instrument (all required; blank = unanswered),
  holding whole numbers on the item's own response scale (``3.0`` counts as 3);
* optionally one column per context question, holding one of its options
  (matched ignoring case and surrounding spaces; blank allowed).

Column names are matched ignoring case and surrounding spaces. Blank rows are
skipped. Row numbers in problems are those a spreadsheet shows: the header is
row 1.

Validation is vectorised: every column is factorised once (``pandas.factorize``),
only its distinct values are checked in Python, and messages are built only for
the offending cells that are reported.
"""

from __future__ import annotations

import difflib
import io
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from analytics.instrument import ContextQuestion, Instrument, ResponseScale

__all__ = ["CsvProblem", "ResponseCsvError", "read_responses_csv"]

TEAM = "team"
RESPONDENT = "respondent"
_SAVE_AS = 'save it as "CSV UTF-8" (comma separated) and try again'
_SHOWN_MISSING = 10
_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*(?:\r\n|\r|\n))+")

Source = str | os.PathLike[str] | bytes | IO[bytes]


@dataclass(frozen=True)
class CsvProblem:
    """One problem in a responses file.

    ``row`` is the spreadsheet row (header = 1) and ``column`` the column name;
    either is None when the problem is not tied to it.

    Examples
    --------
    >>> str(CsvProblem(12, "TR3", "7 is outside 1-5"))
    'row 12, column TR3: 7 is outside 1-5'
    """

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ResponseCsvError(ValueError):
    """The responses file cannot be imported; ``problems`` lists what was found.

    ``str(error)`` has one problem per line. When more than ``max_problems``
    were found the last entry reads "... and N more problems".
    """

    def __init__(self, problems: Sequence[CsvProblem]) -> None:
        super().__init__(tuple(problems))
        self.problems: list[CsvProblem] = list(problems)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def read_responses_csv(
    source: Source, instrument: Instrument, *, max_problems: int = 50
) -> pd.DataFrame:
    """Read and validate a wide CSV of responses.

    Parameters
    ----------
    source : str, path-like, bytes or binary file object
        A path, the file's bytes, or an open binary file. UTF-8, with or
        without a byte order mark.
    instrument : Instrument
        The instrument the responses answer.
    max_problems : int, optional
        How many problems to describe before summarising the rest.

    Returns
    -------
    pandas.DataFrame
        One row per non-blank file row (fresh ``RangeIndex``), columns
        ``team`` (text), ``respondent`` (text, only when the file has the
        column), one float column per item in instrument order (``NaN`` =
        blank) and one text column per context question present in the file,
        in instrument order, with the option's canonical spelling (missing =
        blank).

    Raises
    ------
    ResponseCsvError
        When anything is wrong, with every problem found (up to
        ``max_problems``), including unreadable, empty or non-UTF-8 files.

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> dim = Dimension("trust", "Trust", "", (Item("T1", "a"), Item("T2", "b")))
    >>> inst = Instrument("x", 1, "X", scale, (dim,))
    >>> read_responses_csv(b"team,T1,T2\\nred,3.0,\\nblue,5,1\\n", inst)
       team   T1   T2
    0   red  3.0  NaN
    1  blue  5.0  1.0
    >>> try:
    ...     read_responses_csv(b"team,T1,T2\\nred,7,x\\n", inst)
    ... except ResponseCsvError as error:
    ...     print(error)
    row 2, column T1: 7 is outside 1-5
    row 2, column T2: 'x' is not a number
    """
    text = _decode(_read_bytes(source))
    skipped = _LEADING_BLANK_LINES.match(text)
    offset = skipped.group(0).count("\n") + skipped.group(0).count("\r") - skipped.group(
        0
    ).count("\r\n") if skipped else 0
    raw = _parse(text[skipped.end() :] if skipped else text, offset)
    return _Validator(raw, instrument, offset, max_problems).run()


# --------------------------------------------------------------------------- reading


def _fatal(message: str, row: int | None = None, column: str | None = None) -> ResponseCsvError:
    return ResponseCsvError([CsvProblem(row, column, message)])


def _read_bytes(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise _fatal(f"cannot read {os.fspath(source)}: {reason}") from exc
    data = source.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _fatal(
            f"byte 0x{data[exc.start]:02x} is not UTF-8 text; {_SAVE_AS}", row=line
        ) from None
    if not text.strip():
        raise _fatal("the file is empty; it needs a header row (team, item ids) and responses")
    return text


def _parse(text: str, offset: int) -> pd.DataFrame:
    """All cells as text (``""`` for empty), header included as row 0."""
    try:
        return pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        found = _FIELD_COUNT.search(str(exc))
        if found:
            expected, line, saw = (int(group) for group in found.groups())
            raise _fatal(
                f"has {saw} values but the header has {expected} columns", row=line + offset
            ) from None
        raise _fatal(f"not a readable CSV file ({str(exc).strip()})") from None
    except (pd.errors.EmptyDataError, ValueError, MemoryError) as exc:
        raise _fatal(f"not a readable CSV file ({exc})") from None


# --------------------------------------------------------------------------- validating


@dataclass
class _Column:
    """One factorised file column: ``codes`` index into the stripped distinct values."""

    name: str
    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, name: str, cells: pd.Series) -> _Column:
        codes, uniques = pd.factorize(cells, use_na_sentinel=False)
        values = np.array([str(value).strip() for value in uniques], dtype=object)
        return cls(name, np.asarray(codes), values)

    def blank(self) -> np.ndarray:
        return (self.values == "")[self.codes]


@dataclass
class _Offenders:
    """Cells of one column that failed a check, and how to describe one of them."""

    column: str
    positions: np.ndarray
    describe: Callable[[int], str]


class _Validator:
    """Checks the header and every cell; builds the frame or raises."""

    def __init__(self, raw: pd.DataFrame, instrument: Instrument, offset: int, limit: int) -> None:
        self.instrument = instrument
        self.limit = max(limit, 1)
        self.first_row = offset + 2  # spreadsheet row of the first data row
        self.header = [str(cell).strip() for cell in raw.iloc[0]]
        self.body = raw.iloc[1:].reset_index(drop=True)
        self.column_problems: list[CsvProblem] = []
        self.offenders: list[_Offenders] = []

    def row_number(self, position: int) -> int:
        return self.first_row + position

    def run(self) -> pd.DataFrame:
        if len(self.header) == 1 and (sep := _other_separator(self.header[0])):
            raise _fatal(f"the values are separated by {sep!r}, not commas; {_SAVE_AS}", row=1)
        columns = self._map_columns()
        factorised = {key: _Column.of(name, self.body[index]) for key, (name, index) in columns.items()}
        keep = ~np.logical_and.reduce(
            [_Column.of("", self.body[index]).blank() for index in self.body.columns]
        ) if len(self.body.columns) else np.zeros(0, dtype=bool)
        if not keep.any():
            self.column_problems.append(CsvProblem(None, None, "the file has no responses below the header"))
        self._check_unnamed(keep)

        frame: dict[str, object] = {}
        if TEAM in factorised:
            frame[TEAM] = self._team(factorised[TEAM], keep)
        if RESPONDENT in factorised:
            frame[RESPONDENT] = self._respondent(factorised[RESPONDENT], keep)
        for item_id in self.instrument.item_ids:
            if item_id in factorised:
                frame[item_id] = self._item(factorised[item_id], keep, self.instrument.scale_for(item_id))
        for question in self.instrument.context:
            if question.id in factorised:
                frame[question.id] = self._context(factorised[question.id], keep, question)

        problems = self._problems()
        if problems:
            raise ResponseCsvError(problems)
        return pd.DataFrame({name: values[keep] for name, values in frame.items()})

    # ---- header

    def _map_columns(self) -> dict[str, tuple[str, int]]:
        """Known columns by canonical name: (name as written, position)."""
        known = {TEAM: TEAM, RESPONDENT: RESPONDENT}
        known.update({item_id.casefold(): item_id for item_id in self.instrument.item_ids})
        known.update({q.id.casefold(): q.id for q in self.instrument.context})
        found: dict[str, tuple[str, int]] = {}
        for index, name in enumerate(self.header):
            if not name:
                continue
            canonical = known.get(name.casefold())
            if canonical is None:
                self.column_problems.append(CsvProblem(None, name, self._unknown(name, known)))
            elif canonical in found:
                first = found[canonical][1] + 1
                self.column_problems.append(
                    CsvProblem(None, name, f"appears twice (columns {first} and {index + 1})")
                )
            else:
                found[canonical] = (name, index)
        if TEAM not in found:
            self.column_problems.append(
                CsvProblem(None, TEAM, "the file needs a team column naming each response's team")
            )
        missing = [item_id for item_id in self.instrument.item_ids if item_id not in found]
        if missing:
            listed = ", ".join(missing[:_SHOWN_MISSING])
            if len(missing) > _SHOWN_MISSING:
                listed += f" and {len(missing) - _SHOWN_MISSING} more"
            self.column_problems.append(
                CsvProblem(
                    None,
                    None,
                    f"missing item column{'s' if len(missing) > 1 else ''} {listed}; every item "
                    "needs a column (leave cells blank for unanswered items)",
                )
            )
        return found

    def _unknown(self, name: str, known: dict[str, str]) -> str:
        what = f"not an item or context question of {self.instrument.id} v{self.instrument.version}"
        close = difflib.get_close_matches(name.casefold(), known, n=1, cutoff=0.6)
        return f"{what} (did you mean {known[close[0]]}?)" if close else what

    def _check_unnamed(self, keep: np.ndarray) -> None:
        for index, name in enumerate(self.header):
            if name:
                continue
            filled = ~_Column.of("", self.body[index]).blank() & keep
            if filled.any():
                row = self.row_number(int(np.flatnonzero(filled)[0]))
                self.column_problems.append(
                    CsvProblem(row, None, f"has a value in column {index + 1}, which has no header")
                )

    # ---- cells

    def _flag(self, column: _Column, bad: np.ndarray, describe: Callable[[int], str]) -> None:
        positions = np.flatnonzero(bad)
        if positions.size:
            self.offenders.append(_Offenders(column.name, positions, describe))

    def _team(self, column: _Column, keep: np.ndarray) -> np.ndarray:
        self._flag(column, column.blank() & keep, lambda _: "the team is missing")
        return column.values[column.codes]

    def _respondent(self, column: _Column, keep: np.ndarray) -> np.ndarray:
        ids, distinct = pd.factorize(column.values)
        codes = np.asarray(ids)[column.codes]
        blank_code = -1 if "" not in distinct else int(distinct.get_loc(""))
        codes = np.where(keep & (codes != blank_code), codes, -1)
        labelled = codes >= 0
        _, first_index = np.unique(codes, return_index=True)
        first_of = np.full(len(distinct) + 1, -1)
        first_of[np.unique(codes)] = first_index  # -1 code lands in the last slot
        repeated = labelled & (first_of[codes] != np.arange(codes.size))

        def describe(position: int) -> str:
            first = self.row_number(int(first_of[codes[position]]))
            value = column.values[column.codes[position]]
            return f"{_show(value)} is also in row {first}; respondent ids must be unique"

        self._flag(column, repeated, describe)
        values = column.values[column.codes].copy()
        values[column.blank()] = None
        return values

    def _item(self, column: _Column, keep: np.ndarray, scale: ResponseScale) -> np.ndarray:
        parsed = [_item_value(text, scale) for text in column.values]
        numbers = np.array([number for number, _ in parsed], dtype=float)
        invalid = np.array([problem is not None for _, problem in parsed], dtype=bool)

        def describe(position: int) -> str:
            return _item_value(column.values[column.codes[position]], scale)[1] or ""

        self._flag(column, invalid[column.codes] & keep, describe)
        return numbers[column.codes]

    def _context(self, column: _Column, keep: np.ndarray, question: ContextQuestion) -> np.ndarray:
        options = {option.strip().casefold(): option for option in question.options}
        canonical = np.array(
            [options.get(text.casefold()) if text else None for text in column.values], dtype=object
        )
        invalid = (canonical == None) & (column.values != "")  # noqa: E711 - elementwise

        def describe(position: int) -> str:
            value = _show(column.values[column.codes[position]])
            return f"{value} is not an option; choose one of {', '.join(question.options)}"

        self._flag(column, invalid[column.codes] & keep, describe)
        return canonical[column.codes]

    # ---- report

    def _problems(self) -> list[CsvProblem]:
        problems = self.column_problems[: self.limit]
        hidden = len(self.column_problems) - len(problems)
        room = self.limit - len(problems)
        order = {name: index for index, name in enumerate(self.header)}
        offenders = sorted(self.offenders, key=lambda o: order.get(o.column, len(order)))
        if offenders:
            positions = np.concatenate([o.positions for o in offenders])
            owners = np.concatenate([np.full(o.positions.size, i) for i, o in enumerate(offenders)])
            hidden += max(positions.size - room, 0)
            if room > 0:
                first = np.lexsort((owners, positions))[:room]
                for position, owner in zip(positions[first], owners[first], strict=True):
                    culprit = offenders[int(owner)]
                    problems.append(
                        CsvProblem(
                            self.row_number(int(position)),
                            culprit.column,
                            culprit.describe(int(position)),
                        )
                    )
        if hidden:
            noun = "problem" if hidden == 1 else "problems"
            problems.append(CsvProblem(None, None, f"... and {hidden} more {noun}"))
        return problems


def _item_value(text: str, scale: ResponseScale) -> tuple[float, str | None]:
    """The number in one cell and, when it is not acceptable, why."""
    if text == "":
        return math.nan, None
    try:
        number = float(text)
    except ValueError:
        return math.nan, f"{_show(text)} is not a number"
    if not math.isfinite(number):
        return math.nan, f"{_show(text)} is not a number"
    if number != int(number):
        return math.nan, f"{text} is not a whole number"
    if not scale.min <= number <= scale.max:
        return math.nan, f"{text} is outside {scale.min}-{scale.max}"
    return number, None


def _other_separator(header: str) -> str | None:
    for separator in (";", "\t"):
        if header.count(separator) >= 1:
            return separator
    return None


def _show(value: str, limit: int = 40) -> str:
    """A cell value quoted for a message, shortened when long."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")
