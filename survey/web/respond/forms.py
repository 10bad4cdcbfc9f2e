"""Flask-WTF forms of the respondent pages (CSRF included)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class ConsentForm(FlaskForm):
    """The landing page's consent."""

    consent = BooleanField(
        _l("I have read who sees what and agree to take part."),
        validators=[DataRequired(_l("Please tick the box to agree before you start."))],
    )


class SubmitForm(FlaskForm):
    """A form without fields: it carries the CSRF token for a button."""
