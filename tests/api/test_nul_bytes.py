"""A NUL byte or control character in a stored or looked-up field is a 400 with a code on both databases
(PostgreSQL cannot even receive a NUL in a text parameter: it used to surface as a 500; schemathesis found it)."""
from __future__ import annotations

from typing import Any


def test_login_and_enrolment_refuse_control_characters(client: Any) -> None:
    for path, body in (("/api/v1/auth/login", {"national_id": "AB\x0012", "password": "x" * 12, "otp": "123456"}),
                       ("/api/v1/auth/login", {"national_id": "AB123456", "password": "x" * 12, "otp": "12\x003456"}),
                       ("/api/v1/enrol/start", {"national_id": "AB\x0012", "code": "abc"})):
        r = client.post(path, json=body, headers={"Origin": "http://localhost"})
        assert r.status_code == 400, (path, r.status_code, r.data[:200])
        assert r.mimetype == "application/problem+json"


def test_revocation_reason_with_a_nul_byte(client: Any, push: Any, signed_pdf: Any, agencies: Any) -> None:
    doc_id = push(signed_pdf("MJ")).get_json()["id"]
    auth = {"Authorization": f"Bearer {agencies['MJ']['key']}"}
    r = client.post(f"/api/v1/documents/{doc_id}/revoke", json={"reason": "erreur\x00"}, headers=auth)
    assert r.status_code == 400 and r.get_json()["code"]
    assert client.get(f"/api/v1/documents/{doc_id}", headers=auth).get_json()["status"] == "valid"
    r = push(signed_pdf("MJ"), title="titre\x00")
    assert r.status_code == 400 and r.get_json()["code"] == "bad_metadata"
