"""Input checks shared by every view: ids, dates, NUL bytes and control characters.

Whatever a client sends, a bad value gets a 4xx with a message, never a 500:

* ``<int:...>`` URL parts are limited to what a database id can hold (the
  id columns are ``INTEGER``: 32-bit signed on PostgreSQL); a larger number
  matches no route, so 404.
* A NUL byte anywhere in the query string or the posted form is refused with
  a 400 before any view runs (PostgreSQL cannot store one in text).
* Dates read from query strings and forms must lie in :data:`FIRST_DAY` ..
  :data:`LAST_DAY`, so adding a day never overflows.
* Single-line text fields (names, emails) refuse control characters.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter
from wtforms import Field, Form
from wtforms.validators import StopValidation, ValidationError

MAX_ID = 2**31 - 1  # the largest INTEGER on PostgreSQL
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)
DATE_RANGE_TEXT = f"between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"


class InputError(BadRequest):
    """A 400 whose description is shown to the user as the page's message."""


class IdConverter(IntegerConverter):
    """``<int:...>`` limited to 0 .. :data:`MAX_ID`, the range of a database id."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def install(app: Flask) -> None:
    """Use :class:`IdConverter` for ``<int:...>`` and refuse NUL bytes in every request.

    Call before any blueprint is registered: a rule picks its converters when added.
    """
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def _refuse_nul() -> None:
        if _has_nul(request.args.items(multi=True)) or (
            request.method in ("POST", "PUT", "PATCH") and _has_nul(request.form.items(multi=True))
        ):
            raise InputError(
                "What was sent contains a NUL character (a zero byte), which cannot be stored. "
                "Remove it and send the form again."
            )


def _has_nul(pairs: Any) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def date_arg(name: str) -> datetime | None:
    """The query argument ``name`` as midnight UTC of a ``YYYY-MM-DD`` day; None when absent.

    Raises :class:`InputError` (400 with a message) for anything else.
    """
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"{name}: {raw[:40]!r} is not a date; use the form 2025-03-14.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"{name}: use a date {DATE_RANGE_TEXT}.")
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


class DateInRange:
    """WTForms validator: a date between :data:`FIRST_DAY` and :data:`LAST_DAY`."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is not None and not FIRST_DAY <= field.data <= LAST_DAY:
            raise StopValidation(f"Use a date {DATE_RANGE_TEXT}.")


class SingleLine:
    """WTForms validator: no control characters (line breaks, tabs, NUL and the like)."""

    def __call__(self, form: Form, field: Field) -> None:
        control = first_control_character(field.data or "")
        if control is not None:
            raise ValidationError(
                f"Remove the control character (U+{ord(control):04X}); "
                "use letters, digits, spaces and punctuation only."
            )


def first_control_character(text: str) -> str | None:
    """The first control character (Unicode category Cc) in ``text``, if any."""
    return next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)
