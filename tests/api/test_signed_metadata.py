"""Signed metadata (PRODUCT.md, Hardening): the push must say what the agency's signed document.json says."""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from signing import peek_metadata, validate_pdf
from signing.metadata import ABSENT, MAX_JSON_BYTES, TOO_DEEP, parse_document_json
from tests.support import pdfgen
from wallet import db
from wallet.agencies.models import Agency
from wallet.documents.models import Document

META = {"holder_id": "AB123456", "type": "criminal_record", "reference": "SM-0001",
        "issued_at": "2026-11-30T10:00:00+00:00"}


def problem(resp: Any) -> dict[str, Any]:
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    return resp.get_json()  # type: ignore[no-any-return]


def count_documents(app: Any) -> int:
    with app.app_context():
        return len(db.session().query(Document).all())


def set_legacy(app: Any, code: str, legacy: bool = True) -> None:
    from wallet.agencies import service

    with app.app_context():
        sess = db.session()
        service.set_legacy_metadata(sess, service.get_by_code(sess, code), legacy)
        db.commit()


def _signed_with_raw(signers: Any, raw: bytes, **kw: Any) -> bytes:
    return pdfgen.signed(pdfgen.with_raw_document_json(pdfgen.base_pdf(), raw, **kw), signers["MJ"])


MISMATCHES = [
    ("holder_id", "ZZ999999"),
    ("type", "nationality"),
    ("reference", "SM-OTHER"),
    ("issued_at", "2026-11-30T10:00:01+00:00"),
    ("expires_at", "2027-01-01T00:00:00+00:00"),
    ("title", "Extrait n. 3"),
    ("attributes", {"holder_name": "Someone Else"}),
]


@pytest.mark.parametrize("field,value", MISMATCHES, ids=[m[0] for m in MISMATCHES])
def test_each_field_that_differs_is_named(app: Any, push: Any, signed_pdf: Any, field: str, value: Any) -> None:
    pdf = signed_pdf("MJ", **META)
    resp = push(pdf, resign=False, **{field: value})
    assert resp.status_code == 422, resp.get_json()
    body = problem(resp)
    assert body["code"] == "metadata_mismatch" and body["field"] == field and field in body["detail"], body
    assert count_documents(app) == 0
    assert push(pdf).status_code == 201  # the file itself is fine with its own metadata


def test_replaces_that_differs_is_named(push: Any, signed_pdf: Any) -> None:
    old = push(signed_pdf("MJ")).get_json()["id"]
    resp = push(signed_pdf("MJ", **META), resign=False, replaces=old)
    assert resp.status_code == 422 and problem(resp)["field"] == "replaces", resp.get_json()
    assert push(signed_pdf("MJ", replaces=old)).status_code == 201


def test_instants_are_compared_as_instants(push: Any, signed_pdf: Any) -> None:
    pdf = signed_pdf("MJ", **META)
    resp = push(pdf, resign=False, issued_at="2026-11-30T12:00:00+02:00")  # the same instant
    assert resp.status_code == 201, resp.get_json()
    stored = dt.datetime.fromisoformat(resp.get_json()["issued_at"])
    assert stored == dt.datetime(2026, 11, 30, 10, tzinfo=dt.timezone.utc)


def test_metadata_part_left_out_uses_the_signed_values(push: Any, signed_pdf: Any) -> None:
    pdf = signed_pdf("MJ", **dict(META, title="Extrait", attributes={"holder_name": "Amina"}))
    resp = push(pdf, metadata_part=False)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["reference"], body["holder_id"], body["title"], body["attributes"]) == \
        ("SM-0001", "AB123456", "Extrait", {"holder_name": "Amina"})
    assert push(pdf, metadata_part=False).status_code == 200  # identical replay


def test_metadata_part_left_out_and_no_document_json_is_400(push: Any, signers: Any) -> None:
    resp = push(pdfgen.signed(pdfgen.base_pdf(), signers["MJ"]), metadata_part=False)
    assert resp.status_code == 400 and problem(resp)["code"] == "bad_metadata"


def test_metadata_part_left_out_still_checks_the_type(push: Any, signed_pdf: Any) -> None:
    resp = push(signed_pdf("MEN", **dict(META, type="school_report")), metadata_part=False)
    assert resp.status_code == 403 and problem(resp)["code"] == "type_not_allowed"


