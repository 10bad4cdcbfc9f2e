"""Languages of the web pages (Flask-Babel): which one each request is shown in.

The interface's own strings live in gettext catalogs under ``survey/translations``
(``make translations`` extracts, updates and compiles them); the questionnaire's
texts come from the instrument file itself (``analytics.instrument``).

A request's language is, in order: the language the person picked (the picker in
the page header, remembered in the signed session), else the best match of the
browser's ``Accept-Language``, else the first language offered. Which languages are
offered depends on who is asking:

- **Respondents** are offered the interface languages their round's instrument is
  written in, so a page never says "Français" around English statements. When the
  instrument is in no interface language, the interface is English and the
  statements carry their own ``lang`` attribute.
- **Staff** are offered :data:`STAFF_LANGUAGES`: the languages whose catalog covers
  the staff pages, so nobody gets a page half in one language and half in another.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, g, has_request_context, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale

DEFAULT_LANGUAGE = "en"
#: Every language the interface ships, with its name written in that language.
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
#: Languages complete for the respondent flow (tests/survey/test_i18n.py checks it).
RESPONDENT_LANGUAGES: tuple[str, ...] = ("en", "fr")
#: Languages complete for the staff pages; French staff pages are not translated yet.
STAFF_LANGUAGES: tuple[str, ...] = ("en",)
SESSION_KEY = "language"
OFFERED_KEY = "offered_languages"  # in flask.g: computed once per request

babel = Babel()


def init_app(app: Flask) -> None:
    """Install Flask-Babel with :func:`select_language` and the language picker's route."""
    babel.init_app(app, default_locale=DEFAULT_LANGUAGE, locale_selector=select_language)
    app.add_url_rule("/language", "language", choose_language, methods=["POST"])
    app.context_processor(_template_globals)
    app.after_request(vary_by_language)


def offered_languages() -> tuple[str, ...]:
    """The languages the current page may be shown in; the first is the fallback.

    For a respondent: the interface languages the session's instrument is written
    in, its own language first (English when it is in none of them).
    """
    offered = g.get(OFFERED_KEY)
    if offered is None:
        offered = STAFF_LANGUAGES
        if is_respondent_request():
            from survey.web.respond.views import instrument_languages

            written = instrument_languages()
            offered = RESPONDENT_LANGUAGES
            if written is not None:
                offered = tuple(lang for lang in written if lang in RESPONDENT_LANGUAGES)
                offered = offered or (DEFAULT_LANGUAGE,)
        g.setdefault(OFFERED_KEY, offered)
    return offered


def is_respondent_request() -> bool:
    """True for the questionnaire's pages and for visitors who opened an invitation."""
    from survey.web.respond.views import SESSION_KEY as RESPONDENT_KEY

    return request.blueprint == "respond" or (
        RESPONDENT_KEY in session and request.blueprint not in ("auth", "admin", "coach")
    )


def select_language() -> str:
    """The language of the current request (Flask-Babel's locale selector).

    Outside a request (commands, jobs) it is the default language.
    """
    if not has_request_context():
        return DEFAULT_LANGUAGE
    offered = offered_languages()
    chosen = session.get(SESSION_KEY)
    if chosen in offered:
        return chosen
    return request.accept_languages.best_match(offered) or offered[0]


def current_language() -> str:
    """The current request's language code (``en``, ``fr``)."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def choose_language() -> ResponseReturnValue:
    """The picker's form: remember the language (any shipped one) and go back."""
    chosen = request.form.get("language", "")
    if chosen in LANGUAGE_NAMES:
        session[SESSION_KEY] = chosen
    return redirect(safe_return_path(request.form.get("next")))


def safe_return_path(path: str | None) -> str:
    """``path`` when it is a path on this site, else the front page (no open redirect)."""
    if not path or len(path) > 500 or not path.startswith("/") or path.startswith(("//", "/\\")):
        return url_for("home.index")
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in path):
        return url_for("home.index")
    return path


def return_path() -> str:
    """Where the picker sends the visitor back: this page, or one that can be fetched again.

    A page rendered in answer to a POST-only route (a failed consent, a submit) is
    reached again through its GET page; an invitation link is never put in a form.
    """
    rule = request.url_rule
    fetchable = rule is not None and "GET" in (rule.methods or ())
    if request.endpoint == "respond.open_invitation" or (is_respondent_request() and not fetchable):
        return url_for("respond.landing")
    if not fetchable:
        return url_for("home.index")
    return request.full_path.rstrip("?")


def vary_by_language(response: Response) -> Response:
    """Tell caches that pages differ by ``Accept-Language`` (pages are no-store anyway)."""
    response.vary.add("Accept-Language")
    return response


def _template_globals() -> dict[str, object]:
    return {
        "current_language": current_language,
        "language_choices": _language_choices,
        "language_return_path": return_path,
    }


def _language_choices() -> list[tuple[str, str]]:
    """(code, name) of each language the picker offers; empty when there is no choice."""
    offered = offered_languages()
    if len(offered) < 2:
        return []
    return [(code, LANGUAGE_NAMES[code]) for code in offered if code in LANGUAGE_NAMES]
