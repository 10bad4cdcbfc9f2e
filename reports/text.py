"""Text helpers: measuring and wrapping text, and plain-language phrasing.

Numbers and counts about a team are rounded and worded by :mod:`analytics.coarsen`
(one decimal, halves away from zero; counts of members in words where an exact
count could point at someone), the same rules the dashboard and the published
JSON follow.

Wrapping measures words with the same font metrics matplotlib uses to draw
them (:class:`matplotlib.textpath.TextToPath`), so a line wrapped to a width in
points fits that width on the page. Formatting helpers never return ``"nan"``
or ``"None"``: a missing value becomes :data:`MISSING`.

Examples
--------
>>> wrap("one two three four", width=40.0, size=9.5)
['one two', 'three', 'four']
>>> percent(0.734)
'73%'
"""

from __future__ import annotations

import math
from datetime import date
from functools import lru_cache

from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from analytics.coarsen import count_phrase, display_round, format_percent, format_score
from analytics.language import current_language
from reports.i18n import _
from reports.style import FONT_FAMILY

__all__ = [
    "MISSING",
    "ellipsize",
    "escape_mathtext",
    "fit_lines",
    "level_phrase",
    "long_date",
    "lower_first",
    "members",
    "missing",
    "number",
    "ordinal",
    "percent",
    "percentile_phrase",
    "text_width",
    "whole",
    "wrap",
]

#: What a missing number is shown as (English; :func:`missing` gives it in the language).
MISSING = "not available"


def missing() -> str:
    """:data:`MISSING` in the language being rendered."""
    return _(MISSING)


_TEXT_TO_PATH = TextToPath()


