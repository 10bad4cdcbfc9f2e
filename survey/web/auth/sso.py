"""Staff sign-in through the organization's OpenID Connect provider (Authlib).

``POST /login/sso`` takes a work email, finds the organization whose allowed
domain it is and redirects to its provider (authorization code flow with
PKCE, state and nonce kept in the signed session). The provider returns to
``/login/sso/<org>/callback``; Authlib exchanges the code, checks the ID
token's signature against the provider's keys and its issuer, audience, nonce
and expiry; :func:`survey.services.sso.match_user` then decides which account
it signs in to, and the session starts exactly like a password login.
"""

from __future__ import annotations

import hashlib
import os

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user
from joserfc.errors import JoseError
from sqlalchemy import func, select

from survey.database import begin_write
from survey.extensions import db
from survey.models import Organization, SsoSettings
from survey.services import accounts, sso
from survey.web.auth import views
from survey.web.auth.forms import LoginForm, SsoLoginForm

bp = views.bp
oauth = OAuth()
_CLAIMS = "openid email"


def init_app(app: Flask) -> None:
    """Attach Authlib's registry (clients are registered per organization on first use).

    Authlib refuses plain-http token endpoints unless ``AUTHLIB_INSECURE_TRANSPORT``
    is set; it is set only when ``SSO_ALLOW_HTTP_LOOPBACK`` is on, and
    :func:`survey.services.sso.save_settings` still accepts http on loopback only.
    """
    oauth.init_app(app)
    if app.config["SSO_ALLOW_HTTP_LOOPBACK"]:
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


def _client(settings: SsoSettings):  # type: ignore[no-untyped-def]
    """Authlib's client for these settings; new settings get a new registry entry."""
    version = hashlib.sha256(
        "\n".join((settings.issuer, settings.client_id, settings.client_secret)).encode()
    ).hexdigest()[:16]
    name = f"org{settings.organization_id}-{version}"
    if oauth.create_client(name) is None:
        oauth.register(
            name,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": _CLAIMS, "code_challenge_method": "S256", "timeout": 10},
        )
    return oauth.create_client(name)


@bp.context_processor
def _sso_choice() -> dict[str, object]:
    """Offer single sign-on on the login page when an organization has it on."""
    available = db.session.scalar(
        select(func.count()).select_from(SsoSettings).where(SsoSettings.enabled.is_(True))
    )
    return {"sso_available": bool(available), "sso_form": SsoLoginForm(formdata=None)}


def _login_page(sso_form: SsoLoginForm, error: str, status: int) -> ResponseReturnValue:
    form = LoginForm(formdata=None)
    return (
        render_template("auth/login.html", form=form, sso_form=sso_form, sso_error=error),
        status,
    )


@bp.post("/login/sso")
def sso_start() -> ResponseReturnValue:
    """Send a work email's owner to their organization's provider."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SsoLoginForm()
    if not form.validate_on_submit():
        return _login_page(form, "", 400)
    settings = sso.provider_for_email(form.email.data)
    if settings is None:
        return _login_page(
            form,
            _("No single sign-on is set up for that email domain. Log in with your password."),
            400,
        )
    client = _client(settings)
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError):
        current_app.logger.warning(
            "SSO provider of organization %s unreachable", settings.organization_id
        )
        return _login_page(
            form, _("Your organization's sign-in service cannot be reached. Try again later."), 502
        )
    if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer:
        return _login_page(
            form,
            _("Your organization's sign-in service is misconfigured (issuer). Tell an admin."),
            502,
        )
    redirect_uri = url_for("auth.sso_callback", org_id=settings.organization_id, _external=True)
    return client.authorize_redirect(redirect_uri, login_hint=form.email.data)


@bp.get("/login/sso/<int:org_id>/callback")
def sso_callback(org_id: int) -> ResponseReturnValue:
    """Finish the provider's sign-in and start a Negoscope session."""
    org = db.session.get(Organization, org_id)
    settings = sso.settings_for(org) if org is not None else None
    if settings is None or not settings.enabled:
        return _failed(_("Single sign-on is not set up for this organization."), 404)
    client = _client(settings)
    try:
        token = client.authorize_access_token(
            claims_options={"iss": {"essential": True, "value": settings.issuer}}
        )
    except OAuthError as error:
        reason = error.error or "refused"
        return _failed(_("Sign-in was not completed (%(reason)s). Try again.", reason=reason), 400)
    except JoseError:
        return _failed(_("Your organization's sign-in could not be verified. Try again."), 400)
    except requests.RequestException:
        return _failed(
            _("Your organization's sign-in service cannot be reached. Try again later."), 502
        )
    claims = token.get("userinfo")
    if not claims:
        return _failed(_("Your organization's sign-in sent no identity. Try again."), 400)
    begin_write()
    try:
        user = sso.match_user(settings, claims)
    except sso.SsoRefused as refused:
        db.session.rollback()
        return _failed(str(refused), 403)
    now = views._now()
    session.clear()  # a fresh session id at login
    session[views.SESSION_KEY] = accounts.log_in(
        user, now, request.remote_addr, method=f"single sign-on ({settings.issuer})"
    )
    session.permanent = True
    login_user(user)
    db.session.commit()
    return redirect(url_for("home.index"))


def _failed(message: str, status: int) -> ResponseReturnValue:
    return _login_page(SsoLoginForm(formdata=None), message, status)
