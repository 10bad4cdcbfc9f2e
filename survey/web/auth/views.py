"""Login sessions live on the server: the cookie carries a random id, logout deletes it.

A session's idle timer is saved by :func:`_refresh_login` before the view runs,
in a short write transaction of its own; loading the user only reads. The
``AUTH_CLOCK`` setting (a callable returning an aware UTC datetime, default
:func:`~survey.dbtypes.utcnow`) lets tests move time.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError

from survey.database import begin_write, is_unavailable
from survey.dbtypes import utcnow
from survey.extensions import db, login_manager
from survey.models import User
from survey.services import accounts, sso
from survey.services.accounts import LoginOutcome, PasswordChange, SessionPolicy, SessionState
from survey.services.passwords import password_problem
from survey.web.auth.forms import ChangePasswordForm, EmptyForm, LoginForm

bp = Blueprint("auth", __name__)
SESSION_KEY = "auth_sid"
# Marks a browser that has logged in to an account before (see survey.services.accounts).
DEVICE_COOKIE = "negoscope_device"

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"


def _now() -> datetime:
    clock = current_app.config.get("AUTH_CLOCK")
    return clock() if clock is not None else utcnow()


def _policy() -> SessionPolicy:
    return SessionPolicy(
        idle=current_app.config["AUTH_IDLE_TIMEOUT"],
        absolute=current_app.config["AUTH_ABSOLUTE_TIMEOUT"],
    )


@bp.before_app_request
def _refresh_login() -> None:
    """Save the session's idle timer, or delete an ended session, before the view runs.

    Only when the touch interval has passed, and as a write transaction of its
    own committed at once, so no page renders while holding the write lock. A
    database too busy to take the write is logged and skipped: the page is
    still served and the next request tries again.
    """
    session_id = session.get(SESSION_KEY)
    if not session_id or request.endpoint == "static":
        return
    now, policy = _now(), _policy()
    state = accounts.session_state(session_id, policy, now)
    if state not in (SessionState.DUE, SessionState.ENDED):
        return
    try:
        begin_write()
        if state is SessionState.DUE:
            accounts.touch_session(session_id, policy, now)
        else:
            accounts.end_session(session_id)
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        if not is_unavailable(error):
            raise
        current_app.logger.warning("login session not refreshed: %s", type(error).__name__)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The user of the live login session; reads only (see :func:`_refresh_login`)."""
    user = accounts.resume_session(session.get(SESSION_KEY), _policy(), _now())
    if user is None or str(user.id) != user_id:
        session.pop(SESSION_KEY, None)
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Email and password; failures never say which of the two was wrong."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.is_submitted() else 200
    begin_write()
    now = _now()
    secret = current_app.config["SECRET_KEY"]
    device = accounts.trusted_device(request.cookies.get(DEVICE_COOKIE), form.email.data, secret)
    result = accounts.authenticate(
        form.email.data, form.password.data, request.remote_addr, now, device=device
    )
    if result.outcome is LoginOutcome.THROTTLED:
        db.session.commit()
        return _throttled("auth/login.html", form, result.retry_after)
    if result.outcome is LoginOutcome.WRONG or result.user is None:
        accounts.record_failed_login(form.email.data, request.remote_addr)
        db.session.commit()
        current_app.logger.warning("failed login from %s", request.remote_addr)
        error = _("Wrong email or password.")
        return render_template("auth/login.html", form=form, error=error), 401
    user = result.user
    if not sso.password_login_allowed(user):
        db.session.rollback()
        message = _(
            "Your organization signs in with single sign-on only: "
            "use “Sign in with your organization” below."
        )
        return render_template("auth/login.html", form=form, error=message), 403
    session.clear()  # a fresh session id at login
    session[SESSION_KEY] = accounts.log_in(user, now, request.remote_addr)
    session.permanent = True
    login_user(user)
    accounts.prune_expired(_policy(), now)
    db.session.commit()
    response = redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
    cookie, _expires = accounts.device_cookie(user.email, secret, device)
    response.set_cookie(
        DEVICE_COOKIE,
        cookie,
        max_age=int(accounts.DEVICE_COOKIE_MAX_AGE.total_seconds()),
        path=url_for("auth.login"),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Strict",
    )
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session on the server and in the browser."""
    EmptyForm().validate_on_submit()
    user = current_user if current_user.is_authenticated else None
    begin_write()
    accounts.log_out(session.get(SESSION_KEY), user)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change one's own password; other sessions end."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form), 400 if form.is_submitted() else 200
    problem = password_problem(form.new.data, email=current_user.email)
    if problem:
        form.new.errors = [problem]
        return render_template("auth/password.html", form=form), 400
    begin_write()
    user = db.session.get(User, current_user.id)
    assert user is not None
    outcome, wait = accounts.change_password(user, form.current.data, form.new.data, _now())
    if outcome is PasswordChange.THROTTLED:
        db.session.commit()
        return _throttled("auth/password.html", form, wait)
    if outcome is PasswordChange.WRONG:
        db.session.commit()  # the failure counts
        form.current.errors = [_("That is not your current password.")]
        return render_template("auth/password.html", form=form), 400
    session[SESSION_KEY] = accounts.start_session(user, _now())
    db.session.commit()
    return render_template("auth/password.html", form=ChangePasswordForm(formdata=None), done=True)


def _throttled(template: str, form: FlaskForm, retry_after: timedelta | None):  # type: ignore[no-untyped-def]
    """The form again with a 429, saying how long to wait."""
    seconds = max(1, int(retry_after.total_seconds())) if retry_after else 60
    minutes = math.ceil(seconds / 60)
    message = ngettext(
        "Too many failed attempts. Try again in %(num)d minute.",
        "Too many failed attempts. Try again in %(num)d minutes.",
        minutes,
    )
    return render_template(template, form=form, error=message), 429, {"Retry-After": str(seconds)}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
