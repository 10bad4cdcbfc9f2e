"""Login and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from survey.web.inputs import SingleLine


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320), SingleLine()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class SsoLoginForm(FlaskForm):
    """The work email whose organization's provider signs the user in."""

    email = EmailField(_l("Work email"), validators=[DataRequired(), Length(max=320), SingleLine()])


class ChangePasswordForm(FlaskForm):
    """The current password and a new one, twice."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", _l("The two do not match."))],
    )


class ForgotPasswordForm(FlaskForm):
    """The email of the account whose password was forgotten."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320), SingleLine()])


class SetPasswordForm(FlaskForm):
    """A new password, twice (reached through a one-time link)."""

    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", _l("The two do not match."))],
    )


class EmptyForm(FlaskForm):
    """A button that changes state: only the CSRF token."""
