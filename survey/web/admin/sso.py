"""An organization's single sign-on settings (OpenID Connect)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, URLField
from wtforms.validators import DataRequired, Length, Optional

from survey.database import begin_write
from survey.extensions import db
from survey.models import Organization
from survey.services import sso
from survey.web.admin import bp
from survey.web.authz import admin_org
from survey.web.inputs import SingleLine


class SsoForm(FlaskForm):
    """The provider's issuer and client, the allowed email domain and the two switches."""

    issuer = URLField(_l("Issuer URL"), validators=[DataRequired(), Length(max=300), SingleLine()])
    client_id = StringField(
        _l("Client id"), validators=[DataRequired(), Length(max=200), SingleLine()]
    )
    client_secret = PasswordField(
        _l("Client secret"), validators=[Optional(), Length(max=300), SingleLine()]
    )
    allowed_domain = StringField(
        _l("Allowed email domain"), validators=[DataRequired(), Length(max=253), SingleLine()]
    )
    enabled = BooleanField(_l("Staff can sign in with this provider"))
    password_login = BooleanField(
        _l("Staff can also log in with a Negoscope password"), default=True
    )


@bp.route("/<int:org_id>/sso", methods=["GET", "POST"])
def sso_settings(org_id: int) -> ResponseReturnValue:
    """Show and change the settings; the client secret is never shown back."""
    org = admin_org(org_id)
    stored = sso.settings_for(org)
    form = SsoForm(obj=stored) if stored is not None else SsoForm()
    if not form.validate_on_submit():
        return _render(org, form, 400 if form.is_submitted() else 200)
    begin_write()
    org = admin_org(org_id)
    try:
        sso.save_settings(
            org,
            sso.SsoSettingsInput(
                issuer=form.issuer.data,
                client_id=form.client_id.data,
                client_secret=form.client_secret.data or None,
                allowed_domain=form.allowed_domain.data,
                enabled=form.enabled.data,
                password_login=form.password_login.data,
            ),
            actor=current_user,
            allow_http_loopback=current_app.config["SSO_ALLOW_HTTP_LOOPBACK"],
        )
    except sso.SsoSettingsError as error:
        db.session.rollback()
        getattr(form, error.field).errors = [str(error)]
        return _render(admin_org(org_id), form, 400)
    db.session.commit()
    flash(_("Single sign-on settings saved."), "success")
    return redirect(url_for("admin.sso_settings", org_id=org_id))


def _render(org: Organization, form: SsoForm, status: int) -> ResponseReturnValue:
    stored = sso.settings_for(org)
    callback = url_for("auth.sso_callback", org_id=org.id, _external=True)
    return render_template(
        "admin/sso.html", org=org, form=form, stored=stored, callback=callback
    ), status
