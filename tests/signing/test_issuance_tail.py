"""What may follow the agency's signature at push: exactly DSS / document-timestamp material, decided per revision.

pyHanko rates an unsigned update that only adds an unreferenced object as ``LTA_UPDATES``; the issuance rule
used to take any such level for a pure long-term-validation tail. These files are built by tests/pdfgen.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from signing.issuance import decide_issuance
from signing.validation import validate_pdf
from tests.support import pdfgen as g


def decide(data: bytes, trust: Any, is_mj: Any) -> Any:
    return decide_issuance(validate_pdf(data, trust), is_mj)


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_an_unreferenced_object_after_the_signature_is_refused(
    level: str, signed_by_level: dict[str, bytes], trust: Any, is_mj: Any
) -> None:
    data = g.unreferenced_object_after(signed_by_level[level])
    report = validate_pdf(data, trust)
    last = report.changes_in(report.revisions - 1)
    assert last is not None and last.changes == ("unexplained_object",) and not last.ltv_only
    decision = decide_issuance(report, is_mj)
    assert (decision.accepted, decision.code) == (False, "modified_after_signing")
    assert "unexplained_object" in decision.detail


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_genuine_ltv_tails_are_decided_revision_by_revision(
    level: str, signed_by_level: dict[str, bytes], trust: Any, is_mj: Any
) -> None:
    report = validate_pdf(signed_by_level[level], trust)
    agency = next(s for s in report.signatures if s.field_name == "AgencySignature")
    later = [report.changes_in(r) for r in range(agency.signed_revision + 1, report.revisions)]
    assert later and all(c is not None and c.ltv_only and "dss" in c.changes for c in later), later
    assert decide_issuance(report, is_mj).accepted


def test_a_trusted_document_timestamp_is_ltv_material(signed_bb: bytes, timestamper: Any, trust: Any,
                                                       is_mj: Any) -> None:
    report = validate_pdf(g.document_timestamp(signed_bb, timestamper), trust)
    last = report.changes_in(report.revisions - 1)
    assert last is not None and last.changes == ("doc_timestamp",) and last.ltv_only
    assert decide_issuance(report, is_mj).accepted


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda pdf, ctx: g.overlay_signed(pdf, g.self_signed_signer()), "signature"),
        (lambda pdf, ctx: g.overlay_signed(pdf, ctx["men"]), "signature"),
        (lambda pdf, ctx: g.restyled_signature_widget_after(pdf), "appearance_changed"),
        (lambda pdf, ctx: g.document_timestamp(pdf, g.self_signed_timestamper()), "doc_timestamp"),
        (lambda pdf, ctx: g.unreferenced_object_after(pdf), "unexplained_object"),
    ],
    ids=["overlay_self_signed", "overlay_other_agency", "restyled_agency_widget", "untrusted_doc_timestamp",
         "unreferenced_object"],
)
@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_hostile_tails_are_refused(make: Any, code: str, level: str, signed_by_level: dict[str, bytes],
                                   men_signer: Any, trust: Any, is_mj: Any) -> None:
    report = validate_pdf(make(signed_by_level[level], {"men": men_signer}), trust)
    last = report.changes_in(report.revisions - 1)
    assert last is not None and code in last.changes, last
    decision = decide_issuance(report, is_mj)
    assert (decision.accepted, decision.code) == (False, "modified_after_signing"), decision.detail


def test_the_overlay_is_seen_for_what_it_is(signed_by_level: dict[str, bytes], trust: Any) -> None:
    report = validate_pdf(g.overlay_signed(signed_by_level["B-T"], g.self_signed_signer()), trust)
    last = report.changes_in(report.revisions - 1)
    assert last is not None
    assert set(last.changes) == {"signature", "visible_signature", "covers_page"}
    assert last.covered_page_ratio == 1.0 and last.signature_fields == ("Visa",)
    assert not last.ltv_only
    assert not last.seal_shaped  # a box over the page is not the seal's band (whoever signed it)


def test_push_of_an_unreferenced_object_tail_is_422(push: Any, signed_pdf: Any, app: Any) -> None:
    from sqlalchemy import func, select

    from wallet import db
    from wallet.documents.models import Document

    r = push(g.unreferenced_object_after(signed_pdf("MJ", level="B-LT")))
    assert r.status_code == 422, r.get_data(as_text=True)
    body = r.get_json()
    assert body["code"] == "modified_after_signing"
    assert "Traceback" not in r.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Document)) == 0
    assert push(signed_pdf("MJ", level="B-LT")).status_code == 201  # the genuine B-LT file still goes in


def test_a_dss_update_may_not_rewrite_older_objects(signed_by_level: dict[str, bytes], trust: Any,
                                                    is_mj: Any) -> None:
    data = g.dss_rewriting_page_content_after(signed_by_level["B-T"])
    report = validate_pdf(data, trust)
    last = report.changes_in(report.revisions - 1)
    assert last is not None and "page_content" in last.changes and not last.ltv_only, last
    decision = decide_issuance(report, is_mj)
    assert (decision.accepted, decision.code) == (False, "modified_after_signing")


def test_xref_stream_files_are_analysed_alike(demo_pki: dict[str, Any], mj_signer: Any, timestamper: Any,
                                              trust: Any, is_mj: Any) -> None:
    """pyHanko writes xref streams into files that use them: bookkeeping, not a change; the attacks still show."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(g.base_pdf())) as pdf:
        out = io.BytesIO()
        pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    lta = g.signed(out.getvalue(), mj_signer, "B-LTA", timestamper, g.offline_validation_context(demo_pki["root"]))
    assert b"/XRef" in lta[len(out.getvalue()):]
    assert decide(lta, trust, is_mj).accepted
    for hostile, code in ((g.unreferenced_object_after(lta), "unexplained_object"),
                          (g.overlay_signed(lta, g.self_signed_signer()), "covers_page")):
        report = validate_pdf(hostile, trust)
        last = report.changes_in(report.revisions - 1)
        assert last is not None and code in last.changes
        assert decide_issuance(report, is_mj).code == "modified_after_signing"
