"""Sealing shared copies (product flow 3): the seal is valid, the agency's signature survives."""

from __future__ import annotations

import concurrent.futures
import subprocess
from datetime import UTC, datetime
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing.seal import Sealer, SealingError, SealText
from signing.timestamps import http_timestamper
from tests.support.sealing import validate_all
from tests.support.tools import decode_qr, pdfsig_verdicts


def _assert_sealed_copy(original: bytes, sealed: bytes, roots, tmp_path, text: SealText) -> None:
    # one incremental update on top of the untouched original
    assert sealed.startswith(original)
    revisions = PdfFileReader(BytesIO(original)).xrefs.total_revisions
    assert PdfFileReader(BytesIO(sealed)).xrefs.total_revisions == revisions + 1

    results = validate_all(sealed, roots)
    assert [name for name, _ in results] == ["AgencySignature", "WalletSeal1"]
    (_, agency), (_, seal) = results
    assert agency.intact and agency.valid and agency.trusted
    assert agency.docmdp_ok is not False and agency.bottom_line
    assert seal.intact and seal.valid and seal.trusted
    assert seal.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert seal.timestamp_validity is not None and seal.timestamp_validity.trusted
    assert seal.signing_cert.subject.native["organizational_unit_name"] == "PLATFORM"

    reader = PdfFileReader(BytesIO(sealed))
    seal_sig = reader.embedded_signatures[1]
    assert seal_sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    # the seal's chain is embedded (signer + platform CA + root)
    assert len(seal_sig.signed_data["certificates"]) >= 3
    # visible widget on the first page, in the bottom band
    annot = seal_sig.sig_field["/Kids"][0] if "/Kids" in seal_sig.sig_field else seal_sig.sig_field
    rect = [float(v) for v in annot["/Rect"]]
    assert rect[3] - rect[1] > 40 and rect[3] < 200
    assert annot["/P"].get_object() is reader.root["/Pages"]["/Kids"][0].get_object()

    assert pdfsig_verdicts(sealed, tmp_path) == ["Signature is Valid."] * 2
    assert decode_qr(sealed, tmp_path) == [text.url]


def test_seal_bb_original(sealer: Sealer, bb_original, root_cert, seal_text, tmp_path):
    assert sealer.can_seal(bb_original)
    sealed = sealer.seal(bb_original, seal_text)
    _assert_sealed_copy(bb_original, sealed, [root_cert], tmp_path, seal_text)


def test_seal_blt_original(sealer: Sealer, blt_original, root_cert, seal_text, tmp_path):
    assert "/DSS" in PdfFileReader(BytesIO(blt_original)).root
    assert sealer.can_seal(blt_original)
    sealed = sealer.seal(blt_original, seal_text)
    _assert_sealed_copy(blt_original, sealed, [root_cert], tmp_path, seal_text)


def test_seal_text_visible_in_both_languages(sealer: Sealer, bb_original, seal_text, tmp_path):
    sealed = sealer.seal(bb_original, seal_text)
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    try:
        text = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    except FileNotFoundError:
        pytest.skip(reason="pdftotext not installed (apt-get install poppler-utils)")
    date = seal_text.valid_until_label()
    assert f"Shared copy \u2014 verify at {seal_text.url}" in text
    assert f"valid until {date}" in text
    assert f"Copie partag\u00e9e \u2014 v\u00e9rifier sur {seal_text.url}" in text
    assert f"valable jusqu'au {date}" in text
    assert "Extrait du casier judiciaire" in text


def test_sealing_twice_uses_a_new_field(sealer: Sealer, bb_original, root_cert, seal_text):
    twice = sealer.seal(sealer.seal(bb_original, seal_text), seal_text)
    names = [name for name, _ in validate_all(twice, [root_cert])]
    assert names == ["AgencySignature", "WalletSeal1", "WalletSeal2"]


