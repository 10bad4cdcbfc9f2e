"""HTTP layer: one blueprint per audience, plus errors and response headers."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import current_user

from survey.services import access
from survey.web import errors, headers, home, inputs, system
from survey.web.admin import bp as admin_bp
from survey.web.auth import bp as auth_bp
from survey.web.auth import sso as auth_sso
from survey.web.coach import bp as coach_bp
from survey.web.respond import bp as respond_bp


def register_web(app: Flask) -> None:
    """Attach every blueprint, error handler and header policy to ``app``."""
    inputs.install(app)  # before the blueprints: their rules pick up the id converter
    app.register_blueprint(system.bp)
    app.register_blueprint(respond_bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(auth_bp)
    auth_sso.init_app(app)
    app.register_blueprint(admin_bp)
    app.register_blueprint(coach_bp)
    if app.config.get("BENCH_ROUTES"):
        from survey.web import bench_routes

        app.register_blueprint(bench_routes.bp)
    errors.register(app)
    headers.register(app)

    @app.context_processor
    def _navigation() -> dict[str, Any]:
        if current_user.is_authenticated:
            return {"is_admin": bool(access.admin_organizations(current_user))}
        return {"is_admin": False}
