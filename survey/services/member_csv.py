"""Reading an uploaded CSV file of team members.

Pure helper: no Flask and no database. The caller passes the organization's
team names and the e-mail addresses that are already members; the result holds
the rows that passed every check and every problem found, each with its row
and column, so an admin can fix the whole file in one go.

The file needs a header row naming the columns ``name``, ``email`` and
``team`` (any order and case), and may have a ``move`` column. Spreadsheet
quirks are tolerated: a UTF-8 byte order mark, ``;`` or tab separators, blank
lines and trailing empty cells.

A row whose email is already a member of the organization is refused, unless
it asks for a move (``yes`` in its ``move`` cell, or ``move=True`` for the
whole file): then it moves that member to the row's team (``action`` "move"),
or changes nothing when they are already there ("unchanged").
"""

from __future__ import annotations

import csv
import difflib
import io
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

COLUMNS = ("name", "email", "team")
OPTIONAL_COLUMNS = ("move",)
MOVE_YES = frozenset({"yes", "y", "true", "1", "x", "move"})
MOVE_NO = frozenset({"no", "n", "false", "0"})
ACTIONS = ("add", "move", "unchanged")
MAX_ERRORS = 100
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 320
TEAMS_LISTED = 5

_DELIMITERS = (",", ";", "\t")
_NOT_IN_EMAIL = frozenset('<>()[],;:"\\')
_SAVE_AS = 'save it as "CSV UTF-8" in your spreadsheet program and upload it again'
_NOT_CSV_SIGNATURES = {
    b"PK\x03\x04": "an Excel workbook (.xlsx) or another zip archive",
    b"\xd0\xcf\x11\xe0": "an old-style Excel workbook (.xls)",
    b"%PDF": "a PDF document",
}


@dataclass(frozen=True)
class MemberRow:
    """One member to import: ``line`` is the file row it came from (header = 1).

    ``action`` is "add" for a new member, "move" for a member of ``from_team``
    who goes to ``team``, and "unchanged" for a member already in ``team``.
    """

    line: int
    name: str | None
    email: str | None
    team: str
    action: str = "add"
    from_team: str | None = None


