"""The status values typed as Literals keep their strings (they are public: JSON fields, API codes)."""
from __future__ import annotations

from typing import get_args

from signing import metadata
from signing.issuance import IssuanceCode
from signing.report import Indication, ReportError, SignatureKind
from signing.revisions import CHANGE_CODES, ChangeCode
from signing.sealconfig import Custody


def test_literal_values() -> None:
    assert set(get_args(Indication)) == {"TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"}
    assert set(get_args(SignatureKind)) == {"signature", "doc_timestamp"}
    assert set(get_args(ReportError)) == {"too_large", "malformed_pdf", "encrypted_pdf", "too_many_signatures",
                                          "too_complex"}
    assert set(get_args(IssuanceCode)) == {"malformed_pdf", "unsigned", "signature_invalid", "untrusted_signer",
                                           "signer_not_agency", "modified_after_signing"}
    assert CHANGE_CODES == get_args(ChangeCode) and len(CHANGE_CODES) == 15
    assert [c.value for c in Custody] == ["file", "pkcs11"]


def test_metadata_error_codes_are_the_constants() -> None:
    constants = {metadata.ABSENT, metadata.MALFORMED, metadata.TOO_LARGE, metadata.NOT_UTF8, metadata.BAD_JSON,
                 metadata.TOO_DEEP, metadata.NOT_OBJECT, metadata.DUPLICATE_KEY, metadata.UNKNOWN_KEY}
    assert set(get_args(metadata.MetadataError)) == constants
    assert all(c.startswith("document_json_") for c in constants)
