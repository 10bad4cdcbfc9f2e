"""A coach's home: their teams and rounds with completion; never individual answers."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from survey.services.coaching import coach_overview

bp = Blueprint("coach", __name__, url_prefix="/coach")


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The coach's teams and how far each round has come."""
    return render_template(
        "coach/index.html",
        entries=coach_overview(current_user),
    )
