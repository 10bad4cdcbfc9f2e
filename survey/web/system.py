"""Health and readiness probes for load balancers and orchestration."""

from __future__ import annotations

from flask import Blueprint, jsonify

from survey.database import readiness_problem

bp = Blueprint("system", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """The process is up; the database is not touched."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    """The database answers and accepts writes (see :func:`readiness_problem`)."""
    problem = readiness_problem()
    if problem is not None:
        return jsonify(status=problem), 503, {"Retry-After": "5"}
    return jsonify(status="ok")
