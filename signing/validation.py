"""Validation of signed PDFs received from outside: :func:`validate_pdf`.

It never raises for a bad file: it returns a frozen :class:`~signing.report.ValidationReport`. The reading
policy (decode limits, difference analysis, size) is :mod:`signing.policy`, the structural limits
:mod:`signing.limits`; what the report means for an agency's push is :mod:`signing.issuance`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import (
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.fields import MDPPerm, enumerate_sig_fields
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
    read_certification_data,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel

from . import limits as _limits
from .limits import Limits, TooComplex
from .metadata import read_signed_metadata
from .policy import DEFAULT_MAX_SIGNATURES, DEFAULT_MAX_SIZE, WALLET_DECODE_LIMITS, WALLET_DIFF_POLICY
from .policy import METADATA_MARKER as _METADATA_MARKER
from .report import CertInfo, Indication, ReportError, SignatureKind, SignatureReport, TimestampInfo, ValidationReport
from .revisions import RevisionChanges, analyse_revisions
from .trust import TrustStore

__all__ = ["DEFAULT_MAX_SIZE", "ValidationReport", "async_validate_pdf", "validate_pdf"]

logger = logging.getLogger(__name__)


def _field_name(name: Any) -> str:
    """A field name as text for the report: pyHanko yields ``/T`` strings no PDF encoding decodes as bytes
    (``ByteStringObject``), which are not JSON; control characters are replaced too (found by fuzzing)."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "\ufffd" for c in str(name))


class _TooManySignatures(Exception):
    pass


def _trailing_bytes(data: bytes) -> int:
    pos = data.rfind(b"%%EOF")
    if pos < 0:
        return len(data)
    tail = data[pos + 5 :]
    return 0 if tail.strip(b"\r\n") == b"" and len(tail) <= 2 else len(tail)


def _broken_report(
    field_name: str, kind: SignatureKind, problem: str, emb: EmbeddedPdfSignature | None = None
) -> SignatureReport:
    signer: CertInfo | None = None
    chain: tuple[str, ...] = ()
    revision = -1
    if emb is not None:
        revision = emb.signed_revision
        try:
            cert = emb.signer_cert
            signer = CertInfo.from_cert(cert)
            chain = (cert.sha256.hex(),) + tuple(c.sha256.hex() for c in emb.other_embedded_certs)
        except Exception as exc:  # noqa: BLE001 -- best effort only
            logger.debug("signature %s: no readable signer certificate (%s)", field_name, exc.__class__.__name__)
    coverage = emb.coverage.name if emb is not None and emb.coverage is not None else "UNCLEAR"
    return SignatureReport(
        field_name=field_name,
        kind=kind,
        intact=False,
        valid=False,
        trusted=False,
        signer=signer,
        chain_sha256=chain,
        signing_time=None,
        timestamp=None,
        coverage=coverage,
        modification_level=None,
        docmdp_ok=None,
        signed_revision=revision,
        covers_file_end=False,
        indication="TOTAL_FAILED",
        sub_indication="FORMAT_FAILURE",
        problems=(problem,),
    )


def _chain(status: Any, emb: EmbeddedPdfSignature) -> tuple[str, ...]:
    path = getattr(status, "validation_path", None)
    if status.trusted and path is not None:
        certs = list(path.iter_certs(include_root=True))
        return tuple(c.sha256.hex() for c in reversed(certs))
    signer = status.signing_cert
    embedded = [c.sha256.hex() for c in emb.other_embedded_certs]
    return (signer.sha256.hex(), *[fp for fp in embedded if fp != signer.sha256.hex()])


def _indication(
    status: Any, problems: list[str], modification: ModificationLevel | None
) -> tuple[Indication, str | None]:
    if not status.intact:
        return "TOTAL_FAILED", "HASH_FAILURE"
    if not status.valid:
        return "TOTAL_FAILED", "SIG_CRYPTO_FAILURE"
    if getattr(status, "revoked", False):
        return "TOTAL_FAILED", "REVOKED"
    if modification == ModificationLevel.OTHER or getattr(status, "docmdp_ok", None) is False:
        return "TOTAL_FAILED", "FORMAT_FAILURE"
    if not status.trusted:
        indic = status.trust_problem_indic
        return "INDETERMINATE", indic.name if indic is not None else "NO_CERTIFICATE_CHAIN_FOUND"
    if "timestamp_invalid" in problems:
        return "INDETERMINATE", "TIMESTAMP_ORDER_FAILURE" if "timestamp_order" in problems else "GENERIC"
    return "TOTAL_PASSED", None


