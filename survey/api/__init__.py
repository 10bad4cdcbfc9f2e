"""The JSON API under ``/api/v1`` (flask-smorest): its OpenAPI 3.1 document is built from
the code (schemas and decorators), served at ``/api/v1/openapi.json`` and browsable
at ``/api/v1/docs``.

Views stay thin: authenticate the token (:mod:`survey.api.auth`), parse
(:mod:`survey.api.schemas`), call a service, commit, answer. Errors under
``/api/`` are JSON (:mod:`survey.api.errors`). This module imports nothing at
load time, so :mod:`survey.web.errors` may import :mod:`survey.api.errors`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

API_PREFIX = "/api/v1"
SECURITY_SCHEME = "bearerAuth"


def init_app(app: Flask) -> None:
    """Register the API, its document, its docs page, and webhook queuing."""
    from flask_smorest import Api

    from survey.api import docs, errors, exports, results, rounds, teams
    from survey.extensions import csrf
    from survey.services import webhooks
    from survey.web.inputs import MAX_ID, IdConverter

    class NegoscopeApi(Api):  # type: ignore[misc]
        """flask-smorest's Api, leaving error pages to the app (JSON under /api/ only)."""

        def _register_error_handlers(self) -> None:
            pass

    app.config.setdefault("API_TITLE", "Negoscope API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = NegoscopeApi(
        spec_kwargs={
            "info": {
                "description": (
                    "Teams, members, rounds, invitation links, released team results and"
                    " anonymized exports of one organization. Authenticate with an API token"
                    " made by an admin on the organization's *API and webhooks* page, sent as"
                    " `Authorization: Bearer TOKEN`; read tokens may only read. Results follow"
                    " the dashboards' privacy rules: released snapshots only, coarsened figures,"
                    " nothing for a team under the anonymity threshold."
                )
            },
            "security": [{SECURITY_SCHEME: []}],
        }
    )
    api.init_app(app)
    api.spec.components.security_scheme(
        SECURITY_SCHEME,
        {"type": "http", "scheme": "bearer", "description": "An organization's API token"},
    )
    api.register_converter(IdConverter, _id_schema(MAX_ID))
    app.extensions[errors.EXTENSION] = api
    for module in (teams, rounds, results, exports):
        api.register_blueprint(module.blp)
        csrf.exempt(module.blp)
    app.register_blueprint(docs.bp)
    webhooks.init_app(app)


def _id_schema(maximum: int) -> Any:
    def schema(_converter: Any) -> dict[str, Any]:
        return {"type": "integer", "minimum": 0, "maximum": maximum}

    return schema
