"""Admin pages for the JSON API: the organization's API tokens and webhook endpoints.

A token's text and an endpoint's secret are shown once, on the page that made
them; only the token's hash is stored (the webhook secret is kept, since
signing needs it, and never shown again). Each webhook delivery and attempt is
listed with its outcome.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import API_SCOPES, WEBHOOK_EVENTS, Organization
from survey.services import api_tokens, webhooks
from survey.web.admin import bp
from survey.web.admin.actions import ConfirmForm
from survey.web.authz import admin_org
from survey.web.inputs import SingleLine

SCOPE_TEXT = {
    "read": _l("read: teams, members, rounds, completion, released results, job status"),
    "write": _l("write: also create and change teams, members and rounds, issue links, export"),
}


class TokenForm(FlaskForm):
    """A new token's name and scope."""

    name = StringField(
        _l("Name (who or what uses it)"),
        validators=[DataRequired(), Length(max=api_tokens.MAX_NAME), SingleLine()],
    )
    scope = RadioField(
        _l("Scope"), choices=[SelectChoice(s, SCOPE_TEXT[s]) for s in API_SCOPES], default="read"
    )


class WebhookForm(FlaskForm):
    """A new endpoint's URL and events."""

    url = StringField(
        _l("Endpoint URL (https)"), validators=[DataRequired(), Length(max=500), SingleLine()]
    )
    events = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(e, e) for e in WEBHOOK_EVENTS],
        default=list(WEBHOOK_EVENTS),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(_l("Choose at least one event."))],
    )


def _render(
    org: Organization,
    token_form: TokenForm | None = None,
    webhook_form: WebhookForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return render_template(
        "admin/api/index.html",
        org=org,
        tokens=api_tokens.tokens_of(org),
        endpoints=webhooks.endpoints_of(org),
        token_form=token_form or TokenForm(formdata=None),
        webhook_form=webhook_form or WebhookForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
        scope_text=SCOPE_TEXT,
    ), status


@bp.get("/<int:org_id>/api")
def api_page(org_id: int) -> ResponseReturnValue:
    """The organization's API tokens and webhook endpoints."""
    return _render(admin_org(org_id))


@bp.post("/<int:org_id>/api/tokens")
def create_api_token(org_id: int) -> ResponseReturnValue:
    """Make a token and show it this once."""
    org = admin_org(org_id)
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(org, token_form=form, status=400)
    begin_write()
    org = admin_org(org_id)
    try:
        token, text = api_tokens.create_token(
            org, form.name.data, form.scope.data, actor=current_user, now=utcnow()
        )
    except api_tokens.TokenProblem as error:
        db.session.rollback()
        form.name.errors = [str(error)]
        return _render(admin_org(org_id), token_form=form, status=400)
    db.session.commit()
    return render_template(
        "admin/api/secret.html",
        org=org,
        title=f"API token {token.name}",
        what="This is the token. Copy it now: it is shown only this once (only a hash is kept).",
        secret=text,
        example=f"Authorization: Bearer {text}",
    )


@bp.post("/<int:org_id>/api/tokens/<int:token_id>/revoke")
def revoke_api_token(org_id: int, token_id: int) -> ResponseReturnValue:
    """Revoke a token at once (asks for "I understand")."""
    org = admin_org(org_id)
    form = ConfirmForm()
    if not (form.validate() and form.confirm.data):
        flash(_("Nothing was changed: tick \u201cI understand\u201d to revoke the token."), "error")
        return _render(org, status=400)
    begin_write()
    token = api_tokens.token_of(admin_org(org_id), token_id)
    if token is None:
        db.session.rollback()
        return _render(admin_org(org_id), status=404)
    revoked = api_tokens.revoke_token(token, actor=current_user, now=utcnow())
    db.session.commit()
    flash(_("The token was revoked.") if revoked else _("The token was already revoked."), "info")
    return redirect(url_for("admin.api_page", org_id=org_id)), 303


@bp.post("/<int:org_id>/api/webhooks")
def create_webhook(org_id: int) -> ResponseReturnValue:
    """Register an endpoint and show its signing secret this once."""
    org = admin_org(org_id)
    form = WebhookForm()
    if not form.validate_on_submit():
        return _render(org, webhook_form=form, status=400)
    begin_write()
    org = admin_org(org_id)
    try:
        endpoint, secret = webhooks.create_endpoint(
            org,
            form.url.data,
            form.events.data,
            actor=current_user,
            now=utcnow(),
            allow_http_loopback=bool(current_app.config.get("WEBHOOK_ALLOW_HTTP_LOOPBACK")),
        )
    except webhooks.WebhookProblem as error:
        db.session.rollback()
        form.url.errors = [str(error)]
        return _render(admin_org(org_id), webhook_form=form, status=400)
    db.session.commit()
    return render_template(
        "admin/api/secret.html",
        org=org,
        title=f"Webhook {endpoint.url}",
        what=(
            "This is the endpoint's signing secret (Standard Webhooks). Copy it to the receiver"
            " now: it is not shown again."
        ),
        secret=secret,
        example=None,
    )


@bp.post("/<int:org_id>/api/webhooks/<int:endpoint_id>/disable")
def disable_webhook(org_id: int, endpoint_id: int) -> ResponseReturnValue:
    """Send nothing more to an endpoint (asks for "I understand")."""
    org = admin_org(org_id)
    form = ConfirmForm()
    if not (form.validate() and form.confirm.data):
        flash(
            _("Nothing was changed: tick \u201cI understand\u201d to disable the webhook."), "error"
        )
        return _render(org, status=400)
    begin_write()
    endpoint = webhooks.endpoint_of(admin_org(org_id), endpoint_id)
    if endpoint is None:
        db.session.rollback()
        return _render(admin_org(org_id), status=404)
    webhooks.disable_endpoint(endpoint, actor=current_user, now=utcnow())
    db.session.commit()
    flash(_("The webhook was disabled."), "info")
    return redirect(url_for("admin.api_page", org_id=org_id)), 303


@bp.get("/<int:org_id>/api/webhooks/<int:endpoint_id>")
def webhook_deliveries(org_id: int, endpoint_id: int) -> ResponseReturnValue:
    """An endpoint's latest deliveries, each attempt with its response code or error."""
    org = admin_org(org_id)
    endpoint = webhooks.endpoint_of(org, endpoint_id)
    if endpoint is None:
        return _render(org, status=404)
    return render_template(
        "admin/api/deliveries.html",
        org=org,
        endpoint=endpoint,
        rows=webhooks.recent_deliveries(endpoint),
    )
