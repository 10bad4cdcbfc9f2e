"""Languages of the PDF reports: gettext catalogs of their own, with no Flask.

``reports`` never imports ``survey`` or Flask, so it cannot use Flask-Babel's
per-request language. A report is rendered in one language given explicitly
(the web page or the command passes it): :func:`report_texts` returns the
:class:`ReportTexts` of that language, whose ``gettext``/``ngettext`` read the
``reports`` domain of ``reports/translations/<lang>/LC_MESSAGES/reports.mo``
(:class:`babel.support.Translations`) and whose number and date formats are the
locale's (a decimal comma in French).

Numbers are rounded once, by :mod:`analytics.coarsen` (halves away from zero),
and only then written the locale's way, so a French report and an English one
never disagree on a figure: ``3.25`` is ``3.3`` in English and ``3,3`` in French.

Strings are marked for extraction where they are used (``texts.gettext("...")``)
or, for module-level constants, with :func:`N_` and translated when rendered.
English needs no catalog: the message ids are the English text.

Examples
--------
>>> english = report_texts("en")
>>> english.gettext("Team report"), english.score(3.25), english.percent(0.875)
('Team report', '3.3', '88%')
>>> english.ngettext("%(num)d member", "%(num)d members", 1)
'1 member'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.support import NullTranslations, Translations

from analytics.coarsen import MISSING_SCORE, display_round_or_none, format_score

DEFAULT_LANGUAGE = "en"
DOMAIN = "reports"
CATALOGS = Path(__file__).with_name("translations")


def N_(message: str) -> str:
    """Mark a module-level string for extraction; translate it when rendering."""
    return message


def available_languages(directory: Path = CATALOGS) -> tuple[str, ...]:
    """English and every language with a compiled ``reports`` catalog, English first."""
    found = []
    if directory.is_dir():
        for entry in sorted(os.listdir(directory)):
            if (directory / entry / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
                found.append(entry)
    return (DEFAULT_LANGUAGE, *(lang for lang in found if lang != DEFAULT_LANGUAGE))


@dataclass(frozen=True)
class ReportTexts:
    """The words, numbers and dates of a report in one language."""

    language: str
    translations: NullTranslations

    @property
    def locale(self) -> Locale:
        """The babel locale of :attr:`language`."""
        return Locale.parse(self.language, sep="-")

    def gettext(self, message: str, **values: Any) -> str:
        """``message`` in this language, ``%(name)s`` placeholders filled from ``values``."""
        text = self.translations.ugettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, num: int, **values: Any) -> str:
        """The plural form for ``num`` in this language; ``%(num)d`` is ``num``."""
        values.setdefault("num", num)
        return self.translations.ungettext(singular, plural, num) % values

    def score(self, value: float | None, digits: int = 1) -> str:
        """A figure rounded by :func:`analytics.coarsen.format_score`, written the locale's way."""
        text = format_score(value, digits)
        if text == MISSING_SCORE:
            return text
        symbols = self.locale.number_symbols.get("latn", self.locale.number_symbols)
        return text.replace("-", symbols.get("minusSign", "-")).replace(
            ".", symbols.get("decimal", ".")
        )

    def percent(self, share: float | None) -> str:
        """A share (0-1) as a whole percentage (halves away from zero), the locale's way."""
        whole = display_round_or_none(None if share is None else 100 * float(share), 0)
        if whole is None:
            return MISSING_SCORE
        pattern = self.locale.percent_formats[None].pattern  # "#,##0%" or "#,##0 %"
        sign = pattern[pattern.rindex("0") + 1 :]
        return f"{int(whole)}{sign}"

    def long_date(self, day: date) -> str:
        """A date written out in this language ("6 December 2026", "6 décembre 2026")."""
        return format_date(day, format="long", locale=self.locale)


def report_texts(language: str | None = None, directory: Path = CATALOGS) -> ReportTexts:
    """The texts of a report in ``language`` (English when None).

    Raises
    ------
    LookupError
        When there is no ``reports`` catalog for ``language``: a report is never
        printed half in one language and half in another.
    """
    return _load(language or DEFAULT_LANGUAGE, directory)


@lru_cache(maxsize=16)
def _load(language: str, directory: Path) -> ReportTexts:
    if language == DEFAULT_LANGUAGE:
        return ReportTexts(language, NullTranslations())
    if language not in available_languages(directory):
        shown = ", ".join(available_languages(directory))
        raise LookupError(f"no report catalog for language {language!r} (available: {shown})")
    found = Translations.load(str(directory), [language], DOMAIN)
    return ReportTexts(language, found)


# --- the language being rendered (analytics.language.use_language) ---------------------


def _(message: str, **values: Any) -> str:
    """A report string in the language being rendered, ``%(name)s`` filled from ``values``
    (a literal percent sign is written ``%%``, with or without values).

    The language is the one set with :func:`analytics.language.use_language` by the
    renderer (:func:`reports.team_report.render_team_report` sets the context's).
    """
    from analytics.language import current_language

    # Always %-formatted, so a literal percent sign is "%%" in every message.
    return report_texts(current_language()).translations.ugettext(message) % values


def framework_text(text: str) -> str:
    """A text of the English advice framework in the language being rendered.

    For framework text that reached the report already written out in English;
    the translation is ``analytics/data/framework.<language>.yaml``.
    """
    from analytics.framework_i18n import translated_text
    from analytics.language import current_language

    language = current_language()
    return text if language == DEFAULT_LANGUAGE else translated_text(text, language) or text


def catalog_path(language: str, directory: Path = CATALOGS) -> Path:
    """The ``.po`` source of a language's ``reports`` catalog (its ``.mo`` lies beside it)."""
    return directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"