@lru_cache(maxsize=16384)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of a single line of text in points.

    Parameters
    ----------
    text : str
        The text (no newlines).
    size : float
        Font size in points.
    bold : bool, default False
        Bold weight.

    Examples
    --------
    >>> text_width("ab", 10.0) > text_width("a", 10.0) > 0
    True
    """
    if not text:
        return 0.0
    prop = FontProperties(family=FONT_FAMILY, size=size, weight="bold" if bold else "normal")
    width, _height, _descent = _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """Break text into lines no wider than ``width`` points.

    Paragraph breaks (``"\\n"``) are kept; a single word wider than the line
    is broken by characters so nothing can overflow.

    Parameters
    ----------
    text : str
        The text to wrap.
    width : float
        Available width in points.
    size : float
        Font size in points.
    bold : bool, default False
        Bold weight.

    Returns
    -------
    list of str
        The lines; ``[""]`` for empty text.

    Examples
    --------
    >>> wrap("a b", width=500.0, size=10.0)
    ['a b']
    """
    lines: list[str] = []
    space = text_width(" ", size, bold)
    for paragraph in text.split("\n"):
        current: list[str] = []
        used = 0.0
        for word in paragraph.split():
            for piece in _split_long_word(word, width, size, bold):
                piece_width = text_width(piece, size, bold)
                extra = piece_width + (space if current else 0.0)
                if current and used + extra > width:
                    lines.append(" ".join(current))
                    current, used = [piece], piece_width
                else:
                    current.append(piece)
                    used += extra
        lines.append(" ".join(current))
    return lines


def _split_long_word(word: str, width: float, size: float, bold: bool) -> list[str]:
    if text_width(word, size, bold) <= width:
        return [word]
    pieces, current = [], ""
    for char in word:
        if current and text_width(current + char, size, bold) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    pieces.append(current)
    return pieces


def escape_mathtext(text: str) -> str:
    """Escape dollar signs so matplotlib draws them literally instead of as math.

    Examples
    --------
    >>> escape_mathtext("$5 deal")
    '\\\\$5 deal'
    """
    return text.replace("$", r"\$")


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def number(value: float | None, digits: int = 1) -> str:
    """A number with fixed decimals (:func:`analytics.coarsen.format_score`), or :data:`MISSING`.

    Examples
    --------
    >>> number(3.456), number(2.45), number(0.705, 2), number(None), number(float("nan"))
    ('3.5', '2.5', '0.71', 'not available', 'not available')
    """
    if not _finite(value):
        return missing()
    return format_score(value, digits)


def whole(value: float) -> int:
    """A figure rounded to a whole number, halves away from zero (for percentiles).

    Examples
    --------
    >>> whole(72.5), whole(72.49)
    (73, 72)
    """
    return int(display_round(value, 0))


def percent(share: float | None) -> str:
    """A share (0-1) as a whole percentage, halves up, or :data:`MISSING`.

    Examples
    --------
    >>> percent(0.5), percent(0.875), percent(None)
    ('50%', '88%', 'not available')
    """
    if not _finite(share):
        return missing()
    return format_percent(share)


def ordinal(value: int) -> str:
    """English ordinal of a whole number.

    Examples
    --------
    >>> [ordinal(v) for v in (1, 2, 3, 4, 11, 12, 13, 21, 73)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '73rd']
    """
    if current_language() == "fr":
        return "1er" if value == 1 else f"{value}e"
    teens = 10 <= value % 100 <= 20
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"


def members(count: int | None, total: int | None) -> str:
    """Members counted, worded by :func:`analytics.coarsen.count_phrase`, or :data:`MISSING`.

    Examples
    --------
    >>> members(7, 12), members(7, 9), members(1, 12)
    ('7 of 12 members', 'most members', 'a few members')
    """
    if count is None or total is None:
        return missing()
    return count_phrase(count, total)


def percentile_phrase(percentile: float | None) -> str:
    """Where a team average sits among the organisation's individual scores.

    Examples
    --------
    >>> percentile_phrase(81.6)
    'higher than about 82% of the scores in your organization'
    >>> percentile_phrase(None)
    'not available'
    """
    if not _finite(percentile):
        return missing()
    return _(
        "higher than about %(percent)s of the scores in your organization",
        percent=format_percent(whole(percentile) / 100),
    )


def level_phrase(level: str | None) -> str:
    """Plain-language reading of a pillar level.

    Examples
    --------
    >>> level_phrase("at risk")
    'at risk: work on this first'
    """
    return {
        "at risk": "at risk: work on this first",
        "mixed": "mixed: some room to improve",
        "strong": "strong: keep doing what works",
    }.get(level or "", "not rated (too few answers)")


def ellipsize(text: str, width: float, size: float, bold: bool = False) -> str:
    """Shorten text with an ellipsis so that it fits ``width`` points on one line.

    Examples
    --------
    >>> ellipsize("short", 100.0, 8.0)
    'short'
    >>> ellipsize("a rather long team name indeed", 60.0, 8.0).endswith("\u2026")
    True
    """
    text = " ".join(text.split())
    if text_width(text, size, bold) <= width:
        return text
    while text and text_width(text + "\u2026", size, bold) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def lower_first(name: str) -> str:
    """Lower-case the first letter unless the word is an acronym.

    Examples
    --------
    >>> lower_first("Deadline pressure"), lower_first("MESOs")
    ('deadline pressure', 'MESOs')
    """
    if name[:1].isupper() and not name[1:2].isupper():
        return name[0].lower() + name[1:]
    return name


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MOIS = (
    "janvier",
    "f\u00e9vrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "ao\u00fbt",
    "septembre",
    "octobre",
    "novembre",
    "d\u00e9cembre",
)


def long_date(value: date) -> str:
    """A date as "1 May 2025", independent of the locale.

    Examples
    --------
    >>> long_date(date(2025, 5, 1))
    '1 May 2025'
    """
    if current_language() == "fr":
        day = "1er" if value.day == 1 else str(value.day)
        return f"{day} {_MOIS[value.month - 1]} {value.year}"
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def fit_lines(
    text: str, width: float, sizes: tuple[float, ...], max_lines: int, bold: bool = False
) -> tuple[float, list[str]]:
    """Wrap text at the largest size that needs at most ``max_lines`` lines.

    At the smallest size the last line is shortened with an ellipsis if the
    text still needs more lines, so the result always fits its box.

    Parameters
    ----------
    text : str
    width : float
        Line width in points.
    sizes : tuple of float
        Font sizes to try, largest first.
    max_lines : int
    bold : bool, default False

    Returns
    -------
    (float, list of str)
        The size chosen and the lines.

    Examples
    --------
    >>> size, lines = fit_lines("a b c d e f g h", 30.0, (20.0, 10.0), 2)
    >>> size, len(lines) <= 2
    (10.0, True)
    """
    for size in sizes:
        lines = wrap(text, width, size, bold)
        if len(lines) <= max_lines:
            return size, lines
    size = sizes[-1]
    lines = wrap(text, width, size, bold)
    rest = " ".join(lines[max_lines - 1 :])
    return size, [*lines[: max_lines - 1], ellipsize(rest, width, size, bold)]
