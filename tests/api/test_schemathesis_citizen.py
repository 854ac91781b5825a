"""Property-based run over the citizen part of the OpenAPI document (``/api/v1/me/...`` and ``/api/v1/auth/...``)
with a signed-in citizen: the session cookie and the ``X-CSRF-Token`` header on every call, as the PWA sends them.

Whatever schemathesis generates, no 5xx, and every response conforms to the schema (status code documented,
body and content type as described). Logout is left out of the generated run (it would end the session the
rest needs) and checked once at the end. Bounded: a few examples per operation, no deadline.
"""
from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from tests.support.people import Person, enrol

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CITIZEN_PREFIXES = ("/api/v1/me/", "/api/v1/me", "/api/v1/auth/")


def sign_in(app: Any, person: Person) -> tuple[Any, dict[str, str], dict[str, str]]:
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"national_id": person.national_id, "password": person.password,
                                                "otp": person.code()})
    assert r.status_code == 200, r.get_data(as_text=True)
    cookie = client.get_cookie("wallet_sid")
    assert cookie is not None
    headers = {"X-CSRF-Token": r.get_json()["csrf_token"], "Sec-Fetch-Site": "same-origin"}
    return client, headers, {"wallet_sid": cookie.value}


def test_citizen_api_conforms_to_its_schema(app: Any, push: Any, signed_pdf: Any) -> None:
    person = enrol(app, "AB123456")
    doc = push(signed_pdf("MJ"), holder_id=person.national_id)
    assert doc.status_code == 201
    client, headers, cookies = sign_in(app, person)
    share = client.post("/api/v1/me/shares", headers=headers,
                        json={"document_ids": [doc.get_json()["id"]], "expires_in": 600, "max_views": 3,
                              "label": "Banque", "allow_download": True})
    assert share.status_code == 201

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    citizen_ops = [op for op in operations if op.path.startswith(CITIZEN_PREFIXES)]
    generated = [op for op in citizen_ops if op.path != "/api/v1/auth/logout"]
    names = {f"{op.method.upper()} {op.path}" for op in generated}
    assert {"GET /api/v1/me/documents", "GET /api/v1/me/documents/{doc_id}", "GET /api/v1/me/documents/{doc_id}/file",
            "POST /api/v1/me/shares", "GET /api/v1/me/shares", "DELETE /api/v1/me/shares/{share_id}",
            "GET /api/v1/me/activity", "GET /api/v1/auth/session", "POST /api/v1/auth/login"} <= names, names

    failures: list[str] = []
    statuses: dict[str, set[int]] = {}

    for operation in generated:
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers=headers, cookies=cookies)
            statuses.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as exc:  # every check that failed for this case: collect them, go on
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{str(exc)[:400]}")

        check()

    # the session survived the run (no generated call signed it out), and real objects conform too
    with_session = {k: v for k, v in statuses.items() if k.startswith("GET /api/v1/me/")}
    assert any(200 in codes for codes in with_session.values()), statuses
    for path in (f"/api/v1/me/documents/{doc.get_json()['id']}", "/api/v1/me/shares", "/api/v1/me/activity",
                 "/api/v1/auth/session"):
        op = schema[path.replace(doc.get_json()["id"], "{doc_id}")]["GET"]
        case = op.Case(path_parameters={"doc_id": doc.get_json()["id"]} if "{doc_id}" in op.path else {})
        response = case.call(headers=headers, cookies=cookies)
        assert response.status_code == 200, (path, response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    logout = schema["/api/v1/auth/logout"]["POST"]
    case = logout.Case()
    response = case.call(headers=headers, cookies=cookies)
    assert response.status_code in (200, 204), response.status_code
    case.validate_response(response, checks=CHECKS, headers=headers)
    assert client.get("/api/v1/me/documents").status_code == 401  # the session is over
    assert not failures, "\n".join(failures[:10])
