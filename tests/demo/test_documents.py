"""The demo certificate PDFs (wallet.demo.documents, wallet.demo.bodies): valid, one page, signable, deterministic."""
from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import subprocess
from io import BytesIO
from typing import Any

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from wallet.demo.bodies import demo_body
from wallet.demo.documents import FREE_BOTTOM, PAGE_HEIGHT, make_document_pdf

ISSUED = dt.datetime(2025, 3, 12, 10, 30, tzinfo=dt.UTC)
HOLDER = "Yassine El Amrani"

# (agency code, agency fr, agency ar, type fr, type ar): kept here so that the test does not depend on the catalogue
CASES: dict[str, tuple[str, str, str, str, str]] = {
    "criminal_record": ("MJ", "Ministère de la Justice", "وزارة العدل",
                        "Extrait du casier judiciaire", "بطاقة السوابق العدلية"),
    "nationality": ("MJ", "Ministère de la Justice", "وزارة العدل",
                    "Certificat de nationalité marocaine", "شهادة الجنسية المغربية"),
    "school_report": ("MEN", "Ministère de l'Éducation nationale", "وزارة التربية الوطنية",
                      "Bulletin scolaire", "بيان النقط"),
    "school_certificate": ("MEN", "Ministère de l'Éducation nationale", "وزارة التربية الوطنية",
                           "Certificat de scolarité", "شهادة مدرسية"),
    "commerce_register": ("OMPIC", "OMPIC — Registre central du commerce",
                          "المكتب المغربي للملكية الصناعية والتجارية",
                          "Certificat du registre du commerce", "شهادة السجل التجاري"),
}
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def make(doc_type: str, seed: int = 7, **overrides: Any) -> bytes:
    code, agency_fr, agency_ar, type_fr, type_ar = CASES[doc_type]
    kwargs: dict[str, Any] = {
        "agency_code": code, "agency_name": agency_fr, "agency_name_ar": agency_ar, "doc_type": doc_type,
        "type_name_fr": type_fr, "type_name_ar": type_ar, "holder_name": HOLDER, "holder_id": "BK123456",
        "reference": f"{code}-2025-000123", "issued_at": ISSUED, "expires_at": ISSUED + dt.timedelta(days=90),
        "body_lines_fr": demo_body(doc_type, overrides.get("holder_name", HOLDER), random.Random(seed)),
    }
    kwargs.update(overrides)
    return make_document_pdf(**kwargs)