@dataclass(frozen=True)
class RowError:
    """One problem in the file; ``line`` and ``column`` are None when not tied to a cell."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"row {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class MemberCsvResult:
    """Valid rows and problems; import ``rows`` only when :attr:`ok`."""

    rows: tuple[MemberRow, ...]
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        """True when the file has no problems at all."""
        return not self.errors


def parse_member_csv(
    data: bytes,
    *,
    known_teams: Collection[str],
    existing_emails: Collection[str] | Mapping[str, str] = (),
    move: bool = False,
    max_bytes: int = 2_000_000,
    max_rows: int = 5_000,
) -> MemberCsvResult:
    """Parse and check an uploaded member list.

    Parameters
    ----------
    data : bytes
        The uploaded file, UTF-8 encoded (a byte order mark is accepted).
    known_teams : collection of str
        The organization's team names. Teams in the file are matched
        case-insensitively, ignoring surrounding spaces, and returned in the
        spelling given here.
    existing_emails : collection of str, or mapping of str to str, optional
        Addresses that are already members (compared case-insensitively); a
        mapping gives each one's team, which makes moves possible.
    move : bool, optional
        Treat every row of an existing member as a move (a ``move`` cell of
        ``no`` still refuses that row).
    max_bytes, max_rows : int, optional
        Upload limits.

    Returns
    -------
    MemberCsvResult
        ``rows`` holds the rows that passed every check, in file order, with
        emails in lower case; ``errors`` holds every problem (at most
        ``MAX_ERRORS`` plus a final "and N more problems"). Never raises for
        bad input.

    Examples
    --------
    >>> result = parse_member_csv(
    ...     b"Name,Email,Team\\nAda,Ada@Example.org,sales\\n", known_teams=["Sales"]
    ... )
    >>> result.ok, result.rows[0].email, result.rows[0].team
    (True, 'ada@example.org', 'Sales')
    >>> str(parse_member_csv(b"name,email,team\\n,bob@,Sales\\n", known_teams=["Sales"]).errors[0])
    "row 2, column email: 'bob@' is not an email address"
    """
    problems = _Problems(MAX_ERRORS)
    rows: list[MemberRow] = []
    try:
        text = _decode(data, max_bytes)
        existing = {
            email.strip().lower(): (
                existing_emails[email] if isinstance(existing_emails, Mapping) else None
            )
            for email in existing_emails
        }
        _read_members(text, _Teams(known_teams), existing, move, max_rows, rows, problems)
    except _Fatal as fatal:
        problems.add(fatal.line, None, fatal.message)
    return MemberCsvResult(rows=tuple(rows), errors=problems.collected())


class _Fatal(Exception):
    """A problem after which the rest of the file cannot be read."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Problems:
    """Collects errors up to a limit and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[RowError] = []
        self.dropped = 0

    def add(
        self, line: int | None, column: str | None, message: str, *, first: bool = False
    ) -> None:
        error = RowError(line, column, message)
        if first:
            self.items.insert(0, error)
        elif len(self.items) < self.limit:
            self.items.append(error)
        else:
            self.dropped += 1
        if len(self.items) > self.limit:
            self.items.pop()
            self.dropped += 1

    def collected(self) -> tuple[RowError, ...]:
        if not self.dropped:
            return tuple(self.items)
        noun = "problem" if self.dropped == 1 else "problems"
        return (*self.items, RowError(None, None, f"and {self.dropped} more {noun}"))


class _Teams:
    """Case-insensitive lookup of known team names."""

    def __init__(self, known: Collection[str]) -> None:
        self.by_key = {_team_key(team): team for team in known}
        self.listed = sorted(self.by_key.values(), key=str.casefold)

    def canonical(self, team: str) -> str | None:
        return self.by_key.get(_team_key(team))

    def unknown_message(self, team: str) -> str:
        if not self.by_key:
            return f"{_show(team)} is not a team here: there are no teams yet, create them first"
        close = difflib.get_close_matches(_team_key(team), self.by_key, n=1, cutoff=0.6)
        hint = f" - did you mean {self.by_key[close[0]]!r}?" if close else ""
        listing = ", ".join(self.listed[:TEAMS_LISTED])
        if len(self.listed) > TEAMS_LISTED:
            listing += f" and {len(self.listed) - TEAMS_LISTED} more"
        return f"{_show(team)} is not a known team{hint} (teams: {listing})"


def _team_key(team: str) -> str:
    return team.strip().casefold()


def _decode(data: bytes, max_bytes: int) -> str:
    """The file as text, or a :class:`_Fatal` saying why it cannot be read."""
    if len(data) > max_bytes:
        size, limit = _size(len(data)), _size(max_bytes)
        if size == limit:
            size, limit = f"{len(data):,} bytes", f"{max_bytes:,} bytes"
        raise _Fatal(None, f"The file is {size}; the limit is {limit}.")
    for signature, kind in _NOT_CSV_SIGNATURES.items():
        if data.startswith(signature):
            raise _Fatal(None, f"This looks like {kind}, not a CSV file; {_SAVE_AS}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start]
        raise _Fatal(line, f"byte 0x{bad:02x} is not UTF-8 text; {_SAVE_AS}.") from None
    if not text.strip(" \t\r\n,;"):
        raise _Fatal(None, "The file is empty: it needs a header row name,email,team and members.")
    return text


def _size(n_bytes: int) -> str:
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.1f} MB"
    if n_bytes >= 1_000:
        return f"{n_bytes / 1_000:.1f} kB"
    return f"{n_bytes} bytes"


def _read_members(
    text: str,
    teams: _Teams,
    existing: dict[str, str | None],
    move: bool,
    max_rows: int,
    rows: list[MemberRow],
    problems: _Problems,
) -> None:
    records = _records(text, _guess_delimiter(text), problems)
    header_line, header = next(((line, rec) for line, rec in records if not _blank(rec)), (0, []))
    if not header:
        raise _Fatal(None, "The file is empty: it needs a header row name,email,team and members.")
    position, unnamed = _check_header(header_line, header, problems)
    first_seen: dict[str, int] = {}
    flagged_unnamed: set[int] = set()
    count = 0
    for line, record in records:
        if _blank(record):
            continue
        count += 1
        if count > max_rows:
            continue
        for index in unnamed - flagged_unnamed:
            if index < len(record) and record[index].strip():
                flagged_unnamed.add(index)
                problems.add(line, None, f"has a value in column {index + 1}, which has no header")
        width = _width(record, len(header))
        if width != len(header):
            problems.add(line, None, f"has {width} values but the header has {len(header)} columns")
            continue
        cells = {column: record[index].strip() for column, index in position.items()}
        member = _check_row(line, cells, teams, existing, move, first_seen, problems)
        if member is not None:
            rows.append(member)
    if count > max_rows:
        problems.add(
            None,
            None,
            f"The file has {count:,} members; the limit is {max_rows:,} per upload. "
            "Split it into smaller files.",
            first=True,
        )
    elif count == 0:
        problems.add(None, None, "The file has a header row but no members below it.")


def _records(text: str, delimiter: str, problems: _Problems) -> Iterator[tuple[int, list[str]]]:
    """``(first line, cells)`` for each CSV record; stops at a CSV syntax error."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.add(
                line, None, f"cannot be read as CSV ({exc}); the rest of the file is skipped"
            )
            return
        yield line, record
        line = reader.line_num + 1


