"""Agency issuance over the HTTP API: honest pushes, replays, conflicts, revocation, replacement, hostile files."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support import pdfgen
from wallet import db
from wallet.audit import AuditEvent
from wallet.documents.models import Document


def problem(resp: Any) -> dict[str, Any]:
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.data[:200]
    body = resp.get_json()
    assert body["status"] == resp.status_code
    return body  # type: ignore[no-any-return]


def count_documents(app: Any) -> int:
    with app.app_context():
        return db.session().execute(select(func.count()).select_from(Document)).scalar_one()


def blob_files(settings: Any) -> list[Path]:
    root = settings.instance_path / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_honest_levels_are_accepted(push: Any, signed_pdf: Any, level: str) -> None:
    resp = push(signed_pdf("MJ", level=level))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "valid"
    assert body["agency"] == "MJ"
    assert len(body["sha256"]) == 64
    assert body["signature"]["indication"] == "TOTAL_PASSED"
    assert body["signature"]["timestamped"] is (level != "B-B")


def test_push_stores_encrypted_blob_and_audits(app: Any, push: Any, signed_pdf: Any, settings: Any) -> None:
    pdf = signed_pdf("MJ", reference="CR-2026-0001", expires_at="2027-01-01T00:00:00+00:00", title="Extrait")
    resp = push(pdf)
    assert resp.status_code == 201
    doc_id = resp.get_json()["id"]
    files = blob_files(settings)
    assert len(files) == 1
    stored = files[0].read_bytes()
    assert b"%PDF" not in stored and pdf[:200] not in stored  # encrypted at rest
    from wallet.documents.service import read_original

    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert read_original(app.extensions["wallet.runtime"], doc) == pdf
        events = db.session().execute(select(AuditEvent).where(AuditEvent.action == "document.push")).scalars().all()
        assert [e.target for e in events] == [f"document:{doc_id}"]
        assert "%PDF" not in json.dumps(events[0].details)


def test_blob_copied_onto_another_record_fails_to_decrypt(app: Any, push: Any, signed_pdf: Any) -> None:
    from wallet.crypto import DecryptionError
    from wallet.documents.service import read_original

    a = push(signed_pdf("MJ")).get_json()["id"]
    b = push(signed_pdf("MJ")).get_json()["id"]
    with app.app_context():
        sess = db.session()
        da, dbb = sess.get(Document, a), sess.get(Document, b)
        dbb.blob_key, dbb.wrapped_key = da.blob_key, da.wrapped_key  # swap in A's blob and key
        with pytest.raises(DecryptionError):
            read_original(app.extensions["wallet.runtime"], dbb)


def test_identical_replay_is_200_same_document(push: Any, signed_pdf: Any) -> None:
    pdf = signed_pdf("MJ")
    first = push(pdf, reference="REPLAY-1")
    again = push(pdf, reference="REPLAY-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]


def test_reference_reused_for_another_file_is_409(app: Any, push: Any, signed_pdf: Any) -> None:
    assert push(signed_pdf("MJ"), reference="DUP-1").status_code == 201
    resp = push(signed_pdf("MJ"), reference="DUP-1")
    assert resp.status_code == 409
    assert problem(resp)["code"] == "reference_conflict"
    assert count_documents(app) == 1


def test_documents_before_enrolment_are_kept(app: Any, push: Any, signed_pdf: Any) -> None:
    resp = push(signed_pdf("MJ"), holder_id="ZZ999999")
    assert resp.status_code == 201
    assert resp.get_json()["holder_id"] == "ZZ999999"


def test_revoke_and_get(client: Any, push: Any, signed_pdf: Any, agencies: Any) -> None:
    doc_id = push(signed_pdf("MJ")).get_json()["id"]
    auth = {"Authorization": f"Bearer {agencies['MJ']['key']}"}
    resp = client.post(f"/api/v1/documents/{doc_id}/revoke", json={"reason": "issued in error"}, headers=auth)
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "revoked"
    assert resp.get_json()["revocation_reason"] == "issued in error"
    got = client.get(f"/api/v1/documents/{doc_id}", headers=auth).get_json()
    assert got["status"] == "revoked"
    bad = client.post(f"/api/v1/documents/{doc_id}/revoke", json={}, headers=auth)
    assert bad.status_code == 400 and problem(bad)["code"] == "bad_request"


def test_replace(client: Any, push: Any, signed_pdf: Any, agencies: Any) -> None:
    old = push(signed_pdf("MJ")).get_json()["id"]
    new = push(signed_pdf("MJ"), replaces=old)
    assert new.status_code == 201, new.get_json()
    assert new.get_json()["replaces"] == old
    auth = {"Authorization": f"Bearer {agencies['MJ']['key']}"}
    got = client.get(f"/api/v1/documents/{old}", headers=auth).get_json()
    assert got["status"] == "replaced" and got["replaced_by"] == new.get_json()["id"]
    # another agency cannot replace MJ's document
    other = push(signed_pdf("MEN"), agency="MEN", type="school_report", replaces=new.get_json()["id"])
    assert other.status_code == 400 and problem(other)["code"] == "bad_metadata"


@pytest.mark.parametrize("meta,field", [
    ({"holder_id": "x"}, "holder_id"),
    ({"type": "passport"}, "type"),
    ({"reference": ""}, "reference"),
    ({"issued_at": "yesterday"}, "issued_at"),
    ({"issued_at": "2026-01-01T00:00:00"}, "issued_at"),  # no timezone
    ({"issued_at": "2026-02-01T00:00:00+00:00", "expires_at": "2026-01-01T00:00:00+00:00"}, "expires_at"),
    ({"attributes": {"k": "v" * 5000}}, "attributes"),
])
def test_bad_metadata_is_400(app: Any, push: Any, signed_pdf: Any, meta: dict[str, Any], field: str) -> None:
    resp = push(signed_pdf("MJ"), **meta)
    assert resp.status_code == 400
    body = problem(resp)
    assert body["code"] == "bad_metadata"
    assert field in json.dumps(body.get("errors", {}))
    assert count_documents(app) == 0


def test_metadata_not_json_and_missing_parts(client: Any, agencies: Any, signed_pdf: Any) -> None:
    auth = {"Authorization": f"Bearer {agencies['MJ']['key']}"}
    resp = client.post("/api/v1/documents", headers=auth, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(signed_pdf()), "a.pdf"), "metadata": "{not json"})
    assert resp.status_code == 400 and problem(resp)["code"] == "bad_metadata"
    resp = client.post("/api/v1/documents", headers=auth, content_type="multipart/form-data",
                       data={"metadata": "{}"})
    assert resp.status_code == 400 and problem(resp)["code"] == "bad_request"
    resp = client.post("/api/v1/documents", headers=auth, json={"holder_id": "AB123456"})
    assert resp.status_code in (400, 415) and problem(resp)


# ---- hostile files: each gets its status and code, nothing is stored, no 5xx -------------------------------

HOSTILE = [
    ("unsigned", lambda s, p: pdfgen.unsigned(), 422, "unsigned"),
    ("rogue CA", lambda s, p: pdfgen.rogue_signed(pdfgen.base_pdf(), s["ROGUE"]), 422, "untrusted_signer"),
    ("other agency", lambda s, p: pdfgen.other_agency_signed(pdfgen.base_pdf(), s["MEN"]), 422, "signer_not_agency"),
    ("page added", lambda s, p: pdfgen.add_page_after(p), 422, "modified_after_signing"),
    ("form field added", lambda s, p: pdfgen.add_form_field_after(p), 422, "modified_after_signing"),
    ("annotation added", lambda s, p: pdfgen.add_annotation_after(p), 422, "modified_after_signing"),
    ("info-only update", lambda s, p: pdfgen.info_only_update_after(p), 422, "modified_after_signing"),
    ("xmp-only update", lambda s, p: pdfgen.xmp_metadata_update_after(p), 422, "modified_after_signing"),
    ("bytes appended", lambda s, p: pdfgen.append_bytes_after(p), 422, "modified_after_signing"),
    ("flipped byte", lambda s, p: pdfgen.flip_byte_in_signed_content(p), 422, "signature_invalid"),
    ("zeroed signature", lambda s, p: pdfgen.zeroed_signature_contents(p), 422, "signature_invalid"),
    ("malformed signature", lambda s, p: pdfgen.malformed_signature_contents(p), 422, "signature_invalid"),
    ("byterange short", lambda s, p: pdfgen.byterange_covers_less(p), 422, None),
    ("truncated", lambda s, p: pdfgen.truncated(p), 422, "malformed_pdf"),
    ("not a pdf", lambda s, p: pdfgen.not_pdf(), 415, "not_a_pdf"),
    ("polyglot", lambda s, p: pdfgen.polyglot(p), 415, "not_a_pdf"),
    ("decompression bomb", lambda s, p: pdfgen.decompression_bomb(), 422, None),
    ("encrypted", lambda s, p: pdfgen.encrypted(p), 422, "malformed_pdf"),
    ("hundreds of signatures", lambda s, p: pdfgen.many_signatures(300), 422, "malformed_pdf"),
]


@pytest.mark.parametrize("name,make,status,code", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files(app: Any, push: Any, signers: Any, signed_pdf: Any, settings: Any,
                       name: str, make: Any, status: int, code: str | None) -> None:
    pdf = make(signers, signed_pdf("MJ"))
    resp = push(pdf)
    assert resp.status_code == status, (name, resp.get_json())
    body = problem(resp)
    if code:
        assert body["code"] == code, body
    else:
        assert body["code"] in {"signature_invalid", "modified_after_signing", "malformed_pdf"}, body
    assert count_documents(app) == 0
    assert blob_files(settings) == []


def test_over_the_size_limit_is_413_before_reading(client: Any, agencies: Any, settings: Any) -> None:
    auth = {"Authorization": f"Bearer {agencies['MJ']['key']}"}
    big = b"%PDF-1.7\n" + b"0" * (settings.max_upload_bytes + 200_000)
    resp = client.post("/api/v1/documents", headers=auth, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(big), "big.pdf"), "metadata": "{}"})
    assert resp.status_code == 413
    assert problem(resp)["code"] == "too_large"


def test_rejections_are_audited_without_content(app: Any, push: Any) -> None:
    push(pdfgen.unsigned())
    with app.app_context():
        events = db.session().execute(select(AuditEvent)).scalars().all()
        rejected = [e for e in events if e.action == "document.push"]
        assert [e.outcome for e in rejected] == ["unsigned"]
