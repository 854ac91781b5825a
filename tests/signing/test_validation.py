"""What validate_pdf reports: signer, timestamps, ETSI indications, errors; never an exception."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from signing.report import SignatureReport, ValidationReport
from signing.validation import validate_pdf
from tests.support import pdfgen as g
from tests.support.pki import ca_fingerprint


def agency_sig(report: ValidationReport) -> SignatureReport:
    sigs = [s for s in report.signatures if s.kind == "signature"]
    assert len(sigs) == 1, report
    return sigs[0]


def test_b_b_report(signed_bb: bytes, trust: Any, demo_pki: dict[str, Any]) -> None:
    report = validate_pdf(signed_bb, trust)
    assert report.error is None and report.error_detail is None
    assert report.sha256 == hashlib.sha256(signed_bb).hexdigest() and report.size == len(signed_bb)
    assert report.revisions == 2 and not report.certified_no_changes
    sig = agency_sig(report)
    assert (sig.intact, sig.valid, sig.trusted) == (True, True, True)
    assert (sig.indication, sig.sub_indication, sig.problems) == ("TOTAL_PASSED", None, ())
    assert sig.coverage == "ENTIRE_FILE" and sig.covers_file_end and sig.modification_level == "NONE"
    assert sig.signed_revision == 1 and sig.field_name == "AgencySignature" and sig.kind == "signature"
    assert sig.signer is not None
    assert sig.signer.organisational_unit == "MJ" and sig.signer.organisation == "Ministère de la Justice"
    assert sig.signer.common_name == "Ministère de la Justice - signature (DEMO)"
    assert sig.signer.not_before < sig.signer.not_after
    # signer, agency CA, root
    assert sig.chain_sha256[0] == sig.signer.sha256
    assert sig.chain_sha256[1] == ca_fingerprint(demo_pki, "MJ")
    assert sig.chain_sha256[-1] in trust.root_fingerprints and len(sig.chain_sha256) == 3
    assert isinstance(sig.signing_time, datetime)
    assert sig.timestamp is not None and not sig.timestamp.present


def test_b_t_reports_signature_timestamp(signed_by_level: dict[str, bytes], trust: Any) -> None:
    sig = agency_sig(validate_pdf(signed_by_level["B-T"], trust))
    assert sig.timestamp is not None
    assert sig.timestamp.present and sig.timestamp.intact and sig.timestamp.trusted
    assert sig.timestamp.tsa is not None and "Horodatage" in sig.timestamp.tsa
    assert sig.timestamp.time is not None and sig.indication == "TOTAL_PASSED"


def test_b_lta_reports_document_timestamp(signed_by_level: dict[str, bytes], trust: Any) -> None:
    report = validate_pdf(signed_by_level["B-LTA"], trust)
    assert report.revisions == 4
    sig, dts = report.signatures
    assert sig.kind == "signature" and sig.modification_level == "LTA_UPDATES" and sig.coverage == "ENTIRE_REVISION"
    assert sig.indication == "TOTAL_PASSED"
    assert dts.kind == "doc_timestamp" and dts.trusted and dts.timestamp is None
    # pyHanko writes the TSA's validation data in a last DSS-only revision, after the document timestamp
    assert dts.signed_revision == 2 and dts.coverage == "ENTIRE_REVISION" and dts.modification_level == "LTA_UPDATES"
    assert dts.signing_time is not None and dts.signer is not None and "Horodatage" in (dts.signer.common_name or "")


def test_report_is_json(signed_by_level: dict[str, bytes], trust: Any) -> None:
    d = validate_pdf(signed_by_level["B-LTA"], trust).to_dict()
    again = json.loads(json.dumps(d))
    assert again["signatures"][0]["signer"]["organisational_unit"] == "MJ"
    assert again["signatures"][1]["kind"] == "doc_timestamp"
    datetime.fromisoformat(again["signatures"][0]["timestamp"]["time"])


def test_untrusted_indication(original: bytes, rogue_signer: Any, trust: Any) -> None:
    sig = agency_sig(validate_pdf(g.rogue_signed(original, rogue_signer), trust))
    assert sig.intact and sig.valid and not sig.trusted
    assert (sig.indication, sig.sub_indication) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")
    # untrusted: the signer's own fingerprint plus the certificates it embedded
    assert sig.signer is not None and sig.chain_sha256[0] == sig.signer.sha256 and len(sig.chain_sha256) >= 2
    assert "untrusted" in sig.problems


def test_hash_failure_indication(signed_bb: bytes, trust: Any) -> None:
    sig = agency_sig(validate_pdf(g.flip_byte_in_signed_content(signed_bb), trust))
    assert not sig.intact and (sig.indication, sig.sub_indication) == ("TOTAL_FAILED", "HASH_FAILURE")


@pytest.mark.parametrize("variant", ["zeroed_signature_contents", "malformed_signature_contents"])
def test_broken_signature_container_is_a_per_signature_report(variant: str, signed_bb: bytes, trust: Any) -> None:
    report = validate_pdf(getattr(g, variant)(signed_bb), trust)
    assert report.error is None
    sig = agency_sig(report)
    assert not sig.intact and (sig.indication, sig.sub_indication) == ("TOTAL_FAILED", "FORMAT_FAILURE")
    assert sig.problems == ("malformed_signature",)


def test_info_only_update_is_rated_other(signed_bb: bytes, trust: Any) -> None:
    """pyHanko's default policy calls this LTA_UPDATES; ours does not."""
    sig = agency_sig(validate_pdf(g.info_only_update_after(signed_bb), trust))
    assert sig.intact and sig.trusted
    assert sig.modification_level == "OTHER" and "metadata_modified_after_signing" in sig.problems
    assert sig.indication == "TOTAL_FAILED"


