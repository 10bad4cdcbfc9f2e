"""Browsable API docs at ``/api/v1/docs``: Swagger UI 5 from the installed swagger-ui-py.

Swagger UI 5 reads the OpenAPI 3.1 document as served; nothing is converted.
Nothing is fetched from elsewhere at run time, and the page keeps the app's
Content-Security-Policy for scripts (no inline script; only ``data:`` images
are added, for Swagger UI's icons): its start-up code is a static file
(``survey/api/static/docs.js``) that points Swagger UI at ``/api/v1/openapi.json``.
Only swagger-ui-py's static files are used, not its framework handlers.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Blueprint, abort, render_template, send_from_directory
from flask.typing import ResponseReturnValue

from survey.web.headers import CONTENT_SECURITY_POLICY

bp = Blueprint(
    "api_docs",
    __name__,
    url_prefix="/api/v1/docs",
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
)

#: The Swagger UI files the page loads (nothing else of the package is served).
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
    }
)


def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's files inside the installed swagger-ui-py package.

    Found without importing the package (its import loads handlers we do not use).
    """
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed; it serves the API docs page")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


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
    response = send_from_directory(str(swagger_ui_dir()), name, max_age=3600)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
