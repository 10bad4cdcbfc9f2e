"""Forms of the admin pages (Flask-WTF, CSRF included)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from survey.i18n import LANGUAGE_NAMES
from survey.web.inputs import DateInRange, SingleLine


class TeamForm(FlaskForm):
    """A team name."""

    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=200), SingleLine()])


class TimezoneForm(FlaskForm):
    """The organization's time zone, an IANA name."""

    timezone = StringField(
        _l("Time zone"), validators=[DataRequired(), Length(max=64), SingleLine()]
    )


class LanguageForm(FlaskForm):
    """The language of the organization's invitation and reminder emails."""

    language = SelectField(
        _l("Language of invitation and reminder emails"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        validators=[DataRequired(_l("Choose one of the listed languages."))],
    )


class MemberForm(FlaskForm):
    """One member: a name, an email, or both."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=200), SingleLine()])
    email = EmailField(_l("Email"), validators=[Optional(), SingleLine(), Email(), Length(max=320)])


class MoveForm(FlaskForm):
    """Another team of the organization for a member."""

    team = SelectField(_l("Move to team"), coerce=int, validators=[DataRequired()])


class UploadForm(FlaskForm):
    """A CSV file of members (name, email, team, optionally move)."""

    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file to upload."))])
    move = BooleanField(_l("Move members who are already in another team to the team in the file"))


class InstrumentUploadForm(FlaskForm):
    """An instrument definition (YAML file)."""

    file = FileField(
        _l("Instrument file (YAML)"), validators=[FileRequired(_l("Choose a YAML file to upload."))]
    )


class ConfirmUploadForm(FlaskForm):
    """The previewed CSV, sent back to be saved."""

    payload = HiddenField(validators=[DataRequired()])
    move = HiddenField()


class AssignCoachForm(FlaskForm):
    """Pick a coach of the organization."""

    coach = SelectField(_l("Coach"), coerce=int, validators=[DataRequired()])


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RoundForm(FlaskForm):
    """A new round."""

    name = StringField(_l("Round name"), validators=[DataRequired(), Length(max=200), SingleLine()])
    instrument = SelectField(_l("Instrument"), coerce=int, validators=[DataRequired()])
    teams = MultiCheckboxField(
        _l("Teams"), coerce=int, validators=[DataRequired(_l("Choose at least one team."))]
    )
    opens_on = DateField(_l("Opens on"), validators=[Optional(), DateInRange()])
    closes_on = DateField(_l("Closes on"), validators=[DataRequired(), DateInRange()])
    mode = RadioField(
        _l("Mode"),
        choices=[
            SelectChoice(
                "confidential",
                _l("Confidential: answers are linked to the invitation, so people can resume"),
            ),
            SelectChoice(
                "anonymous",
                _l("Anonymous: once submitted, nothing links the answers to the person"),
            ),
        ],
        default="confidential",
        validators=[DataRequired()],
    )


class ExtendForm(FlaskForm):
    """A later closing date."""

    closes_on = DateField(_l("New closing date"), validators=[DataRequired(), DateInRange()])


def choices(pairs: list[tuple[object, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]
