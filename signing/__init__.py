"""Signature library of the citizen wallet: no Flask, no network.

Sealing (:class:`Sealer`, key custody, timestamps),
validation of submitted PDFs (:func:`validate_pdf`, :func:`decide_issuance`),
trust anchors (:class:`TrustStore`) and the demo PKI generator.

Importing it changes nothing in pyHanko: a program that validates outside PDFs calls
:func:`install_pyhanko_patches` once at start (see :mod:`signing.patches`).
"""

from .demo_pki import generate_demo_pki, load_demo_pki
from .errors import SigningLibraryError, TrustStoreError
from .issuance import IssuanceDecision, decide_issuance
from .keys import KeyCustody, KeyCustodyError, Pkcs11Custody, Pkcs12Custody, open_custody
from .limits import Limits
from .metadata import MetadataReading, embed_document_json, peek_metadata, read_signed_metadata
from .patches import install_pyhanko_patches, pyhanko_patched
from .policy import WALLET_DIFF_POLICY
from .report import CertInfo, SignatureReport, TimestampInfo, ValidationReport
from .revisions import RevisionChanges
from .seal import Sealer, SealingError, SealText
from .sealconfig import Custody, SealConfig, SealConfigError
from .timestamps import http_timestamper, in_process_timestamper
from .trust import TrustStore
from .validation import async_validate_pdf, validate_pdf

__all__ = [
    "WALLET_DIFF_POLICY",
    "CertInfo",
    "Custody",
    "IssuanceDecision",
    "KeyCustody",
    "MetadataReading",
    "KeyCustodyError",
    "Limits",
    "Pkcs11Custody",
    "Pkcs12Custody",
    "RevisionChanges",
    "SealConfig",
    "SealConfigError",
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
    "install_pyhanko_patches",
    "load_demo_pki",
    "open_custody",
    "peek_metadata",
    "pyhanko_patched",
    "read_signed_metadata",
    "validate_pdf",
]
