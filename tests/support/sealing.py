"""Seal test material: a letterheaded base PDF, an agency signature, a validation of every signature, a test TSA's
certomancer architecture and a SoftHSM token description (fixtures live in tests/sealing/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

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
