"""Every API operation, called with parameters and bodies that schemathesis generates from
the OpenAPI document, as a user of each role and as nobody: never a server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from cargowatch.app import create_app
from tests.builders import org_with_user, token_for, user_in

ROLES = ("admin", "analyst", "viewer", "ingester")
EXAMPLES = 10  # per operation: a bounded budget that keeps the suite quick


def test_no_server_error_on_any_operation_for_any_role(engine: Engine) -> None:
    org_with_user(engine, "carrier", kind="CARRIER")
    org_with_user(engine, "customs", kind="CUSTOMS")
    for role in ROLES:
        user_in(engine, "carrier", f"carrier-{role}", role)
    tokens: dict[str | None, str] = {r: token_for(engine, f"carrier-{r}") for r in ROLES}
    app = create_app(engine=engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def call(case: Any) -> None:
            for role in (*ROLES, None):
                headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
                response = case.call(headers=headers)
                calls.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(
                        f"{role} {case.method} {case.formatted_path} {case.query} "
                        f"-> {response.status_code} {response.text[:200]}"
                    )

        call()
    assert failures == []
    assert len(calls) >= 5 * len(operations)  # every operation was really exercised
    assert any(c < 300 for c in calls) and any(c == 422 for c in calls)
