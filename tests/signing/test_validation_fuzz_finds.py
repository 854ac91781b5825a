"""Inputs found by the fuzzer (tests/fuzz, docs/fuzzing.md), rebuilt by code: validate_pdf's report stays JSON."""
from __future__ import annotations

import json
from typing import Any

from signing.trust import TrustStore
from signing.validation import validate_pdf
from tests.support.pdfgen import base_pdf, binary_signature_field_name, signed


def test_binary_field_name_is_reported_as_text(trust: TrustStore, mj_signer: Any) -> None:
    pdf = binary_signature_field_name(signed(base_pdf(), mj_signer))
    report = validate_pdf(pdf, trust)
    assert len(report.signatures) == 1
    name = report.signatures[0].field_name
    assert type(name) is str and name.startswith("Agency") and "\x00" not in name
    assert not report.signatures[0].intact  # the rewritten name is inside the signed bytes
    json.dumps(report.to_dict())  # raised TypeError: ByteStringObject is not JSON serializable
