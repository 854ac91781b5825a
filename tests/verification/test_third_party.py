"""End to end like a third party: the sealed copy checked by poppler, its QR code read by zxing-cpp."""
from __future__ import annotations

import io
from typing import Any

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tests.support.shares import token_of
from tests.support.tools import pdfsig, qr_codes
from tests.support.uploads import verify_upload


def test_sealed_copy_verifies_with_outside_tools(app: Any, holder: Any, issue: Any, pki: Any) -> None:
    doc = issue(level="B-T")
    share = holder.share([doc["id"]], allow_download=True).get_json()
    anon = app.test_client()

    looked = anon.get(f"/api/v1/verify/{token_of(share)}")
    assert looked.status_code == 200 and looked.get_json()["result"] == "valid"
    d = looked.get_json()["documents"][0]
    assert d["id"] == doc["id"] and d["sha256"] == doc["sha256"] and d["holder_name"] == "Amina Benali"
    assert d["download_url"].startswith(f"http://wallet.test/v/{token_of(share)}/copy.pdf")

    r = anon.get(f"/v/{token_of(share)}/copy.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["Cache-Control"] == "no-store" and r.headers["Referrer-Policy"] == "no-referrer"
    copy = r.data
    assert copy.startswith(b"%PDF")

    # poppler: every signature cryptographically valid (agency + seal)
    sigs = pdfsig(copy)
    assert len(sigs) >= 2
    assert all("Signature Validation: Signature is Valid" in s for s in sigs), sigs

    # the QR code in the copy, read from a 110 dpi rendering, is the share's QR text (the URL, then the signed
    # offline payload after '#', which a browser never sends), and its link verifies
    found = qr_codes(copy, dpi=110)
    assert share["qr_text"] in found and share["qr_text"].startswith(share["url"] + "#")
    link = found[0].split("#", 1)[0]
    assert anon.get(f"/api/v1/verify/{link.rsplit('/', 1)[-1]}").get_json()["result"] == "valid"

    # pyHanko: the agency's signature is still intact and trusted; the seal covers the whole file, timestamped
    root = load_cert_from_pemder(pki["root"])
    embedded = PdfFileReader(io.BytesIO(copy)).embedded_signatures
    first = validate_pdf_signature(embedded[0], ValidationContext(trust_roots=[root], allow_fetching=False))
    assert first.intact and first.trusted
    last = validate_pdf_signature(embedded[-1], ValidationContext(trust_roots=[root], allow_fetching=False))
    assert last.intact and last.coverage.name == "ENTIRE_FILE"
    assert last.timestamp_validity is not None
    # one incremental update on top of the untouched original
    original = holder.client.get(f"/api/v1/me/documents/{doc['id']}/file").data
    assert copy.startswith(original)

    # the upload check recognises the copy and says the document is valid
    up = verify_upload(anon, copy, "copy.pdf")
    assert up.status_code == 200
    rep = up.get_json()
    assert rep["verdict"] == "valid", [(s["field_name"], s["modification_level"], s["covers_file_end"], s["docmdp_ok"], s["intact"], s["valid"], s["trusted"], s["problems"]) for s in rep["signatures"]]
    assert rep["registry"]["known"] and rep["registry"]["document_id"] == doc["id"]
    assert rep["registry"]["status"] == "valid" and rep["registry"]["match"] == "sealed_copy"
    assert rep["registry"]["sha256"] == doc["sha256"]
    roles = [s["role"] for s in rep["signatures"]]
    assert roles[0] == "agency" and roles[-1] == "platform_seal"
    assert rep["signatures"][0]["later_changes"] == "platform_seal"

    # the views: JSON, copy (covered by the JSON look's grant? no: fetched without it), QR look, copy
    events = holder.client.get("/api/v1/me/activity").get_json()["events"]
    assert len(events) == 3 and all(e["result"] == "valid" for e in events)


def test_download_grant_from_a_counted_look_does_not_count_again(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], allow_download=True, max_views=1).get_json()
    anon = app.test_client()
    j = anon.get(f"/api/v1/verify/{token_of(share)}").get_json()
    assert j["result"] == "valid" and j["share"]["views_left"] == 0
    path = j["documents"][0]["download_url"].removeprefix("http://wallet.test")
    r = anon.get(path)
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    # without the grant the limit holds
    r = anon.get(f"/v/{token_of(share)}/copy.pdf", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.get_json()["result"] == "views_exhausted"
    assert anon.get(f"/v/{token_of(share)}/copy.pdf").mimetype == "text/html"
    # a forged grant is ignored
    r = anon.get(f"/v/{token_of(share)}/copy.pdf?g=forged")
    assert r.status_code == 404


def test_download_not_allowed(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], allow_download=False).get_json()
    anon = app.test_client()
    j = anon.get(f"/api/v1/verify/{token_of(share)}").get_json()
    assert j["result"] == "valid" and "download_url" not in j["documents"][0]
    assert anon.get(f"/v/{token_of(share)}/copy.pdf").status_code == 404
    page = anon.get(f"/v/{token_of(share)}").get_data(as_text=True)
    assert "copy.pdf" not in page


def test_repeated_downloads_do_no_signing(app: Any, holder: Any, issue: Any, monkeypatch: Any) -> None:
    from wallet.extensions import Runtime

    doc = issue()
    share = holder.share([doc["id"]], allow_download=True).get_json()
    sealer = app.extensions["wallet.runtime"].sealer
    assert isinstance(app.extensions["wallet.runtime"], Runtime)
    calls: list[str] = []
    for name in ("seal", "verification_sheet"):
        monkeypatch.setattr(sealer, name, lambda *a, _n=name, **k: calls.append(_n))
    anon = app.test_client()
    copies = {anon.get(f"/v/{token_of(share)}/copy.pdf").data for _ in range(3)}
    assert len(copies) == 1 and next(iter(copies)).startswith(b"%PDF")
    assert calls == []


def test_certified_no_changes_original_gets_a_sealed_sheet(app: Any, holder: Any, issue: Any, signers: Any,
                                                           timestamper: Any) -> None:
    from tests.support.pdfgen import base_pdf, certified_no_changes
    from tests.support.shares import HOLDER

    meta = {"holder_id": HOLDER, "type": "nationality", "reference": "NAT-CERT-1",
            "issued_at": "2026-11-30T10:00:00+00:00"}  # signed in document.json (the push sends the same)
    original = certified_no_changes(base_pdf("Certificat de nationalite - certifie"), signers["MJ"], timestamper,
                                    document_json=meta)
    doc = issue(pdf=original, type="nationality")
    r = holder.share([doc["id"]], allow_download=True)
    assert r.status_code == 201
    body = r.get_json()
    assert body["sheet"] is True and body["documents"][0]["copy_kind"] == "sheet"
    anon = app.test_client()
    j = anon.get(f"/api/v1/verify/{token_of(body)}").get_json()
    d = j["documents"][0]
    assert j["result"] == "valid" and d["copy_kind"] == "sheet"
    sheet = anon.get(d["download_url"].removeprefix("http://wallet.test")).data
    unchanged = anon.get(d["original_url"].removeprefix("http://wallet.test")).data
    assert unchanged == original
    assert body["qr_text"] in qr_codes(sheet)  # the sheet carries the document's QR text (link + payload)
    assert all("Signature is Valid" in s for s in pdfsig(sheet))
    page = anon.get(f"/v/{token_of(body)}?lang=en&g=" + d["download_url"].split("g=")[1]).get_data(as_text=True)
    assert "no changes allowed" in page
