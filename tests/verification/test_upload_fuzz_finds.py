"""Uploads found by the fuzzer (tests/fuzz, docs/fuzzing.md), rebuilt by code: a verdict, never a 5xx."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.pdfgen import binary_signature_field_name
from tests.support.uploads import verify_upload


def test_upload_with_a_binary_signature_field_name_gets_a_verdict(client: Any,
                                                                  signed_pdf: Callable[..., bytes]) -> None:
    pdf = binary_signature_field_name(signed_pdf("MJ"))
    r = verify_upload(client, pdf, "upload.pdf")
    assert r.status_code == 200, r.get_data(as_text=True)  # was 500 internal_error
    body = r.get_json()
    assert body["verdict"] == "invalid_signature"
    assert body["signatures"][0]["field_name"].startswith("Agency")
