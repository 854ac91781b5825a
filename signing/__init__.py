"""Signature library of the citizen wallet: no Flask, no network.

Sealing (:class:`Sealer`, key custody, timestamps),
validation of submitted PDFs (:func:`validate_pdf`, :func:`decide_issuance`),
trust anchors (:class:`TrustStore`) and the demo PKI generator.
"""

from . import limits, speedups
from .demo_pki import generate_demo_pki, load_demo_pki
from .errors import SigningLibraryError, TrustStoreError
from .keys import KeyCustody, KeyCustodyError, Pkcs11Custody, Pkcs12Custody
from .metadata import MetadataReading, embed_document_json, peek_metadata, read_signed_metadata
from .revisions import RevisionChanges
from .seal import Sealer, SealingError, SealText
from .timestamps import http_timestamper, in_process_timestamper
from .trust import TrustStore
from .validation import (
    WALLET_DIFF_POLICY,
    CertInfo,
    IssuanceDecision,
    Limits,
    SignatureReport,
    TimestampInfo,
    ValidationReport,
    async_validate_pdf,
    decide_issuance,
    validate_pdf,
)

limits.install()  # cross-reference sections and entries counted while read (see limits.py)
speedups.install()  # an equivalent, faster hex-string reader for pyHanko's parser (see speedups.py)

__all__ = [
    "WALLET_DIFF_POLICY",
    "CertInfo",
    "IssuanceDecision",
    "KeyCustody",
    "MetadataReading",
    "KeyCustodyError",
    "Limits",
    "Pkcs11Custody",
    "Pkcs12Custody",
    "RevisionChanges",
    "SealText",
    "Sealer",
    "SealingError",
    "SignatureReport",
    "SigningLibraryError",
    "TimestampInfo",
    "TrustStore",
    "TrustStoreError",
    "ValidationReport",
    "async_validate_pdf",
    "decide_issuance",
    "embed_document_json",
    "generate_demo_pki",
    "http_timestamper",
    "in_process_timestamper",
    "load_demo_pki",
    "peek_metadata",
    "read_signed_metadata",
    "validate_pdf",
]
