"""Admin pages: organization overview, teams, rounds, invitations, audit log."""

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _require_login() -> None:
    """Every admin page needs a login; each view then checks the organization."""


from survey.web.admin import (  # noqa: E402,F401
    api_tokens,
    counterparties,
    export,
    instruments,
    jobs,
    overview,
    rounds,
    sso,
    staff,
    teams,
)
