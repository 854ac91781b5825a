"""The issuance rule: every hostile variant gets its stable API code, every PAdES level is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from signing.issuance import decide_issuance
from signing.validation import validate_pdf
from tests.support import pdfgen as g


def decide(data: bytes, trust: Any, is_mj: Any) -> Any:
    return decide_issuance(validate_pdf(data, trust), is_mj)


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_every_pades_level_is_accepted(level: str, signed_by_level: dict[str, bytes], trust: Any, is_mj: Any) -> None:
    decision = decide(signed_by_level[level], trust, is_mj)
    assert decision.accepted, decision
    assert decision.code is None
    assert decision.signature is not None and decision.signature.field_name == "AgencySignature"


def test_document_timestamp_after_signature_is_accepted(
    signed_bb: bytes, timestamper: Any, trust: Any, is_mj: Any
) -> None:
    assert decide(g.document_timestamp(signed_bb, timestamper), trust, is_mj).accepted


def test_certified_document_is_accepted(original: bytes, mj_signer: Any, trust: Any, is_mj: Any) -> None:
    assert decide(g.certified_no_changes(original, mj_signer), trust, is_mj).accepted


TAMPERING = {
    "add_page_after": "modified_after_signing",
    "add_form_field_after": "modified_after_signing",
    "add_annotation_after": "modified_after_signing",
    "info_only_update_after": "modified_after_signing",
    "xmp_metadata_update_after": "modified_after_signing",
    "append_bytes_after": "modified_after_signing",
    "decompression_bomb_after": "modified_after_signing",
    "flip_byte_in_signed_content": "signature_invalid",
    "zeroed_signature_contents": "signature_invalid",
    "malformed_signature_contents": "signature_invalid",
    "byterange_covers_less": "signature_invalid",
    "truncated": "malformed_pdf",
    "polyglot": "malformed_pdf",
    "encrypted": "malformed_pdf",
}


@pytest.mark.parametrize("variant", sorted(TAMPERING))
def test_tampered_b_b(variant: str, signed_bb: bytes, trust: Any, is_mj: Any) -> None:
    decision = decide(getattr(g, variant)(signed_bb), trust, is_mj)
    assert not decision.accepted
    assert decision.code == TAMPERING[variant], decision.detail


@pytest.mark.parametrize(
    "variant",
    [
        "add_page_after",
        "add_annotation_after",
        "info_only_update_after",
        "xmp_metadata_update_after",
        "append_bytes_after",
        "add_form_field_after",
    ],
)
@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_tampered_after_ltv_material(
    variant: str, level: str, signed_by_level: dict[str, bytes], trust: Any, is_mj: Any
) -> None:
    decision = decide(getattr(g, variant)(signed_by_level[level]), trust, is_mj)
    assert decision.code == "modified_after_signing", decision.detail


def test_unsigned(trust: Any, is_mj: Any) -> None:
    assert decide(g.unsigned(), trust, is_mj).code == "unsigned"


def test_rogue_signer_is_untrusted(original: bytes, rogue_signer: Any, trust: Any, is_mj: Any) -> None:
    # The rogue certificate copies MJ's name: only the chain tells them apart.
    decision = decide(g.rogue_signed(original, rogue_signer), trust, is_mj)
    assert decision.code == "untrusted_signer"


def test_other_agency(original: bytes, men_signer: Any, trust: Any, is_mj: Any) -> None:
    assert decide(g.other_agency_signed(original, men_signer), trust, is_mj).code == "signer_not_agency"


def test_rogue_signature_added_after_agency_signature(
    signed_bb: bytes, rogue_signer: Any, trust: Any, is_mj: Any
) -> None:
    data = g.signed(signed_bb, rogue_signer, field_name="Second")
    assert decide(data, trust, is_mj).code == "modified_after_signing"


def test_other_agency_countersignature_after_agency_signature(
    signed_bb: bytes, men_signer: Any, trust: Any, is_mj: Any
) -> None:
    data = g.signed(signed_bb, men_signer, field_name="Second")
    assert decide(data, trust, is_mj).code == "modified_after_signing"


def test_agency_signature_last_is_accepted(
    original: bytes, men_signer: Any, mj_signer: Any, trust: Any, is_mj: Any
) -> None:
    data = g.signed(g.signed(original, men_signer, field_name="First"), mj_signer)
    assert decide(data, trust, is_mj).accepted


def test_untrusted_document_timestamp_after_signature(
    signed_bb: bytes, demo_pki: dict[str, Any], trust: Any, is_mj: Any
) -> None:
    # a "TSA" using the rogue signer's key and certificate: intact, but not trusted (and no timeStamping EKU)
    from pathlib import Path

    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    rogue_tsa = DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(demo_pki["rogue"]["signer_cert"]),
        tsa_key=load_private_key_from_pemder(str(Path(demo_pki["keys_dir"]) / "rogue-signer.key.pem"), passphrase=None),
    )
    decision = decide(g.document_timestamp(signed_bb, rogue_tsa), trust, is_mj)
    assert not decision.accepted
    assert decision.code == "modified_after_signing"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: g.not_pdf(), "malformed_pdf"),
        (lambda: b"", "malformed_pdf"),
        (lambda: b"%PDF-1.7\n", "malformed_pdf"),
        (lambda: g.decompression_bomb(), "malformed_pdf"),
        (lambda: g.many_signatures(300), "malformed_pdf"),
    ],
    ids=["not_pdf", "empty", "header_only", "decompression_bomb", "many_signatures"],
)
def test_garbage_is_malformed(make: Any, code: str, trust: Any, is_mj: Any) -> None:
    assert decide(make(), trust, is_mj).code == code