def test_certified_p1_gets_a_verification_sheet(sealer: Sealer, certified_p1_original, root_cert, seal_text, tmp_path):
    assert not sealer.can_seal(certified_p1_original)
    before = bytes(certified_p1_original)
    with pytest.raises(SealingError, match="P=1"):
        sealer.seal(certified_p1_original, seal_text)
    assert certified_p1_original == before

    sha = "ab" * 32
    sheet = sealer.verification_sheet(
        seal_text, title="Extrait du casier judiciaire", sha256=sha, issuer="Ministère de la Justice", holder="Amina"
    )
    reader = PdfFileReader(BytesIO(sheet))
    assert len(reader.root["/Pages"]["/Kids"]) == 1
    ((name, status),) = validate_all(sheet, [root_cert])
    assert name == "WalletSeal1"
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert pdfsig_verdicts(sheet, tmp_path) == ["Signature is Valid."]
    assert decode_qr(sheet, tmp_path) == [seal_text.url]
    path = tmp_path / "sheet.pdf"
    path.write_bytes(sheet)
    text = subprocess.run(["pdftotext", str(path), "-"], check=False, capture_output=True, text=True).stdout
    assert sha[:32] in text and "Ministère de la Justice" in text


def test_can_seal_rejects_garbage(sealer: Sealer):
    assert not sealer.can_seal(b"")
    assert not sealer.can_seal(b"%PDF-1.7\nnot really a pdf")
    with pytest.raises(SealingError):
        sealer.seal(b"%PDF-1.7\ngarbage", SealText(url="http://x/v/1", valid_until=datetime.now(UTC)))


def test_seal_from_threads(sealer: Sealer, bb_original, root_cert, seal_text):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        sealed = list(pool.map(lambda _: sealer.seal(bb_original, seal_text), range(8)))
    for pdf in sealed[:2]:
        assert all(s.intact and s.valid and s.trusted for _, s in validate_all(pdf, [root_cert]))


def test_seal_with_http_timestamper(seal_custody, bb_original, root_cert, http_tsa, seal_text, tmp_path):
    sealer = Sealer(seal_custody, http_timestamper(http_tsa.url, timeout=10))
    sealed = sealer.seal(bb_original, seal_text)
    (_, agency), (_, seal) = validate_all(sealed, [root_cert, http_tsa.root])
    assert agency.intact and agency.trusted
    assert seal.intact and seal.valid and seal.trusted
    assert seal.timestamp_validity is not None
    assert seal.timestamp_validity.intact and seal.timestamp_validity.trusted
    assert seal.timestamp_validity.signing_cert.subject.native["common_name"] == "Test TSA"
    # without the TSA's root the timestamp is not trusted: the check above means something
    (_, _), (_, untrusted) = validate_all(sealed, [root_cert])
    assert not untrusted.timestamp_validity.trusted


def test_certified_p2_is_not_sealed(sealer: Sealer, base_pdf, agency_custody, timestamper, root_cert, seal_text):
    """A visible seal after a certification signature would count as a disallowed change."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter

    meta = signers.PdfSignatureMetadata(
        field_name="AgencySignature",
        subfilter=SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=MDPPerm.FILL_FORMS,
    )
    original = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(base_pdf)), meta, signer=agency_custody.signer(), timestamper=timestamper
    ).getvalue()
    assert not sealer.can_seal(original)
    with pytest.raises(SealingError, match="certified"):
        sealer.seal(original, seal_text)


def test_field_lock_p1_cannot_be_sealed(sealer: Sealer, base_pdf, agency_custody, seal_text):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    spec = fields.SigFieldSpec(
        "Locked",
        field_mdp_spec=fields.FieldMDPSpec(fields.FieldMDPAction.ALL),
        doc_mdp_update_value=fields.MDPPerm.NO_CHANGES,
    )
    original = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(base_pdf)),
        signers.PdfSignatureMetadata(field_name="Locked"),
        signer=agency_custody.signer(),
        new_field_spec=spec,
    ).getvalue()
    assert not sealer.can_seal(original)
    with pytest.raises(SealingError, match="P=1"):
        sealer.seal(original, seal_text)
