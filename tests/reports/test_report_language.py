"""The team report and the deal worksheet in French (#17): complete, and the same figures.

"Complete" is checked three ways: every report string has a French translation in
the catalog (extracted from the code with Babel, as a translator's tool would);
every framework text has one in ``framework.fr.yaml``; and the French PDF, with
every optional section, contains no sentence fragment of the English PDF and none
of the English words that French never uses. The figures are compared number by
number with the English report of the same context.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections import Counter
from pathlib import Path

import pypdf
import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from analytics.advice import load_advice
from analytics.counterparty import rate_counterparty
from analytics.framework_i18n import framework_document, overlay_problems, text_leaves
from analytics.gap import analyze_gap
from analytics.kit_schema import load_kit
from analytics.language import use_language
from analytics.session_kit import build_agenda, build_worksheet, commitment_followup
from analytics.trend import TrendPoint, team_trend
from reports.context import CounterpartyContext, TeamReportContext
from reports.i18n import CATALOGS, catalog_path
from reports.team_report import render_team_report
from reports.worksheet import render_deal_worksheet
from tests.reports.conftest import REPORT_DATE, make_context
from tests.reports.kit_data import (
    COMMITMENTS,
    counterparty_answers,
    counterparty_instrument,
    earlier_rounds,
    team_scores,
)

ROOT = Path(__file__).resolve().parents[2]

#: Names and citations that stay as they are in every language (the fixture's own
#: names, the product's, the authors' and the statistics').
PROPER = (
    "Acme Industrial Components",
    "Borealis Logistics",
    "Borealis rating, May 2025",
    "2026 freight renewal",
    "Spring 2025",
    "Spring 2024",
    "Autumn 2024",
    "account lead",
    "deal desk",
    "NEGOSCOPE",
    "Negoscope",
    "deadline",
    "James, Demaree & Wolf",
    "LeBreton & Senter",
    "Shrout & Fleiss",
    "Benjamini\u2013Hochberg",
    "Cronbach",
    "Hennig",
    "Feldt",
    "rwg(j)",
    "ICC(2,k)",
    "ICC(1)",
    "ICC(2)",
    "MESO",
)

#: Common English words that are not French words: none may be left in a French page.
ENGLISH_WORDS = frozenset(
    [
        "the",
        "your",
        "and",
        "with",
        "which",
        "when",
        "this",
        "that",
        "team",
        "members",
        "member",
        "blocker",
        "blockers",
        "play",
        "plays",
        "round",
        "rounds",
        "who",
        "what",
        "how",
        "not",
        "our",
        "their",
        "them",
        "they",
        "have",
        "has",
        "been",
        "was",
        "were",
        "from",
        "than",
        "more",
        "less",
        "each",
        "every",
        "other",
        "only",
        "should",
        "would",
        "could",
    ]
)


def _full_context(context: TeamReportContext, analysis, instrument, language: str):
    """The report context with every optional section, built in ``language``."""
    kit, advice = load_kit(language=language), load_advice(language=language)
    names = {d.id: d.name for d in context.blockers}
    plays = {d.id: d.name for d in context.practices}
    cp_instrument = counterparty_instrument()
    rating = rate_counterparty(
        counterparty_answers(cp_instrument),
        cp_instrument,
        context.threshold,
        kit=kit,
        advice=advice,
    )
    gap = analyze_gap(
        team_scores(analysis, context.team),
        rating,
        kit,
        threshold=context.threshold,
        play_names=plays,
    )
    counterparty = CounterpartyContext(
        name="Borealis Logistics",
        gap=gap,
        rating=rating,
        kind="customer",
        deal="2026 freight renewal",
        round_name="Borealis rating, May 2025",
    )
    points = []
    blockers = list(names)
    for label, scores in earlier_rounds(instrument):
        means, sds, ns = {}, {}, {}
        for b in blockers:
            values = scores[b].dropna()
            means[b], sds[b], ns[b] = float(values.mean()), float(values.std(ddof=1)), len(values)
        points.append(TrendPoint(label, None, len(scores), means, sds=sds, ns=ns))
    points.append(
        TrendPoint.from_findings(
            context.round_name, None, context.n, context.diagnosis.dimensions, blockers
        )
    )
    with use_language(language):  # counts and figures inside the sentences
        trend = team_trend(points, names=names, kit=kit)
        agenda = build_agenda(
            context.diagnosis, gap, COMMITMENTS, deal_name=counterparty.deal, kit=kit, advice=advice
        )
        followups = commitment_followup(COMMITMENTS, trend.last_changes, kit=kit, advice=advice)
    return dataclasses.replace(
        context, counterparty=counterparty, trend=trend, agenda=agenda, followups=followups
    )


@pytest.fixture(scope="module")
def contexts(analysis, instrument, previous) -> dict[str, TeamReportContext]:
    out = {}
    for language in ("en", "fr"):
        base = make_context(analysis, instrument, "deadline", previous, language=language)
        out[language] = _full_context(base, analysis, instrument, language)
    return out


@pytest.fixture(scope="module")
def pdfs(contexts) -> dict[str, bytes]:
    return {language: render_team_report(c) for language, c in contexts.items()}


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _without_proper_names(text: str) -> str:
    for name in sorted(PROPER, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def _english_left(english: str, french: str) -> list[str]:
    """Lines of the English PDF (3+ words once names are removed) found verbatim in the French."""
    flat = " ".join(_without_proper_names(french).split())
    found = []
    for line in english.splitlines():
        line = " ".join(_without_proper_names(line).split())
        if len(re.findall(r"[A-Za-z]{2,}", line)) >= 3 and line in flat:
            found.append(line)
    return found


def _english_words(french: str) -> Counter[str]:
    words = re.findall(r"[A-Za-z\u00c0-\u017f']+", _without_proper_names(french))
    return Counter(w for w in (w.lower() for w in words) if w in ENGLISH_WORDS)


# --- the catalogs --------------------------------------------------------------------


def _po(language: str):
    with catalog_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def test_every_report_string_has_a_french_translation():
    catalog = _po("fr")
    extracted = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / "reports", keywords={"_": None, "N_": None}
        )
        if isinstance(message, str)
    }
    assert len(extracted) > 150
    problems = []
    for message in sorted(extracted):
        entry = catalog.get(message)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append(f"untranslated: {message!r}")
            continue
        wanted = set(re.findall(r"%\(\w+\)[sd]", message))
        if set(re.findall(r"%\(\w+\)[sd]", entry.string)) != wanted:
            problems.append(f"placeholders differ: {message!r}")
        # Every message is %-formatted when drawn: a literal percent sign is "%%".
        values = {name: 1 for name in re.findall(r"%\((\w+)\)", message)}
        try:
            message % values, entry.string % values
        except (ValueError, TypeError, KeyError) as error:
            problems.append(f"not a valid format ({error}): {message!r}")
    stale = {m.id for m in catalog if m.id and m.id not in extracted}
    assert not problems, "\n".join(problems)
    assert not stale, f"messages no longer in the code: {sorted(stale)}"


def test_the_compiled_catalog_matches_its_source():
    """reports.mo is committed so that nothing needs compiling; it must be the .po's."""
    source = {m.id: m.string for m in _po("fr") if m.id and not m.fuzzy}
    with (CATALOGS / "fr" / "LC_MESSAGES" / "reports.mo").open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == source


