"""Browsable API docs at ``/api/v1/docs``: Swagger UI from the installed swagger_ui_bundle.

Nothing is fetched from elsewhere at run time, and the page keeps the app's
Content-Security-Policy for scripts (no inline script; only ``data:`` images
are added, for Swagger UI's icons): its start-up code is a static file
(``survey/api/static/docs.js``) that loads ``/api/v1/openapi.json``.
swagger_ui_bundle ships Swagger UI 4.15, which renders OpenAPI 3.0 only, so
that script hands it a 3.0 reading of the 3.1 document for display (nullable
types written the 3.0 way); the document served to clients stays 3.1.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from swagger_ui_bundle import swagger_ui_path

from survey.web.headers import CONTENT_SECURITY_POLICY

bp = Blueprint(
    "api_docs",
    __name__,
    url_prefix="/api/v1/docs",
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
)

#: The Swagger UI files the page loads (nothing else of the bundle is served).
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"})


#: The app's policy, plus ``data:`` images: Swagger UI draws its small icons as data-URI
#: SVGs. Scripts stay 'self' only (an image cannot run script), on this page alone.
DOCS_POLICY = CONTENT_SECURITY_POLICY + "; img-src 'self' data:"


@bp.get("")
def page() -> ResponseReturnValue:
    """The browsable documentation."""
    return render_template("api/docs.html"), 200, {"Content-Security-Policy": DOCS_POLICY}


@bp.get("/swagger-ui/<name>")
def asset(name: str) -> ResponseReturnValue:
    """One of Swagger UI's files, from the installed package."""
    if name not in ASSETS:
        abort(404)
    response = send_from_directory(str(swagger_ui_path), name, max_age=3600)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
