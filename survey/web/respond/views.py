"""Respondent pages: open an invitation, answer page by page, review, submit.

The invitation token appears in one URL only: its first visit trades it for a
session and redirects, so it never stays in history, logs or a Referer.
"""

from __future__ import annotations

from dataclasses import replace

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from analytics.instrument import Instrument
from survey import i18n
from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.services import responses
from survey.services.instruments import instrument_by_hash
from survey.services.questionnaire import Page, PageInput, parse_page
from survey.services.responses import Access, AccessStatus, SubmitOutcome
from survey.services.tokens import hash_token, looks_like_token
from survey.web.respond.forms import ConsentForm, SubmitForm

bp = Blueprint("respond", __name__)
SESSION_KEY = "respondent"
INSTRUMENT_KEY = "respondent_instrument"  # [id, content hash]: lets a save skip a read
STATUS_TEXT = {
    AccessStatus.UNKNOWN: (
        _l("This link is not valid"),
        _l(
            "Check that you copied the whole link from your invitation. If it still does not "
            "work, ask the person who invited you for a new one."
        ),
    ),
    AccessStatus.REVOKED: (
        _l("This invitation was withdrawn"),
        _l("Ask the person who invited you for a new link."),
    ),
    AccessStatus.EXPIRED: (
        _l("This invitation has expired"),
        _l("Ask the person who invited you for a new link."),
    ),
    AccessStatus.NOT_OPEN: (
        _l("This survey has not opened yet"),
        _l("Come back with the same link once the survey opens."),
    ),
    AccessStatus.CLOSED: (
        _l("This survey is closed"),
        _l("Answers are no longer collected for this round. Anything you saved is kept."),
    ),
}


def instrument_languages() -> tuple[str, ...] | None:
    """The languages the session's instrument is written in; None without one.

    Used by :mod:`survey.i18n` to offer respondents only those languages. The
    parsed instrument is kept per process, so this reads the database at most
    once per instrument version and process (and falls back to None if it fails).
    """
    instrument = session.get(INSTRUMENT_KEY)
    if not isinstance(instrument, list) or len(instrument) != 2:
        return None
    try:
        return instrument_by_hash(*instrument).languages
    except (LookupError, SQLAlchemyError, TypeError):
        return None


def _shown(instrument: Instrument) -> Instrument:
    """The instrument with its texts in the page's language (or its own, see content_language)."""
    language = responses.content_language(instrument, i18n.current_language())
    g.content_language = language
    return instrument.localized(language)


def _pages(access: Access) -> tuple[Page, ...]:
    """The questionnaire pages in the page's language (or the instrument's own)."""
    _shown(responses.instrument_for(access))
    return responses.pages_for(access, i18n.current_language())


@bp.context_processor
def _content_language() -> dict[str, object]:
    """``content_lang_attr``: a ``lang`` attribute for the instrument's texts when they are
    not in the interface's language (an instrument in a language the interface lacks)."""
    content = g.get("content_language")
    if content is None or content == i18n.current_language():
        return {"content_lang_attr": ""}
    return {"content_lang_attr": Markup(' lang="%s"') % content}


@bp.app_template_filter("first_upper")
def first_upper(text: str) -> str:
    """The text with its first letter capitalised and the rest as stored ("1-3 years", "IT")."""
    return text[:1].upper() + text[1:]


@bp.get("/s/<token>")
def open_invitation(token: str) -> ResponseReturnValue:
    """Exchange the invitation token for a respondent session."""
    token_hash = hash_token(token) if looks_like_token(token) else None
    access = responses.check_access(token_hash, utcnow())
    if access.status not in (AccessStatus.OK, AccessStatus.SUBMITTED):
        return _status_page(access)
    language = session.get(i18n.SESSION_KEY)
    session.clear()
    if language is not None:
        session[i18n.SESSION_KEY] = language  # a language picked before is not a secret
    session[SESSION_KEY] = token_hash
    session[INSTRUMENT_KEY] = [access.instrument_id, access.instrument_hash]
    session.permanent = True
    return redirect(url_for("respond.landing"))


