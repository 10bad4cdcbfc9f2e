"""Who calls the API: a per-organization bearer token, never a login cookie.

Every API view starts with :func:`organization` (reads) or
:func:`writable_organization` (writes): a missing, malformed, unknown or
revoked token is a 401, another organization's id a 404 (as if it did not
exist), a ``read`` token on a write a 403. Cookies are never read, so a
logged-in browser gets no access to the API without a token; CSRF checks do
not apply (nothing here rides on a cookie).
"""

from __future__ import annotations

from flask import g, request
from flask_smorest import abort

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import ApiToken, Organization
from survey.services import api_tokens

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="negoscope-api"'}


def current_token() -> ApiToken:
    """The request's live token (401 without one); its last use is kept to the minute."""
    token: ApiToken | None = g.get("api_token")
    if token is not None:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        abort(
            401,
            message="Send an API token: 'Authorization: Bearer <token>' (made by an admin"
            " under API tokens).",
            headers=CHALLENGE,
        )
    token = api_tokens.authenticate(value.strip())
    if token is None:
        abort(401, message="The API token is unknown or was revoked.", headers=CHALLENGE)
    now = utcnow()
    if api_tokens.needs_touch(token, now):
        api_tokens.touch(token.id, now)
    g.api_token = token
    g.audit_actor = token.label  # audit entries of this request name the token
    return token


def authenticate() -> None:
    """Every API blueprint's ``before_request``: a valid token first, before any input is read."""
    current_token()


def organization(org_id: int) -> Organization:
    """The token's organization, if ``org_id`` is it (else 404, revealing nothing)."""
    token = current_token()
    if token.organization_id != org_id:
        abort(404, message="No such organization.")
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404, message="No such organization.")
    return org


def writable_organization(org_id: int) -> Organization:
    """:func:`organization` for a change: needs a ``write`` token; opens the write transaction.

    The write is audited (``api_write``) in the same transaction as the change,
    so a refused change leaves no entry.
    """
    token = current_token()
    if token.organization_id != org_id:
        abort(404, message="No such organization.")
    if token.scope != "write":
        abort(403, message="This token may only read; changes need a token with the write scope.")
    begin_write()
    token = db.session.get(ApiToken, token.id)  # again, inside the write transaction
    if token is None or token.revoked_at is not None:
        db.session.rollback()
        abort(401, message="The API token is unknown or was revoked.", headers=CHALLENGE)
    org = organization(org_id)
    api_tokens.record_write(token, request.method, request.path)
    return org


def abort_404(message: str) -> None:
    """Not found, with a message."""
    abort(404, message=message)
