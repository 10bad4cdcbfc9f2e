"""The admin POST pattern in one place: write, commit, say what happened, redirect.

A state-changing admin view checks what it can without the write lock (the
organization, the confirmation box), then hands :func:`change` a function that
does the work inside one write transaction and returns the message to show.
The function raises :class:`Refused` (or a service's
:class:`~survey.services.rounds.RoundStateError`) when the change may not be
made; then nothing is written and the page is shown again with the reason and
a 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField

from survey.database import begin_write
from survey.extensions import db
from survey.services.rounds import RoundStateError


class Refused(Exception):
    """The action may not be done now: ``message`` says why; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ConfirmForm(FlaskForm):
    """An "I understand" box sent with a destructive action's button."""

    confirm = BooleanField(_l("I understand"))


def require_confirmation(what: str) -> None:
    """Raise :class:`Refused` (400) unless the posted form has its "I understand" box ticked."""
    form = ConfirmForm()
    if not (form.validate() and form.confirm.data):
        raise Refused(
            _("Nothing was changed: tick \u201cI understand\u201d to %(what)s.", what=what), 400
        )


def change(
    work: Callable[[], str | tuple[str, str]],
    *,
    done: str | None = None,
    refused: Callable[[int], ResponseReturnValue],
) -> ResponseReturnValue:
    """Run ``work`` in a write transaction and redirect to ``done`` (303) with its message.

    ``work`` returns the message, or ``(message, url)`` to go somewhere only it
    knows (a round it created). When it raises :class:`Refused` or
    ``RoundStateError``, roll back, flash the reason and return
    ``refused(status)`` (the error's status: 409 for a state conflict).
    """
    begin_write()
    try:
        outcome = work()
    except (Refused, RoundStateError) as error:
        db.session.rollback()
        status = error.status
        flash(str(error), "error")
        return refused(status)
    db.session.commit()
    message, location = outcome if isinstance(outcome, tuple) else (outcome, done)
    if location is None:
        raise ValueError("change() needs done= or a (message, url) from work")
    flash(message, "info")
    return redirect(location), 303


def refuse(error: Refused, refused: Callable[[int], ResponseReturnValue]) -> ResponseReturnValue:
    """Show a refusal found before any write: flash the reason, answer ``refused(status)``."""
    db.session.rollback()
    flash(error.message, "error")
    return refused(error.status)