def test_pyhanko_default_policy_would_accept_info_only_update(signed_bb: bytes) -> None:
    """Documents why WALLET_DIFF_POLICY exists (fails if pyHanko changes its default)."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel

    reader = PdfFileReader(BytesIO(g.info_only_update_after(signed_bb)))
    result = DEFAULT_DIFF_POLICY.review_file(reader, 1)
    assert result.modification_level == ModificationLevel.LTA_UPDATES


def test_certified_no_changes_flag(original: bytes, mj_signer: Any, trust: Any) -> None:
    report = validate_pdf(g.certified_no_changes(original, mj_signer), trust)
    assert report.certified_no_changes and report.signatures[0].docmdp_ok


def test_certified_then_modified(original: bytes, mj_signer: Any, trust: Any) -> None:
    sig = agency_sig(validate_pdf(g.add_annotation_after(g.certified_no_changes(original, mj_signer)), trust))
    assert sig.docmdp_ok is False and sig.indication == "TOTAL_FAILED"


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda bb: g.truncated(bb), "malformed_pdf"),
        (lambda bb: g.not_pdf(), "malformed_pdf"),
        (lambda bb: g.polyglot(bb), "malformed_pdf"),
        (lambda bb: g.encrypted(bb), "encrypted_pdf"),
        (lambda bb: g.many_signatures(300), "too_many_signatures"),
        (lambda bb: g.decompression_bomb(), "malformed_pdf"),
        (lambda bb: b"%PDF-1.7\n" + b"[" * 100_000, "malformed_pdf"),
        (lambda bb: b"%PDF-1.7\n1 0 obj\n<<" * 50_000, "malformed_pdf"),
    ],
    ids=["truncated", "not_pdf", "polyglot", "encrypted", "many_signatures", "bomb", "deep_array", "nested_dicts"],
)
def test_file_level_errors(make: Any, error: str, signed_bb: bytes, trust: Any) -> None:
    report = validate_pdf(make(signed_bb), trust)
    assert report.error == error and report.error_detail
    assert report.signatures == ()


def test_too_large(signed_bb: bytes, trust: Any) -> None:
    report = validate_pdf(signed_bb, trust, max_size=1000)
    assert report.error == "too_large"


def test_signature_cap_is_configurable(trust: Any) -> None:
    data = g.many_signatures(5)
    assert validate_pdf(data, trust, max_signatures=4).error == "too_many_signatures"
    report = validate_pdf(data, trust, max_signatures=5)
    assert report.error is None and len(report.signatures) == 5
    assert all(not s.intact and s.indication == "TOTAL_FAILED" for s in report.signatures)


def test_decompression_bomb_after_signature_is_bounded(signed_bb: bytes, trust: Any) -> None:
    """A 2 GiB XMP stream appended after the signature: reported, not inflated."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = validate_pdf(g.decompression_bomb_after(signed_bb), trust)
    sig = agency_sig(report)
    assert sig.modification_level == "OTHER"
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 512 * 1024  # far below the 2 GiB the stream claims


def test_moment_in_the_future_expires_certificates(signed_bb: bytes, trust: Any) -> None:
    from datetime import timedelta

    later = datetime.now(UTC) + timedelta(days=20 * 365)
    sig = agency_sig(validate_pdf(signed_bb, trust, moment=later))
    assert sig.intact and not sig.trusted and sig.indication == "INDETERMINATE"
