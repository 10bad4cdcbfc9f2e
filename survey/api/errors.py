"""JSON errors for the API: every status under ``/api/`` answers JSON, never an HTML page.

The app's error handlers (:mod:`survey.web.errors`) ask :func:`is_api_request`
first and hand API requests here; the body is flask-smorest's error payload
(``code``, ``status``, ``message``, ``errors``), the ``Error`` schema the
OpenAPI document gives as every operation's default response.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

API_ROOT = "/api"
EXTENSION = "negoscope_api"


def is_api_request() -> bool:
    """Whether the request is for the JSON API (its errors are JSON)."""
    return request.path == API_ROOT or request.path.startswith(API_ROOT + "/")


def http_error(error: HTTPException) -> ResponseReturnValue:
    """An HTTP error as flask-smorest's JSON payload, with a message always present."""
    api = current_app.extensions[EXTENSION]
    payload, status, headers = api.handle_http_exception(error)
    payload.setdefault("message", error.description or error.name)
    return jsonify(payload), status, headers


def server_error(unavailable: bool = False) -> ResponseReturnValue:
    """A 500 (or 503 when the database is unavailable) as JSON; no details of the failure."""
    if unavailable:
        error: HTTPException = ServiceUnavailable(
            "The service is busy or being restarted; send the request again in a few seconds."
        )
        body, status, headers = http_error(error)
        return body, status, {**dict(headers), "Retry-After": "5"}
    return http_error(InternalServerError("The error has been logged. Please try again."))