def _status_problems(status: Any) -> list[str]:
    """The problem codes pyHanko's status shows, in the report's fixed order."""
    problems: list[str] = []
    if not status.intact:
        problems.append("not_intact")
    if not status.valid:
        problems.append("crypto_invalid")
    if getattr(status, "revoked", False):
        problems.append("revoked")
    if not status.trusted:
        problems.append("untrusted")
    coverage: SignatureCoverageLevel = status.coverage
    if coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION):
        problems.append("coverage_" + coverage.name.lower())
    diff = status.diff_result
    modification: ModificationLevel | None = status.modification_level
    if isinstance(diff, SuspiciousModification) and str(diff).startswith(_METADATA_MARKER):
        problems.append("metadata_modified_after_signing")
    if modification is not None and modification > ModificationLevel.LTA_UPDATES:
        problems.append("modified_after_signing")
    if getattr(status, "docmdp_ok", None) is False:
        problems.append("docmdp_violation")
    return problems


def _times(status: Any, kind: SignatureKind, problems: list[str]) -> tuple[datetime | None, TimestampInfo | None]:
    """The signing time and, for a ``/Sig``, its signature timestamp (appending the timestamp's problems)."""
    if kind != "signature":
        return status.timestamp, None
    tv = status.timestamp_validity
    if tv is None:
        return status.signer_reported_dt, TimestampInfo(present=False, intact=False, trusted=False, time=None,
                                                        tsa=None)
    if not (tv.intact and tv.valid):
        problems.append("timestamp_invalid")
    elif not tv.trusted:
        problems.append("timestamp_untrusted")
    return status.signer_reported_dt, TimestampInfo(
        present=True,
        intact=bool(tv.intact and tv.valid),
        trusted=bool(tv.trusted),
        time=tv.timestamp,
        tsa=tv.signing_cert.subject.human_friendly,
    )


async def _validate_one(
    reader: PdfFileReader, fq_name: str, sig_field: Any, trust: TrustStore, moment: datetime | None
) -> SignatureReport:
    try:
        emb = EmbeddedPdfSignature(reader, sig_field, fq_name)
    except Exception as exc:  # noqa: BLE001 -- any parse failure of the signature container
        logger.info("signature %s: malformed container (%s)", fq_name, exc.__class__.__name__)
        return _broken_report(fq_name, "signature", "malformed_signature")
    try:
        kind: SignatureKind = (
            "doc_timestamp" if emb.sig_object_type == "/DocTimeStamp" else "signature"
        )
    except Exception:  # noqa: BLE001
        return _broken_report(fq_name, "signature", "malformed_signature", emb)
    status: Any
    try:
        if kind == "doc_timestamp":
            status = await async_validate_pdf_timestamp(
                emb, validation_context=trust.validation_context(moment), diff_policy=WALLET_DIFF_POLICY
            )
        else:
            status = await async_validate_pdf_signature(
                emb,
                signer_validation_context=trust.validation_context(moment),
                ts_validation_context=trust.validation_context(moment),
                diff_policy=WALLET_DIFF_POLICY,
            )
    except Exception as exc:  # noqa: BLE001 -- pyHanko, asn1crypto, crypto backends...
        logger.info("signature %s: validation failed (%s)", fq_name, exc.__class__.__name__)
        sub = "unsupported_subfilter" if "SubFilter" in str(exc) else "malformed_signature"
        return _broken_report(fq_name, kind, sub, emb)

    problems = _status_problems(status)
    coverage: SignatureCoverageLevel = status.coverage
    modification: ModificationLevel | None = status.modification_level
    docmdp_ok = getattr(status, "docmdp_ok", None)
    signing_time, timestamp = _times(status, kind, problems)

    indication, sub_indication = _indication(status, problems, modification)
    metadata = (read_signed_metadata(reader.get_historical_resolver(emb.signed_revision))
                if kind == "signature" else None)
    return SignatureReport(
        field_name=fq_name,
        kind=kind,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        signer=CertInfo.from_cert(status.signing_cert),
        chain_sha256=_chain(status, emb),
        signing_time=signing_time,
        timestamp=timestamp,
        coverage=coverage.name,
        modification_level=modification.name if modification is not None else None,
        docmdp_ok=docmdp_ok,
        signed_revision=emb.signed_revision,
        covers_file_end=coverage == SignatureCoverageLevel.ENTIRE_FILE,
        indication=indication,
        sub_indication=sub_indication,
        problems=tuple(problems),
        metadata=metadata,
    )


def _error(sha: str, size: int, code: ReportError, detail: str, revisions: int = 0) -> ValidationReport:
    return ValidationReport(
        sha256=sha,
        size=size,
        revisions=revisions,
        signatures=(),
        error=code,
        error_detail=detail,
        certified_no_changes=False,
    )


