"""Single sign-on for staff with OpenID Connect: settings, matching, local-password policy.

The protocol itself (discovery, authorization code with PKCE, ID token
signature, issuer, audience, nonce and expiry checks) is Authlib's; see
:mod:`survey.web.auth.sso`. This module decides who may sign in: the provider
must vouch for an email (``email_verified`` not false) in the organization's
allowed domain, and an active account with that email must already belong to
the organization. Nothing here creates accounts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import func, select

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Membership, Organization, SsoSettings, User
from survey.services import accounts, audit

__all__ = [
    "SsoRefused",
    "SsoSettingsError",
    "SsoSettingsInput",
    "email_domain",
    "match_user",
    "password_login_allowed",
    "provider_for_email",
    "save_settings",
    "settings_for",
]

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SsoSettingsError(ValueError):
    """Settings an admin entered that cannot work; the message says which field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SsoRefused(Exception):
    """A sign-in the provider completed but Negoscope refuses; the message is for the user."""


@dataclass(frozen=True)
class SsoSettingsInput:
    """What the admin page submits; ``client_secret`` None keeps the stored one."""

    issuer: str
    client_id: str
    client_secret: str | None
    allowed_domain: str
    enabled: bool
    password_login: bool


def settings_for(org: Organization) -> SsoSettings | None:
    """The organization's single sign-on settings, if any were saved."""
    return db.session.get(SsoSettings, org.id)


def email_domain(email: str) -> str:
    """The lower-case domain of an email address ('' when there is none)."""
    _, _, domain = accounts.normalize_email(email).rpartition("@")
    return domain


def provider_for_email(email: str) -> SsoSettings | None:
    """The enabled settings whose allowed domain is the email's domain."""
    domain = email_domain(email)
    if not domain:
        return None
    return db.session.scalar(
        select(SsoSettings).where(
            SsoSettings.enabled.is_(True), SsoSettings.allowed_domain == domain
        )
    )


def save_settings(
    org: Organization, data: SsoSettingsInput, *, actor: User, allow_http_loopback: bool = False
) -> SsoSettings:
    """Validate and store the settings, audited; raises :class:`SsoSettingsError`.

    The issuer must be an ``https`` URL; ``allow_http_loopback`` also accepts
    ``http`` on a loopback address (tests and local providers only).
    Switching local passwords off needs single sign-on switched on, so that an
    organization never locks its own staff out.
    """
    issuer = data.issuer.strip().rstrip("/")
    _check_issuer(issuer, allow_http_loopback)
    client_id = data.client_id.strip()
    if not client_id:
        raise SsoSettingsError("client_id", _("Enter the client id the provider gave you."))
    domain = data.allowed_domain.strip().lower().lstrip("@")
    if not _DOMAIN.match(domain):
        raise SsoSettingsError(
            "allowed_domain", _("Enter an email domain such as example.com (no @, no spaces).")
        )
    taken = db.session.scalar(
        select(func.count())
        .select_from(SsoSettings)
        .where(SsoSettings.allowed_domain == domain, SsoSettings.organization_id != org.id)
    )
    if taken:
        raise SsoSettingsError(
            "allowed_domain",
            _("Another organization already signs in %(domain)s addresses.", domain=domain),
        )
    if not data.password_login and not data.enabled:
        raise SsoSettingsError(
            "password_login",
            _("Local passwords can only be switched off while single sign-on is on."),
        )
    row = settings_for(org)
    secret = (data.client_secret or "").strip()
    if row is None and not secret:
        raise SsoSettingsError("client_secret", _("Enter the client secret the provider gave you."))
    if row is None:
        row = SsoSettings(organization_id=org.id)
        db.session.add(row)
    row.issuer, row.client_id, row.allowed_domain = issuer, client_id, domain
    if secret:
        row.client_secret = secret
    row.enabled, row.password_login = data.enabled, data.password_login
    row.updated_at = utcnow()
    audit.record(
        "sso_settings_changed",
        actor=actor,
        organization_id=org.id,
        target=issuer,
        detail=(
            f"single sign-on {'on' if data.enabled else 'off'} for {domain}; local passwords "
            f"{'allowed' if data.password_login else 'off'}"
            + ("; new client secret" if secret else "")
        ),
    )
    db.session.flush()
    return row


def _check_issuer(issuer: str, allow_http_loopback: bool) -> None:
    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and allow_http_loopback and _is_loopback(parts.hostname):
        return
    raise SsoSettingsError(
        "issuer",
        _(
            "Enter the provider's issuer URL, starting with https:// "
            "(e.g. https://login.example.com)."
        ),
    )


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def match_user(settings: SsoSettings, claims: Mapping[str, Any]) -> User:
    """The account a verified ID token's claims sign in to; raises :class:`SsoRefused`."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SsoRefused(_("Your organization's sign-in did not tell us your email address."))
    if claims.get("email_verified") is False:
        raise SsoRefused(_("Your organization's sign-in has not verified your email address."))
    if email_domain(email) != settings.allowed_domain:
        raise SsoRefused(
            _(
                "%(email)s is not an address of %(domain)s; sign in with your work account.",
                email=email,
                domain=settings.allowed_domain,
            )
        )
    user = accounts.find_user(email)
    member = user is not None and db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.user_id == user.id,
            Membership.organization_id == settings.organization_id,
        )
    )
    if user is None or not user.active or not member:
        raise SsoRefused(
            _(
                "There is no active Negoscope account for %(email)s in this organization. "
                "Ask one of its administrators to invite you.",
                email=email,
            )
        )
    return user


def password_login_allowed(user: User) -> bool:
    """False when an organization the user belongs to has switched local passwords off."""
    blocked = db.session.scalar(
        select(func.count())
        .select_from(SsoSettings)
        .join(Membership, Membership.organization_id == SsoSettings.organization_id)
        .where(
            Membership.user_id == user.id,
            SsoSettings.enabled.is_(True),
            SsoSettings.password_login.is_(False),
        )
    )
    return not blocked
