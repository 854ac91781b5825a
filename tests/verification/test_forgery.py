"""The public verifier never calls a forgery valid (issue 11, item 1).

A registered original plus a NEW visible signature whose appearance is a white box over the whole page with
other text (poppler then shows only the forger's text) used to be ``valid``: the later signature counted as
"signatures only". After the agency's signature only the platform's own seal and long-term-validation
material keep an upload valid; anything else is ``modified`` and the page says what was added.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import pdfgen as g
from tests.support.shares import token_of
from tests.support.uploads import verify_upload


def upload(client: Any, data: bytes) -> dict[str, Any]:
    r = verify_upload(client, data)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()  # type: ignore[no-any-return]


def upload_page(client: Any, data: bytes, lang: str) -> str:
    page = client.get(f"/verify?lang={lang}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    r = client.post(f"/verify?lang={lang}", data={"file": (io.BytesIO(data), "f.pdf"), "csrf_token": token},
                    content_type="multipart/form-data")
    assert r.status_code == 200
    return r.get_data(as_text=True)


@pytest.fixture
def original(holder: Any, issue: Any) -> Callable[..., bytes]:
    """A registered original (as the holder downloads it), at the PAdES level asked for."""

    def make(level: str = "B-T") -> bytes:
        doc = issue(level=level)
        return holder.client.get(f"/api/v1/me/documents/{doc['id']}/file").data  # type: ignore[no-any-return]

    return make


@pytest.fixture
def sealed_copy(app: Any, holder: Any, issue: Any) -> Callable[..., bytes]:
    """A genuine shared copy: the registered original plus the platform's seal."""

    def make(level: str = "B-T") -> bytes:
        doc = issue(level=level)
        share = holder.share([doc["id"]], allow_download=True).get_json()
        return app.test_client().get(f"/v/{token_of(share)}/copy.pdf").data  # type: ignore[no-any-return]

    return make


