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
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

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
    text, offset = _without_leading_blank_lines(_decode(_read_bytes(source)))
    return _Validator(_parse(text, offset), instrument, offset, max_problems).run()


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


def _without_leading_blank_lines(text: str) -> tuple[str, int]:
    """The text from its first non-blank line, and how many lines were dropped."""
    blank = _LEADING_BLANK_LINES.match(text)
    if blank is None:
        return text, 0
    return text[blank.end() :], len(_LINE_BREAK.findall(blank.group(0)))


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
    except (pd.errors.EmptyDataError, ValueError) as exc:
        raise _fatal(f"not a readable CSV file ({exc})") from None


# --------------------------------------------------------------------------- validating


@dataclass
class _Column:
    """One file column, factorised: ``codes`` index into its stripped distinct ``values``."""

    index: int
    name: str
    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, index: int, name: str, cells: pd.Series) -> _Column:
        codes, uniques = pd.factorize(cells, use_na_sentinel=False)
        values = np.array([str(value).strip() for value in uniques], dtype=object)
        return cls(index, name, np.asarray(codes), values)

    @property
    def cells(self) -> np.ndarray:
        """The stripped cell values, one per row."""
        return self.values[self.codes]

    @property
    def blank(self) -> np.ndarray:
        """True where a cell is empty or only spaces."""
        return (self.values == "")[self.codes]


@dataclass
class _Offenders:
    """Rows of one column that failed a check, and how to describe one of them."""

    column: _Column
    positions: np.ndarray
    describe: Callable[[int], str]