def test_no_document_json_refused_unless_legacy(app: Any, push: Any, signers: Any) -> None:
    pdf = pdfgen.signed(pdfgen.base_pdf(), signers["MJ"])
    resp = push(pdf, **META)
    assert resp.status_code == 422
    body = problem(resp)
    assert body["code"] == "metadata_mismatch" and body["field"] == "document.json", body
    assert count_documents(app) == 0
    set_legacy(app, "MJ")
    assert push(pdf, **META).status_code == 201
    # a legacy agency's document.json, when there is one, must still match
    other = pdfgen.signed(pdfgen.base_pdf(), signers["MJ"], document_json=dict(META, reference="SM-9"))
    resp = push(other, **dict(META, reference="SM-10"))
    assert resp.status_code == 422 and problem(resp)["field"] == "reference"


def test_document_json_added_after_signing_does_not_count(app: Any, push: Any, signers: Any, trust: Any) -> None:
    late = pdfgen.document_json_after(pdfgen.signed(pdfgen.base_pdf(), signers["MJ"]), META)
    assert peek_metadata(late).values == META  # the last revision has it...
    report = validate_pdf(late, trust)
    agency_sig = [s for s in report.signatures if s.kind == "signature"][-1]
    assert agency_sig.metadata is not None and agency_sig.metadata.error == ABSENT  # ...the signed one does not
    resp = push(late, **META)
    assert resp.status_code == 422, resp.get_json()
    assert problem(resp)["code"] in {"modified_after_signing", "metadata_mismatch"}
    set_legacy(app, "MJ")
    assert push(late, **META).status_code == 422  # the later revision is refused anyway
    assert count_documents(app) == 0


HOSTILE = [
    ("huge, compressed", lambda: pdfgen.huge_json(4 * 1024 * 1024), {"compress": True}, "document_json_too_large"),
    ("huge, plain", lambda: pdfgen.huge_json(MAX_JSON_BYTES + 10), {}, "document_json_too_large"),
    ("deep", lambda: pdfgen.deep_json(2000), {}, "document_json_too_deep"),
    ("not utf-8", lambda: b'{"title": "\xff\xfe"}', {}, "document_json_not_utf8"),
    ("byte order mark", lambda: b'\xef\xbb\xbf{"title": "x"}', {}, "document_json_not_utf8"),
    ("not an object", lambda: b'["holder_id", "AB123456"]', {}, "document_json_not_object"),
    ("duplicate keys", lambda: b'{"reference": "SM-0001", "reference": "SM-0002"}', {}, "document_json_duplicate_key"),
    ("unknown key", lambda: b'{"reference": "SM-0001", "owner": "x"}', {}, "document_json_unknown_key"),
    ("NaN", lambda: b'{"attributes": {"n": NaN}}', {}, "document_json_invalid"),
    ("not JSON", lambda: b'{"reference": ', {}, "document_json_invalid"),
    ("wrong MIME type", lambda: b'{}', {"mime": "text/plain"}, "document_json_malformed"),
    ("not in /AF", lambda: b'{}', {"in_af": False}, "document_json_malformed"),
    ("no AFRelationship", lambda: b'{}', {"relationship": None}, "document_json_malformed"),
    ("AFRelationship Source", lambda: b'{}', {"relationship": "/Source"}, "document_json_malformed"),
]