def test_every_framework_text_has_a_french_translation():
    english = framework_document("en")
    overlay = yaml.safe_load((ROOT / "analytics/data/framework.fr.yaml").read_text("utf-8"))
    assert overlay_problems(english, overlay) == []
    french = dict(text_leaves(framework_document("fr")))
    same = [".".join(map(str, p)) for p, text in text_leaves(english) if french[p] == text]
    assert same == []


def test_a_translation_that_does_not_mirror_the_english_file_is_refused():
    english = framework_document("en")
    overlay = yaml.safe_load((ROOT / "analytics/data/framework.fr.yaml").read_text("utf-8"))
    del overlay["plays"]["meso"]["questions"]
    overlay["blockers"]["trust"]["plays"] = ["meso"]  # ids are not the translation's
    overlay["wording"]["main_blocker"] = "{nom} fait partie de vos freins."
    overlay["pair_rules"][0]["id"] = "split_counterparty"
    problems = overlay_problems(english, overlay)
    assert problems == [
        "framework.fr.yaml: wording.main_blocker: must use the placeholders of the English "
        "text ({name})",
        "framework.fr.yaml: plays.meso.questions: translation missing",
        "framework.fr.yaml: blockers.trust.plays: not text in framework.yaml; remove it (a "
        "translation holds only text)",
        "framework.fr.yaml: pair_rules.0.id: is 'split_counterparty' where framework.yaml has "
        "'guarded_fixed_pie'; keep the items in the English file's order",
    ]


