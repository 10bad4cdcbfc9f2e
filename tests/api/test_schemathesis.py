"""Schemathesis against the API's own OpenAPI document, on both databases.

Every operation gets generated requests (with valid read and write tokens and,
mostly, ids of the seeded organization's real objects); no answer may be a
server error, and every answer must match the document: status code, content
type, headers and body schema.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ApiWorld

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 20
SLOW = {"POST /api/v1/organizations/{org_id}/rounds/{round_id}/exports": 4}


def _real_ids(w: ApiWorld) -> dict[str, list[int]]:
    world = w.world
    return {
        "team_id": [world.team_id, world.other_team_id],
        "round_id": [world.round_id, world.report_round_id],
        "member_id": [world.participant_id],
        "job_id": [1, 2],
    }


def test_every_operation_conforms_and_never_fails(app, api_world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    real = _real_ids(api_world)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        examples = SLOW.get(label, EXAMPLES)

        @given(case=operation.as_strategy(), data=st.data())
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case, data) -> None:  # type: ignore[no-untyped-def]
            params = case.path_parameters or {}
            if "org_id" in params:
                params["org_id"] = api_world.world.org_id
            for name, ids in real.items():
                if name in params and data.draw(st.booleans()):
                    params[name] = data.draw(st.sampled_from(ids))
            which = "write" if case.method.upper() in ("POST", "PATCH") else "read"
            case.call_and_validate(headers=api_world.auth(which), checks=CHECKS)

        run()