def _render(pdf: bytes) -> bytes:
    """poppler's rendering of page 1 at 50 dpi (PNG pixels as raw RGB)."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.pdf")
        with open(path, "wb") as fh:
            fh.write(pdf)
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", path, os.path.join(d, "p")],
                       check=True, capture_output=True, timeout=60)
        png = next(n for n in os.listdir(d) if n.endswith(".png"))
        with Image.open(os.path.join(d, png)) as img:
            return img.convert("RGB").tobytes()


def test_the_overlay_fixture_really_hides_the_original(original: Callable[..., bytes]) -> None:
    """The attack is real: poppler shows the forger's page, not the agency's (pixel for pixel the same as the
    overlay drawn on an empty page)."""
    genuine = original()
    forged = g.overlay_signed(genuine, g.self_signed_signer())
    control = g.overlay_signed(g.blank_page_pdf(), g.self_signed_signer())
    assert _render(forged) != _render(genuine)
    assert _render(forged) == _render(control)


def _forger() -> Any:
    return g.self_signed_signer("Ministère de la Justice", "Ministère de la Justice")


def test_overlay_signed_by_a_self_signed_ministry_is_modified(app: Any, original: Callable[..., bytes]) -> None:
    forged = g.overlay_signed(original(), _forger())
    rep = upload(app.test_client(), forged)
    assert rep["registry"]["match"] == "original_with_later_changes"
    assert rep["verdict"] == "modified"
    agency = next(s for s in rep["signatures"] if s["role"] == "agency")
    assert agency["later_changes"] == "other"
    assert {"signature_by_unknown_party", "visible_box", "covers_page"} <= set(agency["later_change_reasons"])
    forger = next(s for s in rep["signatures"] if s["field_name"] == "Visa")
    assert forger["role"] == "other" and not forger["trusted"] and forger["intact"] and forger["valid"]
    [added] = rep["added_after_signing"]
    assert added["revision"] == forger["signed_revision"]
    assert set(added["reasons"]) == {"signature_by_unknown_party", "visible_box", "covers_page"}
    assert added["signatures"][0]["signer"] == "Ministère de la Justice"


def test_the_page_says_what_was_added_in_english_and_arabic(app: Any, original: Callable[..., bytes]) -> None:
    forged = g.overlay_signed(original(), _forger())
    anon = app.test_client()
    en = upload_page(anon, forged, "en")
    assert 'data-verdict="modified"' in en and "Valid ✓" not in en and 'class="v-result v-ok"' not in en
    assert "Something was added to this file after the issuing administration signed it:" in en
    assert "a signature by an unknown party (its certificate calls itself “Ministère de la Justice”)" in en
    assert "whose visible box covers the page: what you see is not what the administration signed" in en
    ar = upload_page(anon, forged, "ar")
    assert 'data-verdict="modified"' in ar
    assert "أُضيف شيء إلى هذا الملف بعد أن وقّعته الإدارة المُصدِرة:" in ar
    assert "توقيع من طرف مجهول (تقدّم شهادته نفسها باسم «Ministère de la Justice»)" in ar
    assert "يغطي إطاره الظاهر الصفحة" in ar
    fr = upload_page(anon, forged, "fr")
    assert "Quelque chose a été ajouté à ce fichier après la signature de l’administration émettrice" in fr


def test_overlay_signed_by_another_trusted_agency_is_modified(app: Any, original: Callable[..., bytes],
                                                             signers: dict[str, Any]) -> None:
    forged = g.overlay_signed(original(), signers["MEN"])
    rep = upload(app.test_client(), forged)
    assert rep["verdict"] == "modified"
    men = next(s for s in rep["signatures"] if s["field_name"] == "Visa")
    assert men["trusted"] and men["role"] == "agency" and men["agency"] == "MEN"
    assert "signature_by_other_party" in rep["added_after_signing"][0]["reasons"]
    html = upload_page(app.test_client(), forged, "en")
    assert "a signature by another party (" in html and "not by the issuing administration" in html


def test_overlay_after_a_genuine_seal_is_modified(app: Any, sealed_copy: Callable[..., bytes]) -> None:
    copy = sealed_copy()
    anon = app.test_client()
    assert upload(anon, copy)["verdict"] == "valid"
    rep = upload(anon, g.overlay_signed(copy, _forger()))
    assert rep["registry"]["match"] == "sealed_copy_with_later_changes"
    assert rep["verdict"] == "modified"
    [added] = rep["added_after_signing"]  # the seal itself is fine; only the overlay is reported
    assert "covers_page" in added["reasons"] and "signature_by_unknown_party" in added["reasons"]


def test_annotation_after_the_seal_is_modified(app: Any, sealed_copy: Callable[..., bytes]) -> None:
    rep = upload(app.test_client(), g.add_annotation_after(sealed_copy()))
    assert rep["verdict"] == "modified"
    [added] = rep["added_after_signing"]  # one revision after the seal, and it is the annotation
    # (pyHanko's writer also rewrites the XMP stream of a file that has one: reported as "metadata" beside it)
    assert "annotation" in added["reasons"] and set(added["reasons"]) <= {"annotation", "metadata"}
    html = upload_page(app.test_client(), g.add_annotation_after(sealed_copy()), "en")
    assert "an annotation (a note, stamp or drawing on top of the page)" in html


def test_untrusted_document_timestamp_is_modified(app: Any, original: Callable[..., bytes]) -> None:
    rep = upload(app.test_client(), g.document_timestamp(original(), g.self_signed_timestamper()))
    assert rep["verdict"] == "modified"
    assert rep["added_after_signing"][0]["reasons"] == ["untrusted_timestamp"]


@pytest.mark.parametrize(("make", "reason"), [
    (g.unreferenced_object_after, "unexplained_object"),
    (g.restyled_signature_widget_after, "appearance_changed"),
    (g.dss_rewriting_page_content_after, "page_content"),
])
def test_unsigned_updates_are_modified(app: Any, original: Callable[..., bytes], make: Any, reason: str) -> None:
    data = make(original())
    rep = upload(app.test_client(), data)
    assert rep["verdict"] == "modified"
    assert reason in rep["signatures"][0]["later_change_reasons"]
    assert reason in rep["added_after_signing"][0]["reasons"]


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_genuine_ltv_originals_and_their_sealed_copies_stay_valid(app: Any, original: Callable[..., bytes],
                                                                 sealed_copy: Callable[..., bytes],
                                                                 level: str) -> None:
    anon = app.test_client()
    rep = upload(anon, original(level))
    assert rep["verdict"] == "valid" and rep["added_after_signing"] == []
    assert rep["signatures"][0]["later_changes"] == "validation_data"
    rep = upload(anon, sealed_copy(level))
    assert rep["verdict"] == "valid" and rep["added_after_signing"] == [], rep["added_after_signing"]
    agency = next(s for s in rep["signatures"] if s["role"] == "agency")
    assert agency["later_changes"] == "platform_seal" and agency["later_change_reasons"] == []


def test_a_trusted_document_timestamp_keeps_a_copy_valid(app: Any, original: Callable[..., bytes],
                                                        timestamper: Any) -> None:
    """LTV material added later (by anyone) with a trusted TSA is not a change of content."""
    rep = upload(app.test_client(), g.document_timestamp(original(), timestamper))
    assert rep["registry"]["match"] == "original_with_later_changes"
    assert rep["verdict"] == "valid" and rep["signatures"][0]["later_changes"] == "validation_data"


def test_what_the_issuer_countersigned_is_not_a_later_change(app: Any, holder: Any, issue: Any,
                                                             signers: dict[str, Any], timestamper: Any) -> None:
    """A file another agency signed first and the issuer (MJ) signed last is judged after MJ's signature:
    a trusted timestamp added later keeps it valid, an overlay by the first signer does not."""
    pdf = g.signed(g.signed(g.base_pdf("Co-signe MEN puis MJ"), signers["MEN"], field_name="First"),
                   signers["MJ"], "B-T", timestamper, document_json={  # MJ signs its metadata
                       "holder_id": "AB123456", "type": "criminal_record", "reference": "CO-SIGNED-1",
                       "issued_at": "2026-11-20T09:00:00+00:00"})
    doc = issue(pdf=pdf)
    original = holder.client.get(f"/api/v1/me/documents/{doc['id']}/file").data
    anon = app.test_client()
    rep = upload(anon, g.document_timestamp(original, timestamper))
    assert rep["verdict"] == "valid" and rep["added_after_signing"] == [], rep["added_after_signing"]
    rep = upload(anon, g.overlay_signed(original, signers["MEN"]))
    assert rep["verdict"] == "modified"
    assert "signature_by_other_party" in rep["added_after_signing"][0]["reasons"]
