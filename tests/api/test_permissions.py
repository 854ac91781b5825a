"""Permission table: every agency endpoint × (allowed agency, agency not allowed for the type, other agency,
bad key, no key). Objects of another agency are 404, not 403."""
from __future__ import annotations

from typing import Any

import pytest

ACTORS = ["owner", "not_allowed_type", "other_agency", "bad_key", "no_key"]


def headers(actor: str, agencies: dict[str, Any]) -> dict[str, str]:
    key = {"owner": agencies["MJ"]["key"], "not_allowed_type": agencies["OMPIC"]["key"],
           "other_agency": agencies["MEN"]["key"], "bad_key": "wk_" + "x" * 43, "no_key": None}[actor]
    return {"Authorization": f"Bearer {key}"} if key else {}


PUSH = {"owner": 201, "not_allowed_type": 403, "other_agency": 403, "bad_key": 401, "no_key": 401}
GET = {"owner": 200, "not_allowed_type": 404, "other_agency": 404, "bad_key": 401, "no_key": 401}
REVOKE = GET


@pytest.mark.parametrize("actor", ACTORS)
def test_push_criminal_record(actor: str, push: Any, signed_pdf: Any, agencies: Any) -> None:
    key = headers(actor, agencies).get("Authorization", "Bearer ")[7:]
    resp = push(signed_pdf("MJ"), key=key)
    assert resp.status_code == PUSH[actor], resp.get_json()
    if resp.status_code >= 400:
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert resp.get_json()["code"] == {401: "unauthorized", 403: "type_not_allowed"}[resp.status_code]


@pytest.mark.parametrize("actor", ACTORS)
def test_get_document(actor: str, client: Any, push: Any, signed_pdf: Any, agencies: Any) -> None:
    doc_id = push(signed_pdf("MJ")).get_json()["id"]
    resp = client.get(f"/api/v1/documents/{doc_id}", headers=headers(actor, agencies))
    assert resp.status_code == GET[actor]


@pytest.mark.parametrize("actor", ACTORS)
def test_revoke_document(actor: str, client: Any, push: Any, signed_pdf: Any, agencies: Any) -> None:
    doc_id = push(signed_pdf("MJ")).get_json()["id"]
    resp = client.post(f"/api/v1/documents/{doc_id}/revoke", json={"reason": "test"},
                       headers=headers(actor, agencies))
    assert resp.status_code == REVOKE[actor]
    owner = client.get(f"/api/v1/documents/{doc_id}", headers=headers("owner", agencies)).get_json()
    assert owner["status"] == ("revoked" if actor == "owner" else "valid")


@pytest.mark.parametrize("actor", ACTORS)
def test_document_types(actor: str, client: Any, agencies: Any) -> None:
    resp = client.get("/api/v1/document-types", headers=headers(actor, agencies))
    assert resp.status_code == 200
    types = {t["code"]: t for t in resp.get_json()["document_types"]}
    assert set(types) == {"criminal_record", "nationality", "school_report", "school_certificate",
                          "commerce_register"}
    assert types["criminal_record"]["allowed"] is (actor == "owner")
    assert types["criminal_record"]["names"]["ar"]


def test_unknown_document_is_404_problem(client: Any, agencies: Any) -> None:
    resp = client.get("/api/v1/documents/" + "0" * 32, headers=headers("owner", agencies))
    assert resp.status_code == 404
    assert resp.get_json()["code"] == "not_found"


def test_revoked_key_and_rotation(app: Any, client: Any, agencies: Any) -> None:
    from wallet import db
    from wallet.agencies import service

    with app.app_context():
        sess = db.session()
        new_key = service.rotate_key(sess, service.get_by_code(sess, "MJ"))
        db.commit()
    old = client.get("/api/v1/documents/" + "0" * 32, headers=headers("owner", agencies))
    assert old.status_code == 401
    new = client.get("/api/v1/documents/" + "0" * 32, headers={"Authorization": f"Bearer {new_key}"})
    assert new.status_code == 404