@bp.get("/survey")
def landing() -> ResponseReturnValue:
    """What the survey is for, who sees what, and consent."""
    access = _current_access()
    if access.status is not AccessStatus.OK:
        return _status_page(access)
    instrument = _shown(responses.instrument_for(access))
    return render_template(
        "respond/landing.html",
        instrument=instrument,
        survey_round=responses.round_of(access),
        pages=responses.pages_for(access),
        draft=access.draft,
        threshold=current_app.config["ANONYMITY_THRESHOLD"],
        form=ConsentForm(),
    )


@bp.post("/survey/start")
def start() -> ResponseReturnValue:
    """Record consent and open (or resume) the draft."""
    form = ConsentForm()
    access = _current_access()
    if access.status is not AccessStatus.OK:
        return _status_page(access)
    if not form.validate():
        instrument = _shown(responses.instrument_for(access))
        return render_template(
            "respond/landing.html",
            instrument=instrument,
            survey_round=responses.round_of(access),
            pages=responses.pages_for(access),
            draft=None,
            threshold=current_app.config["ANONYMITY_THRESHOLD"],
            form=form,
        ), 400
    begin_write()
    access = responses.check_access(session.get(SESSION_KEY), utcnow())
    if access.status is not AccessStatus.OK:
        db.session.rollback()
        return _status_page(access)
    page = responses.start_draft(access, utcnow()).current_page
    db.session.commit()
    return redirect(url_for("respond.page", number=max(page, 1)))


@bp.route("/survey/page/<int:number>", methods=["GET", "POST"])
def page(number: int) -> ResponseReturnValue:
    """Show one page with what was saved, or save it and move on.

    A save is one write transaction (on SQLite ``BEGIN IMMEDIATE``). The usual
    save is a single statement that checks access as it writes, with the
    instrument named in the session; anything else (an invalid page, a
    session from before the instrument was kept in it, access that changed)
    takes the full way below, which reads access first and explains.
    """
    if request.method == "POST":
        begin_write()
        saved = _save_directly(number)
        if saved is not None:
            return saved
    access = _current_access()
    if access.status is not AccessStatus.OK:
        return _status_page(access, changed_nothing=request.method == "POST")
    draft = access.draft
    if draft is None:
        return redirect(url_for("respond.landing"))
    pages = _pages(access)
    if not 1 <= number <= len(pages):
        abort(404)
    if number > draft.current_page:
        return redirect(url_for("respond.page", number=draft.current_page))
    current = pages[number - 1]
    if request.method == "GET":
        saved_items, saved_context = responses.saved_answers(draft)
        return _render_page(current, len(pages), saved_items, saved_context)

    form = _posted_form()
    if form is None:
        message = _("Your answers could not be read: the page sent far more data than it should.")
        saved_items, saved_context = responses.saved_answers(draft)
        return _render_page(current, len(pages), saved_items, saved_context, [message], 400)
    page_input = _parse(current, form)
    if not page_input.ok:
        saved_items, saved_context = responses.saved_answers(draft)
        shown_items = {**saved_items, **page_input.answers}
        shown_context = {**saved_context, **page_input.context}
        return _render_page(
            current,
            len(pages),
            shown_items,
            shown_context,
            list(page_input.form_errors),
            400,
            errors=page_input.errors,
        )
    assert access.instrument_id is not None
    saved = _save(access.instrument_id, pages, number, page_input)
    if saved is None:  # submitted meanwhile (another tab): nothing changed
        db.session.rollback()
        return redirect(url_for("respond.landing"))
    return saved


def _save_directly(number: int) -> ResponseReturnValue | None:
    """Save a valid page without reading access first; None when that cannot be done."""
    token_hash = session.get(SESSION_KEY)
    instrument = session.get(INSTRUMENT_KEY)
    if not token_hash or not isinstance(instrument, list) or len(instrument) != 2:
        return None
    instrument_id, instrument_hash = instrument
    try:
        pages = responses.pages_of(instrument_id, instrument_hash)
    except LookupError:
        return None
    if not 1 <= number <= len(pages):
        return None
    form = _posted_form()
    if form is None:
        return None
    page_input = _parse(pages[number - 1], form)
    if not page_input.ok:
        return None
    return _save(instrument_id, pages, number, page_input)


def _posted_form() -> MultiDict[str, str] | None:
    """The posted form, or None when the body is over the survey's size limit."""
    if "respond_form" not in g:
        limit = current_app.config["SURVEY_MAX_BODY_BYTES"]
        request.max_content_length = limit
        try:
            if (request.content_length or 0) > limit:
                raise RequestEntityTooLarge()
            g.respond_form = request.form
        except RequestEntityTooLarge:
            g.respond_form = None
    return g.respond_form