class _Validator:
    """Checks the header and every cell; builds the frame or raises."""

    def __init__(self, raw: pd.DataFrame, instrument: Instrument, offset: int, limit: int) -> None:
        self.instrument = instrument
        self.limit = max(limit, 1)
        self.first_row = offset + 2  # spreadsheet row of the first data row
        header = [str(cell).strip() for cell in raw.iloc[0]]
        body = raw.iloc[1:]
        self.columns = [
            _Column.of(index, name, body[label])
            for index, (name, label) in enumerate(zip(header, raw.columns, strict=True))
        ]
        self.keep = ~np.logical_and.reduce([column.blank for column in self.columns])
        self.column_problems: list[CsvProblem] = []
        self.offenders: list[_Offenders] = []

    def row_number(self, position: int) -> int:
        return self.first_row + position

    def run(self) -> pd.DataFrame:
        header = [column.name for column in self.columns]
        if len(header) == 1 and (separator := _other_separator(header[0])):
            message = f"the values are separated by {separator!r}; {_SAVE_AS}"
            raise _fatal(message, row=self.first_row - 1)
        known = self._known_columns()
        if not self.keep.any():
            self.column_problems.append(
                CsvProblem(None, None, "the file has no responses below the header")
            )
        self._check_unnamed()

        frame: dict[str, np.ndarray] = {}
        if TEAM in known:
            frame[TEAM] = self._team(known[TEAM])
        if RESPONDENT in known:
            frame[RESPONDENT] = self._respondent(known[RESPONDENT])
        for item_id in self.instrument.item_ids:
            if item_id in known:
                frame[item_id] = self._item(known[item_id], self.instrument.scale_for(item_id))
        for question in self.instrument.context:
            if question.id in known:
                frame[question.id] = self._context(known[question.id], question)

        problems = self._problems()
        if problems:
            raise ResponseCsvError(problems)
        return pd.DataFrame({name: values[self.keep] for name, values in frame.items()})

    # ---- header

    def _known_columns(self) -> dict[str, _Column]:
        """The file's recognised columns by canonical name; reports the others."""
        known = {TEAM: TEAM, RESPONDENT: RESPONDENT}
        known.update({item_id.casefold(): item_id for item_id in self.instrument.item_ids})
        known.update({question.id.casefold(): question.id for question in self.instrument.context})
        found: dict[str, _Column] = {}
        for column in self.columns:
            if not column.name:
                continue
            canonical = known.get(column.name.casefold())
            if canonical is None:
                message = self._unknown(column.name, known)
                self.column_problems.append(CsvProblem(None, column.name, message))
            elif canonical in found:
                first = found[canonical].index + 1
                message = f"appears twice (columns {first} and {column.index + 1})"
                self.column_problems.append(CsvProblem(None, column.name, message))
            else:
                found[canonical] = column
        if TEAM not in found:
            message = "the file needs a team column naming each response's team"
            self.column_problems.append(CsvProblem(None, TEAM, message))
        missing = [item_id for item_id in self.instrument.item_ids if item_id not in found]
        if missing:
            listed = ", ".join(missing[:_SHOWN_MISSING])
            if len(missing) > _SHOWN_MISSING:
                listed += f" and {len(missing) - _SHOWN_MISSING} more"
            plural = "s" if len(missing) > 1 else ""
            message = (
                f"missing item column{plural} {listed}; every item needs a column "
                "(leave cells blank for unanswered items)"
            )
            self.column_problems.append(CsvProblem(None, None, message))
        return found

    def _unknown(self, name: str, known: dict[str, str]) -> str:
        what = f"not an item or context question of {self.instrument.id} v{self.instrument.version}"
        close = difflib.get_close_matches(name.casefold(), known, n=1, cutoff=0.6)
        return f"{what} (did you mean {known[close[0]]}?)" if close else what

    def _check_unnamed(self) -> None:
        for column in self.columns:
            filled = np.flatnonzero(~column.blank & self.keep)
            if not column.name and filled.size:
                message = f"has a value in column {column.index + 1}, which has no header"
                self.column_problems.append(
                    CsvProblem(self.row_number(int(filled[0])), None, message)
                )

    # ---- cells

    def _flag(self, column: _Column, bad: np.ndarray, describe: Callable[[int], str]) -> None:
        positions = np.flatnonzero(bad & self.keep)
        if positions.size:
            self.offenders.append(_Offenders(column, positions, describe))

    def _team(self, column: _Column) -> np.ndarray:
        self._flag(column, column.blank, lambda _: "the team is missing")
        return column.cells

    def _respondent(self, column: _Column) -> np.ndarray:
        ids = np.asarray(pd.factorize(column.values)[0])[column.codes]
        labelled = ~column.blank & self.keep
        ids = np.where(labelled, ids, -1)
        repeated = labelled & pd.Series(ids).duplicated().to_numpy()

        def describe(position: int) -> str:
            first = int(np.flatnonzero(ids == ids[position])[0])
            value = _show(column.values[column.codes[position]])
            return f"{value} is also in row {self.row_number(first)}; respondent ids must be unique"

        self._flag(column, repeated, describe)
        return np.where(column.blank, None, column.cells)

    def _item(self, column: _Column, scale: ResponseScale) -> np.ndarray:
        parsed = [_item_value(text, scale) for text in column.values]
        numbers = np.array([number for number, _ in parsed], dtype=float)
        invalid = np.array([problem is not None for _, problem in parsed], dtype=bool)

        def describe(position: int) -> str:
            return _item_value(column.values[column.codes[position]], scale)[1] or ""

        self._flag(column, invalid[column.codes], describe)
        return numbers[column.codes]

    def _context(self, column: _Column, question: ContextQuestion) -> np.ndarray:
        options = {option.strip().casefold(): option for option in question.options}
        canonical = np.array([options.get(text.casefold()) for text in column.values], dtype=object)
        invalid = np.array(
            [
                text != "" and option is None
                for text, option in zip(column.values, canonical, strict=True)
            ],
            dtype=bool,
        )

        def describe(position: int) -> str:
            value = _show(column.values[column.codes[position]])
            return f"{value} is not an option; choose one of {', '.join(question.options)}"

        self._flag(column, invalid[column.codes], describe)
        return canonical[column.codes]

    # ---- report

    def _problems(self) -> list[CsvProblem]:
        """Column problems, then cell problems by row and column, up to the limit."""
        problems = self.column_problems[: self.limit]
        hidden = len(self.column_problems) - len(problems)
        room = self.limit - len(problems)
        if self.offenders:
            positions = np.concatenate([o.positions for o in self.offenders])
            owners = np.concatenate(
                [np.full(o.positions.size, i) for i, o in enumerate(self.offenders)]
            )
            places = np.array([o.column.index for o in self.offenders])[owners]
            hidden += max(positions.size - room, 0)
            for k in np.lexsort((places, positions))[: max(room, 0)]:
                culprit, position = self.offenders[int(owners[k])], int(positions[k])
                problems.append(
                    CsvProblem(
                        self.row_number(position), culprit.column.name, culprit.describe(position)
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
    """``;`` or tab when a one-column header holds them (a file saved with another separator)."""
    return next((separator for separator in (";", "\t") if separator in header), None)


def _show(value: str, limit: int = 40) -> str:
    """A cell value quoted for a message, shortened when long."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")
