"""Forms of the counterparty pages, shared by the coach's and the admin's (CSRF included)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from survey.models import COUNTERPARTY_KINDS
from survey.models.counterparty import COUNTERPARTY_KIND_LABELS
from survey.web.inputs import DateInRange, SingleLine

MODE_CHOICES = [
    SelectChoice(
        "confidential",
        _l("Confidential: answers are linked to the invitation, so people can resume"),
    ),
    SelectChoice(
        "anonymous", _l("Anonymous: once submitted, nothing links the answers to the person")
    ),
]


class CounterpartyForm(FlaskForm):
    """A counterparty: name, kind, and optionally the deal it is about."""

    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Give the counterparty a name.")),
            Length(max=200),
            SingleLine(),
        ],
    )
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice(k, COUNTERPARTY_KIND_LABELS[k].capitalize()) for k in COUNTERPARTY_KINDS
        ],
        validators=[DataRequired()],
    )
    deal_name = StringField(
        _l("Deal (optional)"), validators=[Optional(), Length(max=200), SingleLine()]
    )


class CounterpartyRoundForm(FlaskForm):
    """A counterparty round: which counterparty, the round's name, closing day and mode.

    ``team`` is used on the admin page only (the coach's page is a team's).
    """

    team = SelectField(_l("Team"), coerce=int, validate_choice=False)
    counterparty = SelectField(
        _l("Counterparty"), coerce=int, validators=[DataRequired(_l("Choose a counterparty."))]
    )
    name = StringField(
        _l("Round name"),
        validators=[DataRequired(_l("Give the round a name.")), Length(max=200), SingleLine()],
    )
    closes_on = DateField(_l("Closes on"), validators=[DataRequired(), DateInRange()])
    mode = RadioField(
        _l("Mode"), choices=MODE_CHOICES, default="confidential", validators=[DataRequired()]
    )


class DeleteCounterpartyForm(FlaskForm):
    """The "I understand" box of a deletion."""

    confirm = BooleanField(_l("I understand"))


def first_problem(form: FlaskForm) -> str:
    """The first validation message of a form, with its field's label."""
    for field in form:
        if field.errors:
            return f"{field.label.text}: {field.errors[0]}"
    return "The form could not be read; send it again."