def _parse(current: Page, form: MultiDict[str, str]) -> PageInput:
    """The page's answers; going back asks for nothing and keeps what was chosen."""
    going_back = form.get("nav") == "back"
    page_input = parse_page(current, form, require_all=not going_back)
    if going_back and page_input.errors and not page_input.form_errors:
        return replace(page_input, errors={})  # invalid choices are dropped when going back
    return page_input


def _save(
    instrument_id: int, pages: tuple[Page, ...], number: int, page_input: PageInput
) -> ResponseReturnValue | None:
    """Store the page and commit, then go on; None (nothing changed) when it may not be saved."""
    going_back = request.form.get("nav") == "back"
    target = number - 1 if going_back else number + 1
    saved = responses.save_page(
        session[SESSION_KEY],
        instrument_id,
        number,
        page_input,
        utcnow(),
        next_page=min(target, len(pages)),
    )
    if not saved:
        return None
    db.session.commit()
    if not going_back and number == len(pages):
        return redirect(url_for("respond.review"))
    if target < 1:
        return redirect(url_for("respond.landing"))
    return redirect(url_for("respond.page", number=target))


@bp.get("/survey/review")
def review() -> ResponseReturnValue:
    """Every item with its answer, skipped ones pointed out, and the submit button."""
    access = _current_access()
    if access.status is not AccessStatus.OK:
        return _status_page(access)
    draft = access.draft
    if draft is None:
        return redirect(url_for("respond.landing"))
    pages = _pages(access)
    saved_items, saved_context = responses.saved_answers(draft)
    return render_template(
        "respond/review.html",
        pages=pages,
        saved_items=saved_items,
        saved_context=saved_context,
        complete=responses.is_complete(draft, pages),
        form=SubmitForm(),
    )


@bp.post("/survey/submit")
def submit() -> ResponseReturnValue:
    """Submit once; a repeated submit changes nothing and says so."""
    SubmitForm().validate_on_submit()  # CSRF is checked globally; the form has no fields
    access = _current_access()
    if access.status is AccessStatus.SUBMITTED:
        return render_template("respond/thanks.html", already=True)
    if access.status is not AccessStatus.OK:
        return _status_page(access, changed_nothing=True)
    draft = access.draft
    pages = responses.pages_for(access)
    if draft is None or not responses.is_complete(draft, pages):
        return redirect(url_for("respond.review"))
    invitation_id = access.invitation_id
    assert invitation_id is not None
    begin_write()
    outcome = responses.submit(invitation_id, utcnow())
    db.session.commit()
    if outcome is SubmitOutcome.NO_DRAFT:
        return redirect(url_for("respond.landing"))
    if outcome is SubmitOutcome.ALREADY_SUBMITTED:
        return render_template("respond/thanks.html", already=True)
    return redirect(url_for("respond.thanks"))


@bp.get("/survey/thanks")
def thanks() -> ResponseReturnValue:
    """The end of the questionnaire."""
    access = _current_access()
    if access.status is not AccessStatus.SUBMITTED:
        return _status_page(access)
    return render_template("respond/thanks.html", already=False)


def _current_access() -> Access:
    return responses.check_access(session.get(SESSION_KEY), utcnow())


def _status_page(access: Access, *, changed_nothing: bool = False) -> ResponseReturnValue:
    status = access.status
    if status is AccessStatus.SUBMITTED:
        return render_template("respond/thanks.html", already=True), 409 if changed_nothing else 200
    heading, text = STATUS_TEXT.get(status, STATUS_TEXT[AccessStatus.UNKNOWN])
    return render_template(
        "respond/status.html", heading=heading, text=text, changed_nothing=changed_nothing
    ), status.http_status


def _render_page(
    current: Page,
    total: int,
    items: dict[str, int | None],
    context: dict[str, str | None],
    messages: list[str] | None = None,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
) -> ResponseReturnValue:
    return render_template(
        "respond/page.html",
        page=current,
        total=total,
        items=items,
        context=context,
        messages=messages or [],
        errors=errors or {},
        form=SubmitForm(),
    ), status