def test_the_instrument_is_complete_in_french(instrument):
    assert "fr" in instrument.languages
    assert instrument.untranslated("fr") == ()


# --- the report ----------------------------------------------------------------------


def test_the_french_report_has_every_section(contexts, pdfs):
    french = contexts["fr"]
    assert french.counterparty and french.trend and french.agenda and french.followups
    text = _text(pdfs["fr"])
    for title in (
        "Synthèse",
        "Nous et Borealis Logistics",
        "Sur tous les cycles",
        "Engagements du dernier cycle",
        "Déroulé de séance pour le coach",
        "Méthode et confidentialité",
    ):
        assert title in text


def test_no_english_is_left_in_the_french_report(pdfs):
    english, french = _text(pdfs["en"]), _text(pdfs["fr"])
    assert len(english.splitlines()) > 300
    assert _english_left(english, french) == []
    assert _english_words(french) == Counter()
    # The check sees English: the English report fails it against itself.
    assert _english_left(english, english) and _english_words(english)


def _figures(text: str) -> Counter[str]:
    """Every decimal figure of a page (decimal point or comma), written with a point."""
    return Counter(
        m.replace(",", ".") for m in re.findall(r"(?<![\d.,])\d+[.,]\d+(?!\d|[.,]\d)", text)
    )


def test_the_french_report_has_the_english_figures(pdfs):
    english, french = _text(pdfs["en"]), _text(pdfs["fr"])
    assert sum(_figures(english).values()) > 50
    assert _figures(french) == _figures(english)
    # Written the French way: a decimal comma, a space before the percent sign.
    assert not re.search(r"\d\.\d", _without_proper_names(french))
    percents = Counter(re.findall(r"(\d+)%", english))
    assert sum(percents.values()) > 10 and not re.search(r"\d%", french)
    assert Counter(re.findall(r"(\d+)\s%", french)) == percents


def test_the_dates_and_counts_are_french(pdfs):
    text = _text(pdfs["fr"])
    assert "1er mai 2025" in text
    assert re.search(r"\d+ membres sur \d+", text)


def test_an_unknown_report_language_is_refused(analysis, instrument):
    with pytest.raises(ValueError, match="unknown language 'de'"):
        make_context(analysis, instrument, "deadline", language="de")


# --- the worksheet -------------------------------------------------------------------


def _worksheet_pdf(context: TeamReportContext, language: str) -> bytes:
    kit, advice = load_kit(language=language), load_advice(language=language)
    worksheet = build_worksheet(
        context.diagnosis,
        context.counterparty.gap,
        "2026 freight renewal",
        "Borealis Logistics",
        context.team,
        kit=kit,
        advice=advice,
    )
    return render_deal_worksheet(
        worksheet, organization=context.organization, prepared_on=REPORT_DATE, language=language
    )


def test_the_worksheet_in_french(contexts):
    english = _text(_worksheet_pdf(contexts["en"], "en"))
    french = _text(_worksheet_pdf(contexts["fr"], "fr"))
    assert "Fiche de préparation de négociation" in french
    assert (
        "Que signifie réussir pour nous dans 2026 freight renewal, au-delà du prix ?"
        in " ".join(french.split())
    )
    assert "1er mai 2025" in french
    assert _english_left(english, french) == []
    assert _english_words(french) == Counter()
    assert _english_left(english, english)