async def async_validate_pdf(
    data: bytes,
    trust: TrustStore,
    *,
    max_signatures: int = DEFAULT_MAX_SIGNATURES,
    moment: datetime | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    limits: Limits | None = None,
) -> ValidationReport:
    """Async variant of :func:`validate_pdf` (for callers that already run an event loop)."""
    sha = hashlib.sha256(data).hexdigest()
    size = len(data)
    if size > max_size:
        return _error(sha, size, "too_large", f"file is {size} bytes, the limit is {max_size}")
    limits = limits or Limits()
    revisions = 0
    byte_range_problems: dict[str, str] = {}
    try:
        if not data.startswith(b"%PDF-"):
            return _error(sha, size, "malformed_pdf", "the file does not start with a %PDF- header")
        with _limits.reading(limits):  # revisions and xref entries counted as they are read
            reader = PdfFileReader(BytesIO(data), strict=True, decode_limits=WALLET_DECODE_LIMITS)
        if reader.encrypted:
            return _error(sha, size, "encrypted_pdf", "encrypted PDF files are not accepted")
        revisions = reader.xrefs.total_revisions
        found: list[tuple[str, Any]] = []
        for fq_name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
            found.append((_field_name(fq_name), sig_field))
            if len(found) > max_signatures:
                raise _TooManySignatures
            # sanity limits before anything is hashed or any path is built (see signing/limits.py)
            sig_value = sig_obj.get_object() if isinstance(sig_obj, generic.IndirectObject) else sig_obj
            if isinstance(sig_value, generic.DictionaryObject):
                problem = _limits.byte_range_problem(data, sig_value)
                if problem is not None:
                    byte_range_problems[fq_name] = problem
                else:
                    _limits.check_cms(sig_value.raw_get("/Contents"), limits)
        certification = read_certification_data(reader)
        certified = certification is not None and certification.permission == MDPPerm.NO_CHANGES
    except _TooManySignatures:
        return _error(sha, size, "too_many_signatures", f"more than {max_signatures} signatures", revisions)
    except TooComplex as exc:
        return _error(sha, size, "too_complex", exc.detail, revisions)
    except RecursionError:
        return _error(sha, size, "malformed_pdf", "object graph too deep", revisions)
    except MemoryError:
        return _error(sha, size, "too_complex", "the file needs more memory than a check may use", revisions)
    except Exception as exc:  # noqa: BLE001 -- the PDF stack raises everything (KeyError, ValueError, ...)
        detail = exc.__class__.__name__
        if "DecodeLimit" in detail:
            detail = "stream decoding limit exceeded"
        return _error(sha, size, "malformed_pdf", f"unreadable PDF ({detail})", revisions)

    reports: list[SignatureReport] = []
    for fq_name, sig_field in found:
        if fq_name in byte_range_problems:  # never hashed: the digest would not cover what it claims to
            reports.append(_broken_report(fq_name, "signature", "byte_range_invalid"))
            logger.info("signature %s: %s", fq_name, byte_range_problems[fq_name])
            continue
        try:
            reports.append(await _validate_one(reader, fq_name, sig_field, trust, moment))
        except (RecursionError, MemoryError) as exc:
            reports.append(_broken_report(fq_name, "signature", f"resource_limit_{exc.__class__.__name__.lower()}"))
    reports.sort(key=lambda r: r.signed_revision)
    changes = _revision_changes(reader, reports)
    return ValidationReport(
        sha256=sha,
        size=size,
        revisions=revisions,
        signatures=tuple(reports),
        error=None,
        error_detail=None,
        certified_no_changes=certified,
        trailing_bytes=_trailing_bytes(data),
        revision_changes=changes,
    )


def _revision_changes(reader: PdfFileReader, reports: list[SignatureReport]) -> tuple[RevisionChanges, ...]:
    """Every revision after the earliest signed one, object by object (never raises)."""
    signed = [r.signed_revision for r in reports if r.signed_revision >= 0]
    if not signed:
        return ()
    return analyse_revisions(reader, min(signed))


def validate_pdf(
    data: bytes,
    trust: TrustStore,
    *,
    max_signatures: int = DEFAULT_MAX_SIGNATURES,
    moment: datetime | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    limits: Limits | None = None,
) -> ValidationReport:
    """Validate every signature and document timestamp of ``data``; never raises for a bad file.

    The file is parsed once, with tightened decoding limits; nothing is fetched
    from the network.  Uses :func:`asyncio.run`: call :func:`async_validate_pdf`
    from inside a running event loop instead.
    """
    return asyncio.run(async_validate_pdf(data, trust, max_signatures=max_signatures, moment=moment, max_size=max_size,
                                          limits=limits))
