"""The JSON twin of /v/{token} is serialised by hand (the hot path of every QR scan), not by the LookOut
schema that documents it: every result state must still be exactly what LookOut describes and would produce."""
from __future__ import annotations

import secrets
from typing import Any

from tests.support.shares import token_of
from wallet.verification.schemas import LookOut


def same_as_schema(body: dict[str, Any]) -> None:
    schema = LookOut()
    assert schema.validate(body) == {}  # no unknown field, every type right
    assert schema.dump(schema.load(body)) == body  # same formatting (dates, nulls) as the schema's own dump


def test_every_result_matches_the_documented_schema(app: Any, holder: Any, issue: Any, revoke: Any) -> None:
    anon = app.test_client()
    seen = {}
    valid = holder.share([issue()["id"], issue()["id"]], max_views=1, allow_download=True).get_json()
    for _ in range(2):  # valid, then views_exhausted
        r = anon.get(f"/api/v1/verify/{token_of(valid)}")
        seen[r.get_json()["result"]] = r
    revoked_doc = issue()
    revoked = holder.share([revoked_doc["id"]]).get_json()
    revoke(revoked_doc["id"], "erreur")
    seen["document_revoked"] = anon.get(f"/api/v1/verify/{token_of(revoked)}")
    withdrawn = holder.share([issue()["id"]]).get_json()
    holder.client.delete(f"/api/v1/me/shares/{withdrawn['id']}", headers=holder.headers)
    seen["share_revoked"] = anon.get(f"/api/v1/verify/{token_of(withdrawn)}")
    seen["unknown"] = anon.get(f"/api/v1/verify/{secrets.token_urlsafe(16)}")
    assert set(seen) == {"valid", "views_exhausted", "document_revoked", "share_revoked", "unknown"}
    for result, r in seen.items():
        assert r.mimetype == "application/json" and r.status_code == (404 if result == "unknown" else 200)
        same_as_schema(r.get_json())
    docs = seen["valid"].get_json()["documents"]
    assert len(docs) == 2 and all(d["download_url"].startswith("http") and d["signature"]["checked_at"] for d in docs)
