"""HTTP layer: one blueprint per audience, plus errors and response headers."""

from __future__ import annotations

from flask import Flask

from survey.web import errors, headers, system
from survey.web.respond import bp as respond_bp


def register_web(app: Flask) -> None:
    """Attach every blueprint, error handler and header policy to ``app``."""
    app.register_blueprint(system.bp)
    app.register_blueprint(respond_bp)
    errors.register(app)
    headers.register(app)
