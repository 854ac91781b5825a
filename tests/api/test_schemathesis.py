"""Property-based run over the OpenAPI document: no request, however odd, gets a 5xx."""
from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency")
from hypothesis import HealthCheck, settings as hsettings  # noqa: E402


def test_no_5xx_anywhere(app: Any, agencies: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    key = agencies["MJ"]["key"]
    failures: list[str] = []
    for op_result in schema.get_all_operations():
        operation = op_result.ok()

        @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @schemathesis.given(case=operation.as_strategy())  # type: ignore[misc]
        def check(case: Any) -> None:
            headers = dict(case.headers or {})
            headers.setdefault("Authorization", f"Bearer {key}")
            case.headers = headers
            resp = case.call()
            if resp.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {resp.status_code} {resp.text[:200]}")

        check()
    assert not failures, failures
