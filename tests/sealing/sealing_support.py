"""Helpers for the seal tests (importable from the test modules; fixtures live in conftest.py)."""

from __future__ import annotations

import glob
import os
import subprocess
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from signing.keys import Pkcs12Custody

PDFSIG = "/usr/bin/pdfsig"
PDFTOPPM = "/usr/bin/pdftoppm"


def make_base_pdf(pages: int = 2) -> bytes:
    """A small A4 document with a letterhead at the top of each page."""
    writer = PdfFileWriter(stream_xrefs=False)
    font = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
                generic.pdf_name("/Encoding"): generic.pdf_name("/WinAnsiEncoding"),
            }
        )
    )
    for n in range(pages):
        ops = (
            b"BT /F1 20 Tf 56 790 Td (ROYAUME DU MAROC - Ministere de la Justice) Tj ET "
            b"0.2 0.3 0.6 RG 2 w 56 770 m 539 770 l S "
            b"BT /F1 12 Tf 56 720 Td (Extrait du casier judiciaire - page %d) Tj ET" % (n + 1)
        )
        stream = generic.StreamObject(stream_data=ops)
        resources = generic.DictionaryObject(
            {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): font})}
        )
        writer.insert_page(PageObject(writer.add_object(stream), (0, 0, 595, 842), resources))
    buf = BytesIO()
    writer.write(buf)
    return buf.getvalue()


def agency_sign(
    pdf: bytes,
    custody: Pkcs12Custody,
    timestamper,
    *,
    root: x509.Certificate,
    level: str = "B-B",
    certify_no_changes: bool = False,
) -> bytes:
    """Sign ``pdf`` like an agency would: PAdES B-B, B-T or B-LT (DSS), optionally certified P=1."""
    meta = signers.PdfSignatureMetadata(
        field_name="AgencySignature",
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        certify=certify_no_changes,
        docmdp_permissions=MDPPerm.NO_CHANGES if certify_no_changes else MDPPerm.FILL_FORMS,
    )
    if level == "B-LT":
        meta = signers.PdfSignatureMetadata(
            field_name="AgencySignature",
            subfilter=SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            embed_validation_info=True,
            validation_context=ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail"),
        )
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)),
        meta,
        signer=custody.signer(),
        timestamper=None if level == "B-B" else timestamper,
    )
    return out.getvalue()


def validate_all(pdf: bytes, roots: list[x509.Certificate]) -> list[tuple[str, PdfSignatureStatus]]:
    reader = PdfFileReader(BytesIO(pdf))
    result = []
    for sig in reader.embedded_signatures:
        vc = ValidationContext(trust_roots=roots, allow_fetching=False)
        result.append((sig.field_name, validate_pdf_signature(sig, vc)))
    return result


def pdfsig_verdicts(pdf: bytes, tmp_path: Path) -> list[str]:
    if not os.path.exists(PDFSIG):
        pytest.skip(reason="pdfsig not installed (apt-get install poppler-utils)")
    path = tmp_path / "check.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([PDFSIG, "-nocert", str(path)], check=False, capture_output=True, text=True, timeout=30).stdout
    return [line.split(":", 1)[1].strip() for line in out.splitlines() if "Signature Validation:" in line]


def decode_qr(pdf: bytes, tmp_path: Path, page: int = 1) -> list[str]:
    if not os.path.exists(PDFTOPPM):
        pytest.skip(reason="pdftoppm not installed (apt-get install poppler-utils)")
    import zxingcpp
    from PIL import Image

    path = tmp_path / "render.pdf"
    path.write_bytes(pdf)
    prefix = tmp_path / "page"
    subprocess.run(
        [PDFTOPPM, "-r", "110", "-png", "-f", str(page), "-l", str(page), str(path), str(prefix)],
        check=True,
        timeout=30,
    )
    (png,) = glob.glob(f"{prefix}-*.png")
    with Image.open(png) as img:
        return [r.text for r in zxingcpp.read_barcodes(img)]


@dataclass(frozen=True)
class HttpTsa:
    url: str
    root: x509.Certificate


def tsa_arch_config(key_dir: Path, prefix: str) -> dict[str, Any]:
    validity = {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2100-01-01T00:00:00+0000"}
    return {
        "external-url-prefix": prefix,
        "keysets": {
            "tsa-test": {
                "path-prefix": str(key_dir),
                "keys": {"root": {"path": "root.pem"}, "tsa": {"path": "tsa.pem"}},
            }
        },
        "pki-architectures": {
            "tsa-test": {
                "keyset": "tsa-test",
                "entity-defaults": {"country-name": "MA", "organization-name": "Test TSA"},
                "entities": {"root": {"common-name": "Test TSA Root"}, "tsa": {"common-name": "Test TSA"}},
                "certs": {
                    "root": {
                        "subject": "root",
                        "issuer": "root",
                        "validity": validity,
                        "extensions": [
                            {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {"schema": "key-usage", "params": ["key_cert_sign", "crl_sign"]},
                            },
                        ],
                    },
                    "tsa": {
                        "issuer": "root",
                        "validity": validity,
                        "extensions": [
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
                            },
                            {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                        ],
                    },
                },
                "services": {"time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}}},
            }
        },
    }


@dataclass(frozen=True)
class SoftHsmToken:
    conf: Path
    label: str
    pin: str
    key_label: str