def _guess_delimiter(text: str) -> str:
    """The separator under which the first non-blank line names the most known columns."""
    first = next((line for line in text.splitlines() if line.strip()), "")

    def known(delimiter: str) -> int:
        cells = next(csv.reader([first], delimiter=delimiter), [])
        return len({cell.strip().lower() for cell in cells} & set(COLUMNS))

    return max(_DELIMITERS, key=known)  # ties keep the first, the comma


def _blank(record: list[str]) -> bool:
    return not any(cell.strip() for cell in record)


def _width(record: list[str], header_width: int) -> int:
    """Number of values, not counting empty cells past the header's width."""
    width = len(record)
    while width > header_width and not record[width - 1].strip():
        width -= 1
    return width


def _check_header(
    line: int, header: list[str], problems: _Problems
) -> tuple[dict[str, int], set[int]]:
    """Column positions by name, and the positions of unnamed columns."""
    position: dict[str, int] = {}
    unnamed: set[int] = set()
    unknown: list[str] = []
    for index, cell in enumerate(header):
        name = cell.strip().lstrip("\ufeff").strip().lower()
        if not name:
            unnamed.add(index)
        elif name in position:
            raise _Fatal(line, f"the column {name!r} appears twice in the header")
        elif name in COLUMNS or name in OPTIONAL_COLUMNS:
            position[name] = index
        else:
            unknown.append(cell.strip())
    if not set(position) & set(COLUMNS):
        found = ", ".join(_show(cell.strip()) for cell in header[:5])
        raise _Fatal(
            line, f"the first row must be the header name,email,team (found {found} instead)"
        )
    missing = [name for name in COLUMNS if name not in position]
    if missing:
        raise _Fatal(
            line,
            f"the header has no {_join(missing)} column"
            f"{'s' if len(missing) > 1 else ''}; it needs name, email and team",
        )
    if unknown:
        names = ", ".join(_show(name) for name in unknown)
        plural = "s" if len(unknown) > 1 else ""
        problems.add(
            line,
            None,
            f"unexpected column{plural} {names}; only name, email, team and move are allowed",
        )
    return position, unnamed


def _check_row(
    line: int,
    cells: dict[str, str],
    teams: _Teams,
    existing: dict[str, str | None],
    move: bool,
    first_seen: dict[str, int],
    problems: _Problems,
) -> MemberRow | None:
    """The member on one row, or None after reporting its problems."""
    found: list[tuple[str | None, str]] = []
    clean = {}
    for column, value in cells.items():
        control = next((ch for ch in value if unicodedata.category(ch) == "Cc"), None)
        if control is None:
            clean[column] = value
        else:
            found.append((column, f"contains a control character (U+{ord(control):04X})"))
    name, email, team = clean.get("name", ""), clean.get("email", "").lower(), clean.get("team")

    wants_move = move
    move_cell = clean.get("move", "").strip().lower()
    if move_cell in MOVE_YES:
        wants_move = True
    elif move_cell in MOVE_NO:
        wants_move = False
    elif move_cell:
        found.append(
            ("move", f"{_show(cells['move'])}: write yes to move the member, or leave it empty")
        )

    if len(name) > MAX_NAME_LENGTH:
        found.append(
            ("name", f"the name has {len(name)} characters; the limit is {MAX_NAME_LENGTH}")
        )
    if not cells["name"] and not cells["email"]:
        found.append((None, "has neither a name nor an email address"))
    if email:
        if not _is_email(email):
            found.append(("email", f"{_show(cells['email'])} is not an email address"))
        elif email in existing and not wants_move:
            current = existing[email]
            where = f" of {current}" if current else ""
            hint = "; to move them, write yes in a move column" if current else ""
            found.append(("email", f"{email!r} is already a member{where}{hint}"))
        elif email in first_seen:
            twice = f"{email!r} is listed twice, in rows {first_seen[email]} and {line}"
            found.append(("email", twice))
        else:
            first_seen[email] = line
    canonical = None
    if team == "":
        found.append(("team", "the team is missing"))
    elif team is not None:
        canonical = teams.canonical(team)
        if canonical is None:
            found.append(("team", teams.unknown_message(team)))

    for column, message in found:
        problems.add(line, column, message)
    if found or canonical is None:
        return None
    action, from_team = "add", None
    if email and email in existing:
        from_team = existing[email]
        same = from_team is not None and _team_key(from_team) == _team_key(canonical)
        action = "unchanged" if same else "move"
    return MemberRow(line, name or None, email or None, canonical, action, from_team)


def _is_email(value: str) -> bool:
    """A deliberately simple sanity check, not RFC 5322."""
    if len(value) > MAX_EMAIL_LENGTH or value.count("@") != 1:
        return False
    if any(ch.isspace() or ch in _NOT_IN_EMAIL for ch in value):
        return False
    local, domain = value.split("@")
    labels = domain.split(".")
    return bool(local) and len(labels) >= 2 and all(labels)


def _show(value: str, limit: int = 60) -> str:
    """A value quoted for a message, shortened when long."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