@pytest.mark.parametrize("name,make,kw,reason", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_document_json(app: Any, push: Any, signers: Any, name: str, make: Any, kw: dict[str, Any],
                               reason: str) -> None:
    pdf = _signed_with_raw(signers, make(), **kw)
    t0 = time.monotonic()
    resp = push(pdf, **META)
    elapsed = time.monotonic() - t0
    assert resp.status_code == 422, (name, resp.get_json())
    body = problem(resp)
    assert (body["code"], body["field"], body.get("reason")) == ("metadata_mismatch", "document.json", reason), body
    assert elapsed < 20, elapsed  # bounded (a generous ceiling for a shared 2-core machine)
    assert count_documents(app) == 0


def test_document_json_that_fails_the_schema_is_named(push: Any, signers: Any) -> None:
    pdf = _signed_with_raw(signers, b'{"holder_id": "AB123456", "type": "criminal_record", "reference": "SM-0001",'
                                    b' "issued_at": "yesterday"}')
    resp = push(pdf, **META)
    body = problem(resp)
    assert (resp.status_code, body["code"], body["field"]) == (422, "metadata_mismatch", "document.json"), body
    assert "issued_at" in body["detail"]


def test_deep_json_is_refused_without_recursion() -> None:
    from signing.metadata import _Bad

    with pytest.raises(_Bad) as info:
        parse_document_json(pdfgen.deep_json(100_000)[:MAX_JSON_BYTES])
    assert info.value.code == TOO_DEEP


def test_order_type_not_allowed_before_any_file_check(push: Any, signed_pdf: Any) -> None:
    pdf = signed_pdf("MJ", **META)
    resp = push(pdf, resign=False, type="school_report")  # the embedded type then differs too
    assert resp.status_code == 403 and problem(resp)["code"] == "type_not_allowed"


def test_order_signature_before_metadata(push: Any, signed_pdf: Any) -> None:
    broken = pdfgen.flip_byte_in_signed_content(signed_pdf("MJ", **META))
    resp = push(broken, reference="SM-ELSEWHERE")
    assert resp.status_code == 422 and problem(resp)["code"] == "signature_invalid", resp.get_json()


def test_order_reference_before_metadata(push: Any, signed_pdf: Any) -> None:
    pdf = signed_pdf("MJ", **META)
    assert push(pdf).status_code == 201
    assert push(pdf).status_code == 200  # identical replay: same file, same metadata
    other = signed_pdf("MJ", **dict(META, reference="SM-0002"))
    resp = push(other, resign=False, **META)  # another file under the same reference (and a mismatch)
    assert resp.status_code == 409 and problem(resp)["code"] == "reference_conflict"
    resp = push(pdf, resign=False, title="changed")  # the same file with other metadata is no replay
    assert resp.status_code == 409 and problem(resp)["code"] == "reference_conflict"


def test_cli_legacy_metadata_flag(app: Any, pki: dict[str, Any]) -> None:
    runner = app.test_cli_runner()
    ca = pki["agencies"]["MJ"]["ca"]
    r = runner.invoke(args=["agency", "add", "OLD", "--name", "Ancienne", "--types", "nationality", "--ca", ca,
                            "--legacy-metadata"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["agency", "add", "NEW", "--name", "Nouvelle", "--types", "nationality"])
    assert r.exit_code == 0, r.output
    listed = runner.invoke(args=["agency", "list"]).output
    assert "OLD\t" in listed and "legacy_metadata=on" in listed.split("OLD\t")[1].splitlines()[0]
    assert "legacy_metadata=off" in listed.split("NEW\t")[1].splitlines()[0]
    assert runner.invoke(args=["agency", "set-legacy-metadata", "OLD", "--off"]).exit_code == 0
    assert runner.invoke(args=["agency", "set-legacy-metadata", "NEW", "--on"]).exit_code == 0
    with app.app_context():
        flags = {a.code: a.legacy_metadata for a in db.session().query(Agency).all()}
    assert flags == {"OLD": False, "NEW": True}
    assert runner.invoke(args=["agency", "set-legacy-metadata", "NOPE", "--on"]).exit_code != 0


@pytest.fixture
def trust(pki: dict[str, Any]) -> Any:
    from signing.trust import TrustStore

    return TrustStore.from_pem_files([pki["root"]], [a["ca"] for a in pki["agencies"].values()])


def _pikepdf_embed(pdf: bytes, meta: dict[str, Any], compress: bool) -> bytes:
    """What an integrator's pikepdf code does (docs/signed-metadata.md): attach, then list it in /AF."""
    import io
    import json

    import pikepdf

    doc = pikepdf.open(io.BytesIO(pdf))
    data = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode()
    spec = pikepdf.AttachedFileSpec(doc, data, mime_type="application/json", filename="document.json",
                                    description="Signed document metadata")
    doc.attachments["document.json"] = spec
    fs = doc.Root.Names.EmbeddedFiles.Names[-1]
    fs.AFRelationship = pikepdf.Name.Data
    doc.Root.AF = pikepdf.Array([fs])
    out = io.BytesIO()
    doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable, compress_streams=compress)
    return out.getvalue()


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "flate"])
def test_pikepdf_then_pyhanko_files_are_accepted(push: Any, signers: Any, compress: bool) -> None:
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers as pyhanko_signers

    meta = dict(META, reference=f"SM-PIKE-{int(compress)}")
    data = _pikepdf_embed(pdfgen.base_pdf(), meta, compress)
    pdf = pyhanko_signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(data)),
                                   pyhanko_signers.PdfSignatureMetadata(field_name="AgencySignature"),
                                   signer=signers["MJ"]).getvalue()
    assert push(pdf, **meta).status_code == 201
    assert push(pdf, **meta).status_code == 200
    assert push(pdf, **dict(meta, type="school_report")).status_code == 403
