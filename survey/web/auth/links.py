"""One-time set-password links (invitations and resets) and the forgotten-password form.

A link is traded on first use for its hash held in the session, and the
browser is redirected, so the token does not stay in the address bar, the
history or a referrer. The forgotten-password form answers the same, with the
same status, whether or not an account has the email: the message is sent on
a background thread after the commit, so the answer does not wait for SMTP.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_babel.speaklater import LazyString
from flask_login import logout_user

from survey.database import begin_write
from survey.extensions import db
from survey.services import accounts, staff
from survey.services.emailing import DEFAULT_SENDER
from survey.services.mailer import SmtpSettings, parse_smtp_url, password_reset_message
from survey.services.passwords import hash_password, password_problem
from survey.services.staff import LinkStatus
from survey.services.tokens import hash_token, looks_like_token
from survey.web.auth.forms import ForgotPasswordForm, SetPasswordForm
from survey.web.auth.views import SESSION_KEY, _now, bp

LINK_KEY = "staff_link"

_PROBLEMS: dict[LinkStatus, tuple[int, LazyString, LazyString]] = {
    LinkStatus.INVALID: (
        404,
        _l("This link is not valid"),
        _l(
            "Check that you copied the whole link from the email. If it still does not work, "
            "ask an administrator for a new one or use \u201cForgot password?\u201d on the "
            "login page."
        ),
    ),
    LinkStatus.USED: (
        410,
        _l("This link has already been used"),
        _l(
            "A set-password link works only once, and a newer link replaces older ones. If you "
            "have set your password, log in with it; otherwise ask for a new link."
        ),
    ),
    LinkStatus.EXPIRED: (
        410,
        _l("This link has expired"),
        _l(
            "Ask an administrator for a new link, or use \u201cForgot password?\u201d on the "
            "login page."
        ),
    ),
    LinkStatus.INACTIVE: (
        403,
        _l("This account is deactivated"),
        _l("Ask an administrator of your organization to reactivate it."),
    ),
}


def smtp_settings() -> SmtpSettings | None:
    """The configured mail server, or None when ``NEGOSCOPE_SMTP_URL`` is unset."""
    url = current_app.config.get("SMTP_URL")
    return parse_smtp_url(url) if url else None


def link_url(token: str) -> str:
    """The public address of a set-password link."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/set-password/{token}"


@bp.get("/set-password/<token>")
def open_link(token: str) -> ResponseReturnValue:
    """Keep the link's hash in the session and redirect, so the token leaves the address bar."""
    session[LINK_KEY] = hash_token(token) if looks_like_token(token) else ""
    return redirect(url_for("auth.set_password"), 303)


@bp.route("/set-password", methods=["GET", "POST"])
def set_password() -> ResponseReturnValue:
    """Choose a password through the link held in the session; logs this browser out."""
    token_hash = session.get(LINK_KEY) or None
    now = _now()
    check = staff.check_link(token_hash, now)
    if token_hash is None or check.status is not LinkStatus.OK:
        return _problem(check.status)
    form = SetPasswordForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return _form(form, check, status)
    if problem := password_problem(form.new.data, email=check.email):
        form.new.errors = [problem]
        return _form(form, check, 400)
    password_hash = hash_password(form.new.data)  # slow: before taking the write lock
    begin_write()
    result = staff.redeem_link(token_hash, password_hash, now, request.remote_addr)
    if result.status is not LinkStatus.OK:
        db.session.rollback()
        return _problem(result.status)
    accounts.end_session(session.get(SESSION_KEY))  # whoever was logged in on this browser
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Your password is set. Log in with your email and the new password."), "info")
    return redirect(url_for("auth.login"), 303)


def _form(form: SetPasswordForm, check: staff.LinkCheck, status: int) -> ResponseReturnValue:
    return render_template(
        "auth/set_password.html", form=form, email=check.email, purpose=check.purpose
    ), status


def _problem(status: LinkStatus) -> ResponseReturnValue:
    code, title, advice = _PROBLEMS.get(status, _PROBLEMS[LinkStatus.INVALID])
    return render_template("auth/link_problem.html", title=title, advice=advice), code


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for a reset link; the answer never tells whether the email has an account."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("auth/forgot.html", form=form), status
    settings = smtp_settings()  # before anything: a bad setting fails every request alike
    begin_write()
    result = staff.request_reset(
        form.email.data, request.remote_addr, _now(), mail_enabled=settings is not None
    )
    db.session.commit()
    if result.retry_after is not None:
        minutes = max(1, -(-int(result.retry_after.total_seconds()) // 60))
        message = ngettext(
            "Too many requests. Try again in %(num)d minute.",
            "Too many requests. Try again in %(num)d minutes.",
            minutes,
        )
        seconds = str(max(1, int(result.retry_after.total_seconds())))
        return (
            render_template("auth/forgot.html", form=form, error=message),
            429,
            {"Retry-After": seconds},
        )
    if settings is None:
        current_app.logger.warning(
            "password reset requested, but mail is not configured (NEGOSCOPE_SMTP_URL): "
            "no link sent; an admin can issue one on the staff page"
        )
    elif result.link is not None:
        _send_reset(settings, result.link)
    return render_template("auth/forgot.html", form=ForgotPasswordForm(formdata=None), sent=True)


def _send_reset(settings: SmtpSettings, link: staff.IssuedLink) -> None:
    try:
        message = password_reset_message(
            to=link.email,
            link=link_url(link.token),
            expires_at=link.expires_at,
            sender=settings.sender or DEFAULT_SENDER,
        )
    except ValueError as error:
        current_app.logger.warning("password reset email not sent: %s", error)
        return
    staff.send_in_background(settings, message, "password reset email")
