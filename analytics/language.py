"""The language results are worded in: which languages exist and which one is active.

A team report is worded in one language from its first line to its last: the
report's own sentences (:mod:`reports.i18n`), the framework's advice
(``analytics/data/framework.<language>.yaml``, :mod:`analytics.framework_i18n`),
the instrument's names (``translations`` in the instrument file) and the counts
and figures worded by :mod:`analytics.coarsen`. The renderer sets the language
once with :func:`use_language`; everything below reads :func:`current_language`,
so no helper needs a language argument threaded through it.

English is the default and the language every file is written in; French is
the second language shipped.

Examples
--------
>>> current_language()
'en'
>>> with use_language("fr"):
...     current_language()
'fr'
>>> current_language()
'en'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "check_language",
    "current_language",
    "use_language",
]

#: The languages results can be worded in, English (the source language) first.
LANGUAGES: tuple[str, ...] = ("en", "fr")

#: The language of the files themselves, and of anything not told otherwise.
DEFAULT_LANGUAGE = "en"

#: Each language's name in itself, for pickers ("Download in: English | Français").
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "fr": "Fran\u00e7ais"}

_CURRENT: ContextVar[str] = ContextVar("negoscope_language", default=DEFAULT_LANGUAGE)


def check_language(language: str | None) -> str:
    """The language code, checked against :data:`LANGUAGES` (``None`` is the default).

    Raises
    ------
    ValueError
        For a language that is not shipped, naming the ones that are.

    Examples
    --------
    >>> check_language("fr"), check_language(None)
    ('fr', 'en')
    >>> check_language("de")
    Traceback (most recent call last):
    ...
    ValueError: unknown language 'de'; use one of: en, fr
    """
    if language is None:
        return DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; use one of: {', '.join(LANGUAGES)}")
    return language


def current_language() -> str:
    """The language results are being worded in (English unless :func:`use_language` says)."""
    return _CURRENT.get()


@contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Word everything in ``language`` inside the block (checked by :func:`check_language`)."""
    token = _CURRENT.set(check_language(language))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)
