"""Languages: respondents get their language (picked, else the browser's), items included;
the shipped catalogs leave nothing of the respondent flow untranslated."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from functools import cache
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from analytics.instrument_parser import load_default_instrument, parse_instrument
from survey import i18n
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import ContextAnswer
from tests.survey.respond_helpers import PAGES, csrf_from, page_values, post_page

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "survey" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
# Every file whose strings a respondent can see: their pages, the frame around them, the
# error pages, and the code that words their messages.
RESPONDENT_FILES = (
    "survey/templates/base.html",
    "survey/templates/_language.html",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "survey/templates/respond").glob("*.html")),
    "survey/templates/errors/error.html",
    "survey/templates/errors/retry.html",
    "survey/web/respond/views.py",
    "survey/web/respond/forms.py",
    "survey/web/errors.py",
    "survey/services/questionnaire.py",
)
DEFAULT = load_default_instrument()
FRENCH = DEFAULT.localized("fr")
HTML_LANG = re.compile(r'<html lang="([^"]+)">')


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return unescape(response.get_data(as_text=True))


def open_link(client, token: str, language: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"Accept-Language": language} if language else {}
    assert client.get(f"/s/{token}", headers=headers).status_code == 302
    return client.get("/survey", headers=headers)


def consent(client, landing, headers=None) -> None:  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_from(landing), "consent": "y"}
    assert client.post("/survey/start", data=data, headers=headers or {}).status_code == 302


def pick(client, language: str, next_path: str = "/survey"):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(next_path))
    return client.post(
        "/language", data={"csrf_token": token, "language": language, "next": next_path}
    )


# ---- the respondent's language


def test_browser_in_french_gets_french_pages_and_french_statements(client, make_world):
    world = make_world()
    landing = open_link(client, world.tokens[0], "fr-CH, fr;q=0.9, en;q=0.5")
    text = text_of(landing)
    assert HTML_LANG.search(text).group(1) == "fr"
    assert "Qui voit quoi" in text and "Who sees what" not in text
    assert FRENCH.title in text and DEFAULT.title not in text
    assert landing.headers["Vary"] and "Accept-Language" in landing.headers["Vary"]
    consent(client, landing, {"Accept-Language": "fr"})

    page = text_of(client.get("/survey/page/1", headers={"Accept-Language": "fr"}))
    first = PAGES[0].items[0]
    french_item = FRENCH.item(first.item.id)
    assert french_item.text in page and first.item.text not in page
    french_scale = FRENCH.scale_for(first.item.id)
    assert all(label in page for label in french_scale.labels)
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'lang="' not in main  # the statements are in the page's own language
    assert "Page 1 sur" in page and "Enregistrer et continuer" in page and "Passer" in page


def test_english_browser_and_unknown_languages_get_english(client, make_world):
    world = make_world()
    for header in ("en-GB", "de-DE, pt;q=0.8", "*", "", "xx-invalid;;q=nonsense"):
        landing = open_link(client, world.tokens[0], header or None)
        text = text_of(landing)
        assert HTML_LANG.search(text).group(1) == "en", header
        assert "Who sees what" in text and DEFAULT.title in text


def test_best_match_is_taken_among_the_shipped_languages(client, make_world):
    world = make_world()
    text = text_of(open_link(client, world.tokens[0], "de, fr;q=0.4, en;q=0.3"))
    assert HTML_LANG.search(text).group(1) == "fr"


def test_picker_switches_the_language_and_the_session_remembers_it(client, make_world):
    world = make_world()
    landing = open_link(client, world.tokens[0], "en")
    assert 'lang="fr"' in text_of(landing) and "Français" in text_of(landing)
    switched = pick(client, "fr")
    assert switched.status_code == 302 and switched.headers["Location"] == "/survey"
    # The choice beats the browser's language, on every later page.
    later = text_of(client.get("/survey", headers={"Accept-Language": "en"}))
    assert HTML_LANG.search(later).group(1) == "fr" and "Qui voit quoi" in later
    consent(client, client.get("/survey"))
    page = text_of(client.get("/survey/page/1", headers={"Accept-Language": "en"}))
    assert FRENCH.dimension(PAGES[0].items[0].dimension.id).name in page
    back = pick(client, "en", "/survey/page/1")
    assert back.headers["Location"] == "/survey/page/1"
    assert "Who sees what" in text_of(client.get("/survey", headers={"Accept-Language": "fr"}))


def test_a_new_invitation_link_keeps_the_language_picked(client, make_world):
    world = make_world()
    open_link(client, world.tokens[0])
    pick(client, "fr")
    assert "Qui voit quoi" in text_of(open_link(client, world.tokens[1], "en"))


def test_picker_refuses_unknown_languages_and_foreign_redirects(client, make_world):
    world = make_world()
    open_link(client, world.tokens[0], "en")
    kept = pick(client, "xx")
    assert kept.status_code == 302
    assert "Who sees what" in text_of(client.get("/survey"))
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "survey"):
        token = csrf_from(client.get("/survey"))
        answer = client.post(
            "/language", data={"csrf_token": token, "language": "fr", "next": target}
        )
        assert answer.status_code == 302 and answer.headers["Location"] == "/", target


def test_picker_needs_a_csrf_token(client, make_world):
    world = make_world()
    open_link(client, world.tokens[0], "en")
    refused = client.post("/language", data={"language": "fr", "next": "/survey"})
    assert refused.status_code == 400
    assert "Who sees what" in text_of(client.get("/survey"))


@given(st.text(max_size=60))
def test_the_picker_only_ever_returns_to_a_path_of_this_site(path):
    with _bare_app().test_request_context("/language", method="POST"):
        target = i18n.safe_return_path(path)
    parts = urlsplit(target)
    assert target.startswith("/") and not target.startswith(("//", "/\\"))
    assert not parts.scheme and not parts.netloc
    assert not any(ord(ch) < 32 for ch in target)
    assert target in (path, "/")


def test_missing_answer_is_explained_in_french(client, make_world):
    world = make_world()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    consent(client, open_link(client, world.tokens[0]))
    values = page_values(1)
    del values[PAGES[0].items[0].item.id]
    response = post_page(client, 1, values)
    assert response.status_code == 400
    text = text_of(response)
    assert "Choisissez une réponse, ou «\u00a0Passer\u00a0» pour la laisser vide." in text
    assert "1 question de cette page attend une réponse." in text


def test_context_questions_show_french_options_and_store_the_file_s_own(app, client, make_world):
    world = make_world()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    consent(client, open_link(client, world.tokens[0]))
    for page in PAGES:
        response = post_page(client, page.number, page_values(page.number))
        assert response.status_code == 302, text_of(response)
    context_page = PAGES[-1]
    assert context_page.context, "the default instrument asks context questions"
    shown = text_of(client.get(f"/survey/page/{context_page.number}"))
    question = context_page.context[0]
    french_question = next(q for q in FRENCH.context if q.id == question.id)
    assert french_question.text in shown and question.text not in shown
    for stored, french in FRENCH.option_pairs(question.id):
        assert f'value="{stored}"' in shown and french[:1].upper() + french[1:] in shown
    review = text_of(client.get("/survey/review"))
    first_french = FRENCH.option_pairs(question.id)[0][1]
    assert "Vous avez répondu à toutes les affirmations." in review
    assert first_french[:1].upper() + first_french[1:] in review
    token = csrf_from(client.get("/survey/review"))
    assert client.post("/survey/submit", data={"csrf_token": token}).status_code == 302
    assert "Vos réponses ont été envoyées." in text_of(client.get("/survey/thanks"))
    with app.app_context():
        stored = db.session.scalars(
            select(ContextAnswer.value).where(ContextAnswer.question_id == question.id)
        ).one()
        assert stored == question.options[0]


def test_status_and_error_pages_follow_the_language(client, make_world):
    world = make_world()
    invalid = client.get("/s/" + "x" * 43, headers={"Accept-Language": "fr"})
    assert "Ce lien n’est pas valide" in text_of(invalid)
    open_link(client, world.tokens[0], "fr")
    expired = client.post("/survey/start", data={"consent": "y"}, headers={"Accept-Language": "fr"})
    assert expired.status_code == 400 and "Ce formulaire avait expiré" in text_of(expired)
    missing = client.get("/no-such-page", headers={"Accept-Language": "fr"})
    assert missing.status_code == 404 and "Introuvable" in text_of(missing)
    refused = client.post(
        "/survey/start",
        data={"csrf_token": csrf_from(client.get("/survey"))},
        headers={"Accept-Language": "fr"},
    )
    assert refused.status_code == 400
    assert "Cochez la case pour donner votre accord avant de commencer." in text_of(refused)


def test_an_instrument_without_french_keeps_the_whole_page_in_its_own_language(
    app, client, make_world
):
    token = _world_with(app, _without_translations(DEFAULT))
    landing = text_of(open_link(client, token, "fr"))
    assert HTML_LANG.search(landing).group(1) == "en"
    assert "Who sees what" in landing and DEFAULT.title in landing
    assert "Français" not in landing  # no picker: there is nothing to pick
    pick(client, "fr")  # a stale picker form: remembered but not offered
    assert HTML_LANG.search(text_of(client.get("/survey"))).group(1) == "en"


def test_an_instrument_in_another_language_only_gets_its_own_language(app, client):
    definition = _plain(_without_translations(DEFAULT).definition)
    definition.update(id=f"fr-only-{uuid.uuid4().hex[:6]}", language="fr")
    token = _world_with(app, parse_instrument(definition))
    landing = text_of(open_link(client, token, "en"))
    assert HTML_LANG.search(landing).group(1) == "fr" and "Qui voit quoi" in landing
    assert "English" not in landing


def test_an_instrument_in_a_language_the_interface_lacks_marks_its_texts(app, client):
    definition = _plain(_without_translations(DEFAULT).definition)
    definition.update(id=f"de-only-{uuid.uuid4().hex[:6]}", language="de")
    token = _world_with(app, parse_instrument(definition))
    consent(client, open_link(client, token, "de, fr;q=0.5"))
    page = text_of(client.get("/survey/page/1"))
    assert HTML_LANG.search(page).group(1) == "en"  # the interface has no German
    first = PAGES[0].items[0]
    assert f'<legend lang="de"><span class="item-number">1.</span> {first.item.text}' in page
    assert '<span class="choice-text">Skip</span>' in page  # the interface's own words


def test_staff_pages_stay_in_a_complete_language(client):
    login = client.get("/login", headers={"Accept-Language": "fr"})
    assert HTML_LANG.search(text_of(login)).group(1) in i18n.STAFF_LANGUAGES


# ---- the catalogs


def respondent_messages() -> list[tuple[str, object]]:
    """(file, msgid) of every translatable string a respondent can see, extracted as
    ``make translations`` does (babel's extractors over babel.cfg's methods)."""
    found = []
    for name in RESPONDENT_FILES:
        method = "python" if name.endswith(".py") else "jinja2"
        for _line, msgid, _comments, _context in extract_from_file(
            method, str(ROOT / name), keywords=KEYWORDS
        ):
            found.append((name, msgid))
    return found


def load_catalog(language: str) -> Catalog:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def test_extraction_finds_the_respondent_strings():
    ids = {msgid if isinstance(msgid, str) else msgid[0] for _, msgid in respondent_messages()}
    assert {"Save and continue", "Please tick the box to agree before you start."} <= ids
    assert "Choose an answer, or choose “Skip” to leave it blank." in ids
    assert len(ids) > 60


@pytest.mark.parametrize(
    "language", [lang for lang in i18n.RESPONDENT_LANGUAGES if lang != i18n.DEFAULT_LANGUAGE]
)
def test_no_string_of_the_respondent_flow_is_left_untranslated(language):
    catalog = load_catalog(language)
    untranslated = []
    for name, msgid in respondent_messages():
        message = catalog.get(msgid if isinstance(msgid, str) else msgid[0])
        strings = (message.string,) if message and isinstance(message.string, str) else ()
        if message and not isinstance(message.string, str):
            strings = tuple(message.string)
        if (
            message is None
            or message.fuzzy
            or not strings
            or not all(s.strip() for s in strings)
            or len(strings) != (1 if isinstance(msgid, str) else catalog.num_plurals)
        ):
            untranslated.append(f"{name}: {msgid!r}")
    assert not untranslated, "\n".join(untranslated)


@pytest.mark.parametrize("language", list(i18n.LANGUAGE_NAMES)[1:])
def test_catalog_placeholders_agree_and_the_compiled_catalog_is_up_to_date(language):
    catalog = load_catalog(language)
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems
    assert catalog.num_plurals == 2 if language == "fr" else catalog.num_plurals >= 1
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    shipped = (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert shipped == compiled.getvalue(), "run `make translations` and commit the .mo"


def test_every_shipped_language_has_a_catalog_and_a_name():
    shipped = {p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir()}
    assert shipped | {i18n.DEFAULT_LANGUAGE} == set(i18n.LANGUAGE_NAMES)
    assert set(i18n.RESPONDENT_LANGUAGES) <= set(i18n.LANGUAGE_NAMES)
    assert set(i18n.STAFF_LANGUAGES) <= set(i18n.LANGUAGE_NAMES)


def test_shipped_instruments_carry_every_respondent_language():
    from analytics.instrument_parser import default_instrument_paths, load_instrument

    for path in default_instrument_paths():
        instrument = load_instrument(path)
        assert set(i18n.RESPONDENT_LANGUAGES) <= set(instrument.languages), path.name


# ---- helpers


@cache
def _bare_app():  # type: ignore[no-untyped-def]
    from survey import create_app

    return create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "test"}
    )


def _plain(value):  # type: ignore[no-untyped-def]
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _without_translations(instrument):  # type: ignore[no-untyped-def]
    definition = _plain(instrument.definition)
    definition.pop("translations", None)
    definition["id"] = f"plain-{uuid.uuid4().hex[:6]}"
    return parse_instrument(definition)


def _world_with(app, instrument) -> str:  # type: ignore[no-untyped-def]
    """An open round asking ``instrument``; the token of its one member."""
    from survey.services import organizations, rounds
    from survey.services.instruments import store_instrument

    with app.app_context():
        row, _ = store_instrument(instrument)
        org, _ = organizations.get_or_create_organization("Lingua")
        team, _ = organizations.get_or_create_team(org, "Desk")
        survey_round = rounds.create_round(
            org, f"Round {uuid.uuid4().hex[:6]}", row, [team], mode="confidential",
            status="open", opens_at=utcnow() - timedelta(days=1),
            closes_at=utcnow() + timedelta(days=10),
        )  # fmt: skip
        person = organizations.add_participant(team, name="Ann", email="ann@lingua.example")
        _, token = rounds.issue_invitation(survey_round, person, utcnow(), timedelta(days=30))
        db.session.commit()
        return token