def pdftotext(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip(reason="poppler-utils (pdftotext) is not installed")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return BIDI_CONTROLS.sub("", out.stdout.decode("utf-8"))


def embedded_fonts(pdf: bytes) -> dict[str, Any]:
    reader = PdfFileReader(BytesIO(pdf), strict=True)
    fonts = reader.root["/Pages"]["/Kids"][0]["/Resources"]["/Font"]
    return {str(fonts[k]["/BaseFont"]): fonts[k] for k in fonts}


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    return {doc_type: make(doc_type) for doc_type in CASES}


@pytest.mark.parametrize("doc_type", sorted(CASES))
def test_valid_one_page_pdf(pdfs: dict[str, bytes], doc_type: str) -> None:
    pdf = pdfs[doc_type]
    assert pdf.startswith(b"%PDF-1.7") and pdf.rstrip().endswith(b"%%EOF")
    assert 5_000 < len(pdf) < 150_000
    reader = PdfFileReader(BytesIO(pdf), strict=True)
    assert reader.root["/Pages"]["/Count"] == 1
    assert len(list(reader.embedded_signatures)) == 0  # unsigned: the agency signs it afterwards
    page = reader.root["/Pages"]["/Kids"][0]
    assert [float(v) for v in page["/MediaBox"]] == [0, 0, 595, 842]
    IncrementalPdfFileWriter(BytesIO(pdf), strict=True)  # opens for an incremental update


@pytest.mark.parametrize("doc_type", sorted(CASES))
def test_text_is_extractable(pdfs: dict[str, bytes], doc_type: str) -> None:
    code, _agency_fr, _agency_ar, type_fr, type_ar = CASES[doc_type]
    text = pdftotext(pdfs[doc_type])
    assert type_fr in text
    assert HOLDER in text and "BK123456" in text and f"{code}-2025-000123" in text
    assert "12/03/2025" in text and "10/06/2025" in text
    assert "Royaume du Maroc".upper() in text
    assert "Document délivré électroniquement — DEMO, sans valeur légale" in text
    # Arabic: shaped glyphs map back (ToUnicode) to the logical text
    assert "المملكة المغربية" in text
    assert type_ar in text


def test_arabic_font_embedded_and_subset(pdfs: dict[str, bytes]) -> None:
    fonts = embedded_fonts(pdfs["criminal_record"])
    arabic = [name for name in fonts if "+" in name]
    assert arabic, fonts.keys()
    for name in arabic:
        font = fonts[name]
        assert font["/Subtype"] == "/Type0" and font["/Encoding"] == "/Identity-H" and "/ToUnicode" in font
        program = font["/DescendantFonts"][0]["/FontDescriptor"]["/FontFile2"].data
        assert len(program) < 60_000  # subset, not the whole font
    fontTools = pytest.importorskip("fontTools.ttLib")
    for name in arabic:
        program = fonts[name]["/DescendantFonts"][0]["/FontDescriptor"]["/FontFile2"].data
        tt = fontTools.TTFont(BytesIO(program))
        for tag in ("glyf", "loca", "hmtx", "head", "hhea", "maxp"):
            tt[tag]  # decompiles
        assert sum(1 for g in tt.getGlyphOrder() if tt["glyf"][g].numberOfContours) > 5


@pytest.mark.parametrize("doc_type", sorted(CASES))
def test_deterministic(doc_type: str) -> None:
    assert make(doc_type, seed=3) == make(doc_type, seed=3)
    if doc_type != "criminal_record":  # (its body may coincide for two seeds only by chance)
        assert make(doc_type, seed=3) != make(doc_type, seed=4)


def test_default_body_is_seeded_by_reference() -> None:
    a = make("school_report", body_lines_fr=None)
    assert a == make("school_report", body_lines_fr=None)
    assert a != make("school_report", body_lines_fr=None, reference="MEN-2025-000124")


def test_bottom_band_is_left_empty(pdfs: dict[str, bytes]) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    for doc_type, pdf in pdfs.items():
        doc = pdfium.PdfDocument(pdf)
        try:
            scale = 1.0
            image = doc[0].render(scale=scale).to_pil().convert("L")
        finally:
            doc.close()
        top_of_band = int((PAGE_HEIGHT - FREE_BOTTOM) * scale)
        band = image.crop((0, top_of_band, image.width, image.height))
        assert band.getextrema() == (255, 255), doc_type
        # and the page above it is not blank
        assert image.crop((0, 0, image.width, top_of_band)).getextrema()[0] < 100


def test_long_body_still_fits_on_one_page() -> None:
    lines = [f"Ligne {n} : un texte de démonstration assez long pour occuper la largeur de la page, ou presque."
             for n in range(80)]
    pdf = make("nationality", body_lines_fr=lines, expires_at=None)
    assert PdfFileReader(BytesIO(pdf), strict=True).root["/Pages"]["/Count"] == 1
    text = pdftotext(pdf)
    assert "Sans limitation de durée" in text and "[…]" in text


def test_arabic_holder_name_and_unusual_characters() -> None:
    pdf = make("criminal_record", holder_name="ياسين العمراني", holder_id="BK 12 ğ (x)",
               reference="MJ/2025\\(1)")
    PdfFileReader(BytesIO(pdf), strict=True)
    text = pdftotext(pdf)
    assert "ياسين العمراني" in text and "MJ/2025\\(1)" in text


def test_demo_bodies() -> None:
    rng = random.Random(1)
    criminal = demo_body("criminal_record", HOLDER, rng)
    assert any("Néant" in line for line in criminal)
    nationality = demo_body("nationality", HOLDER, rng)
    assert any("nationalité marocaine" in line for line in nationality)
    report = demo_body("school_report", HOLDER, rng)
    rows = [line.split(" | ") for line in report if " | " in line]
    assert rows[0][2] == "Note / 20" and len(rows) >= 8
    for row in rows[1:]:
        assert 0 <= float(row[2].replace(",", ".")) <= 20
    assert any(line.startswith("Moyenne du semestre : ") and line.endswith("/ 20") for line in report)
    certificate = demo_body("school_certificate", HOLDER, rng)
    assert any("inscrit(e)" in line for line in certificate)
    register = "\n".join(demo_body("commerce_register", HOLDER, rng))
    for label in ("Dénomination : ", "Numéro RC : ", "Forme juridique : ", "Capital social : ", "Siège social : "):
        assert label in register
    assert re.search(r"^ICE : \d{15}$", register, re.MULTILINE)
    assert demo_body("unknown_type", HOLDER, rng)


def test_signable_incrementally(pdfs: dict[str, bytes]) -> None:
    """The caller signs the PDF with the agency key: check pyHanko can (throwaway self-signed key)."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Throwaway test agency")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
            .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signer = signers.SimpleSigner(
        signing_cert=asn1_cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs([asn1_cert]),
    )
    pdf = pdfs["school_report"]
    meta = signers.PdfSignatureMetadata(field_name="AgencySignature", subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256")
    out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=True), meta, signer=signer).getvalue()
    assert out.startswith(pdf)  # incremental update: the original bytes are untouched
    reader = PdfFileReader(BytesIO(out), strict=True)
    (sig,) = reader.embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[asn1_cert]))
    assert status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
