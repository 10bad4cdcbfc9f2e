"""Error pages: a clear message and the right status, never a stack trace."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from survey.api import errors as api_errors
from survey.api.errors import is_api_request
from survey.database import is_unavailable
from survey.extensions import db
from survey.web.inputs import InputError

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("The request could not be read"), _l("Please go back, check the form and try again.")),
    403: (_l("Not allowed"), _l("Your account may not open this page.")),
    404: (
        _l("Not found"),
        _l("There is nothing at this address. Check the link you were given."),
    ),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    410: (_l("No longer available"), _l("This page is no longer available.")),
    413: (_l("Too large"), _l("What was sent is larger than this page accepts.")),
    429: (_l("Too many attempts"), _l("Please wait a minute and try again.")),
    500: (
        _l("Something went wrong"),
        _l("The error has been logged. Please try again in a moment."),
    ),
    503: (
        _l("Temporarily unavailable"),
        _l(
            "The service is busy or being restarted. Nothing you sent was lost: "
            "go back and send the page again in a few seconds."
        ),
    ),
}


def render_error(status: int, detail: str | None = None):  # type: ignore[no-untyped-def]
    """Render the error page for ``status``."""
    title, text = MESSAGES.get(status, MESSAGES[500])
    headers = {"Retry-After": "5"} if status == 503 else {}
    body = render_template("errors/error.html", status=status, title=title, text=detail or text)
    return body, status, headers


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # type: ignore[no-untyped-def]
        log.warning("CSRF check failed: %s", error.description)
        return render_error(
            400,
            _(
                "This form had expired or was sent from elsewhere. "
                "Reload the page and send it again; your saved answers are kept."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        if is_api_request():
            return api_errors.http_error(error)
        if status in (401, 403):
            log.warning("denied %s %s (%s)", request.method, _safe_path(), _who())
        if isinstance(error, InputError):
            return render_error(status, error.description)
        return render_error(status)

    @app.errorhandler(SQLAlchemyError)
    def _database(error: SQLAlchemyError):  # type: ignore[no-untyped-def]
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        _as_visitor()
        if is_unavailable(error):
            log.warning("database unavailable: %s", type(error).__name__)
            if is_api_request():
                return api_errors.server_error(unavailable=True)
            if request.method == "POST" and (request.endpoint or "").startswith("respond."):
                return _retry_page()
            return render_error(503)
        log.exception("database error")
        if is_api_request():
            return api_errors.server_error()
        return render_error(500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):
            return _http(error)
        log.exception("unhandled error")
        if is_api_request():
            return api_errors.server_error()
        return render_error(500)


def _as_visitor() -> None:
    """Render the rest of this request for an anonymous visitor.

    The page's navigation would otherwise read the account (and its
    organizations) from the database that just failed, and the handler would
    fail in turn. Flask-Login keeps the request's user in ``g._login_user``;
    setting it means the user loader is not called.
    """
    g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]


def _retry_page():  # type: ignore[no-untyped-def]
    """A 503 that carries the respondent's posted answers, ready to be sent again."""
    fields = [(k, v) for k, v in request.form.items(multi=True) if len(v) <= 200][:200]
    body = render_template("errors/retry.html", fields=fields, action=request.path)
    return body, 503, {"Retry-After": "5"}


def _safe_path() -> str:
    from survey.logging_filters import TOKEN_IN_PATH

    return TOKEN_IN_PATH.sub(r"/\1/[redacted]", request.path)[:200]


def _who() -> str:
    from flask_login import current_user

    return f"user {current_user.id}" if current_user.is_authenticated else "anonymous"
