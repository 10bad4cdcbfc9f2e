"""Report languages: catalogs of their own (no Flask), one rounding rule in every language."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.numbers import format_percent
from hypothesis import given
from hypothesis import strategies as st

from analytics.coarsen import MISSING_SCORE
from reports.i18n import available_languages, report_texts


@pytest.fixture
def catalogs(tmp_path: Path) -> Path:
    """A French ``reports`` catalog with one message and one plural."""
    catalog = Catalog(locale="fr", domain="reports")
    catalog.add("Team report", "Rapport d’équipe")
    forms = ("%(num)d membre", "%(num)d de membres", "%(num)d membres")  # CLDR: one, many, other
    catalog.add(("%(num)d member", "%(num)d members"), forms)
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "reports.mo", "wb") as handle:
        write_mo(handle, catalog)
    return tmp_path


def test_english_needs_no_catalog():
    english = report_texts(None)
    assert english.gettext("Team report") == "Team report"
    assert english.ngettext("%(num)d member", "%(num)d members", 2) == "2 members"
    assert english.score(2.55) == "2.6" and english.score(None) == MISSING_SCORE
    assert english.percent(0.125) == "13%"
    assert english.long_date(date(2026, 12, 6)) == "December 6, 2026"


def test_a_catalog_gives_the_report_its_language(catalogs: Path):
    assert available_languages(catalogs) == ("en", "fr")
    french = report_texts("fr", catalogs)
    assert french.gettext("Team report") == "Rapport d’équipe"
    assert french.ngettext("%(num)d member", "%(num)d members", 1) == "1 membre"
    assert french.ngettext("%(num)d member", "%(num)d members", 3) == "3 membres"
    assert french.gettext("Not in the catalog") == "Not in the catalog"
    assert french.score(3.25) == "3,3" and french.score(-0.05) == "-0,1"
    assert french.percent(0.875) == format_percent(0.88, locale="fr")
    assert french.long_date(date(2026, 12, 6)) == "6 décembre 2026"


def test_a_language_without_a_catalog_is_refused(catalogs: Path):
    with pytest.raises(LookupError, match=r"'de'.*available: en, fr"):
        report_texts("de", catalogs)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(0, 3))
def test_every_language_writes_the_same_rounded_figure(value: float, digits: int):
    english = report_texts("en").score(value, digits)
    french = report_texts("fr", _french_catalogs()).score(value, digits)
    assert french == english.replace(".", ",")


def test_strings_are_found_where_reports_use_them():
    source = b'title = N_("Cover")\ntexts.gettext("Plays to practise")\n'
    found = [m[2] for m in extract_python(io.BytesIO(source), ["N_", "gettext"], [], {})]
    assert found == ["Cover", "Plays to practise"]


def test_report_languages_load_without_flask():
    code = "import sys, reports.i18n; sys.exit('flask' in sys.modules or 'survey' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


_CACHE: dict[str, Path] = {}


def _french_catalogs() -> Path:
    """A catalog folder for the property test (hypothesis cannot take pytest fixtures)."""
    if "fr" not in _CACHE:
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="report-i18n-"))
        (root / "fr" / "LC_MESSAGES").mkdir(parents=True)
        with open(root / "fr" / "LC_MESSAGES" / "reports.mo", "wb") as handle:
            write_mo(handle, Catalog(locale="fr", domain="reports"))
        _CACHE["fr"] = root
    return _CACHE["fr"]
