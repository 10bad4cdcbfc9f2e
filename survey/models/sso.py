"""An organization's OpenID Connect single sign-on settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.dbtypes import UTCDateTime, utcnow
from survey.extensions import db


class SsoSettings(db.Model):
    """How an organization's staff sign in with its identity provider.

    Staff are matched by email: the provider must vouch for an address in
    ``allowed_domain``, and an account with that email must already belong to
    the organization (accounts are never created by a sign-in). With
    ``password_login`` off, the organization's staff cannot log in or reset a
    password locally. ``allowed_domain`` is unique, so an email address leads
    to at most one organization's provider.
    """

    __tablename__ = "organization_sso"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    issuer: Mapped[str] = mapped_column(String(300))
    client_id: Mapped[str] = mapped_column(String(200))
    # Needed in clear text to authenticate to the provider's token endpoint; never shown back.
    client_secret: Mapped[str] = mapped_column(String(300))
    allowed_domain: Mapped[str] = mapped_column(String(253), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    password_login: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
