"""Forms of the counterparty pages, shared by the coach's and the admin's (CSRF included)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from survey.models import COUNTERPARTY_KINDS
from survey.models.counterparty import COUNTERPARTY_KIND_LABELS
from survey.web.inputs import DateInRange, SingleLine

MODE_CHOICES = [
    SelectChoice(
        "confidential", "Confidential: answers are linked to the invitation, so people can resume"
    ),
    SelectChoice("anonymous", "Anonymous: once submitted, nothing links the answers to the person"),
]


class CounterpartyForm(FlaskForm):
    """A counterparty: name, kind, and optionally the deal it is about."""

    name = StringField(
        "Name",
        validators=[DataRequired("Give the counterparty a name."), Length(max=200), SingleLine()],
    )
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice(k, COUNTERPARTY_KIND_LABELS[k].capitalize()) for k in COUNTERPARTY_KINDS
        ],
        validators=[DataRequired()],
    )
    deal_name = StringField(
        "Deal (optional)", validators=[Optional(), Length(max=200), SingleLine()]
    )


class CounterpartyRoundForm(FlaskForm):
    """A counterparty round: which counterparty, the round's name, closing day and mode.

    ``team`` is used on the admin page only (the coach's page is a team's).
    """

    team = SelectField("Team", coerce=int, validate_choice=False)
    counterparty = SelectField(
        "Counterparty", coerce=int, validators=[DataRequired("Choose a counterparty.")]
    )
    name = StringField(
        "Round name",
        validators=[DataRequired("Give the round a name."), Length(max=200), SingleLine()],
    )
    closes_on = DateField("Closes on", validators=[DataRequired(), DateInRange()])
    mode = RadioField(
        "Mode", choices=MODE_CHOICES, default="confidential", validators=[DataRequired()]
    )


class DeleteCounterpartyForm(FlaskForm):
    """The "I understand" box of a deletion."""

    confirm = BooleanField("I understand")


def first_problem(form: FlaskForm) -> str:
    """The first validation message of a form, with its field's label."""
    for field in form:
        if field.errors:
            return f"{field.label.text}: {field.errors[0]}"
    return "The form could not be read; send it again."
