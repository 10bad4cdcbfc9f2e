"""The front door: send each person to their own pages."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from survey.services import access

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Admins to their organization, coaches to their teams, everyone else to login."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if access.admin_organizations(current_user):
        return redirect(url_for("admin.index"))
    return redirect(url_for("coach.index"))
