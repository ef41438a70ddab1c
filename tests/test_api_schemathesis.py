"""Property-based requests built from the OpenAPI description find no server error."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from curemap.web import create_app


def test_no_request_makes_a_server_error(built_store):
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(built_store))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/studies", "/api/papers", "/api/changes", "/api/strategies/{strategy_id}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(checks=[not_a_server_error])

        check()
