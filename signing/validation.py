"""Validation of signed PDFs received from outside, and the issuance rule.

:func:`validate_pdf` never raises for a bad file: it returns a frozen
:class:`ValidationReport`.  :func:`decide_issuance` turns a report into the
accept / reject decision of the agency push API (stable ``code`` strings).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from io import BytesIO
from typing import Any, Literal

from asn1crypto import x509
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
from .metadata import MetadataReading, read_signed_metadata
from .policy import METADATA_MARKER as _METADATA_MARKER
from .policy import WALLET_DECODE_LIMITS, WALLET_DIFF_POLICY
from .revisions import RevisionChanges, analyse_revisions
from .trust import TrustStore

__all__ = [
    "DEFAULT_MAX_SIZE",
    "WALLET_DIFF_POLICY",
    "CertInfo",
    "IssuanceDecision",
    "Limits",
    "SignatureReport",
    "TimestampInfo",
    "ValidationReport",
    "async_validate_pdf",
    "decide_issuance",
    "validate_pdf",
]

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_MAX_SIZE = 32 * MiB


# --------------------------------------------------------------------------- report types


def _field_name(name: Any) -> str:
    """A field name as text for the report: pyHanko yields ``/T`` strings no PDF encoding decodes as bytes
    (``ByteStringObject``), which are not JSON; control characters are replaced too (found by fuzzing)."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "\ufffd" for c in str(name))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class CertInfo:
    subject: str
    common_name: str | None
    organisation: str | None
    organisational_unit: str | None
    serial: str
    sha256: str
    issuer: str
    not_before: datetime
    not_after: datetime

    @classmethod
    def from_cert(cls, cert: x509.Certificate) -> CertInfo:
        names = cert.subject.native

        def one(key: str) -> str | None:
            v = names.get(key)
            if isinstance(v, list):
                v = v[0] if v else None
            return str(v) if v is not None else None

        return cls(
            subject=cert.subject.human_friendly,
            common_name=one("common_name"),
            organisation=one("organization_name"),
            organisational_unit=one("organizational_unit_name"),
            serial=format(cert.serial_number, "x"),
            sha256=cert.sha256.hex(),
            issuer=cert.issuer.human_friendly,
            not_before=cert.not_valid_before,
            not_after=cert.not_valid_after,
        )

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class TimestampInfo:
    present: bool
    intact: bool
    trusted: bool
    time: datetime | None
    tsa: str | None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self)  # type: ignore[no-any-return]


Indication = Literal["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    kind: Literal["signature", "doc_timestamp"]
    intact: bool
    valid: bool
    trusted: bool
    signer: CertInfo | None
    chain_sha256: tuple[str, ...]
    signing_time: datetime | None
    timestamp: TimestampInfo | None
    coverage: str
    modification_level: str | None
    docmdp_ok: bool | None
    signed_revision: int
    covers_file_end: bool
    indication: Indication
    sub_indication: str | None
    problems: tuple[str, ...]
    metadata: MetadataReading | None = None
    """The ``document.json`` of the revision this signature signed (``/Sig`` signatures only)."""

    @property
    def passed(self) -> bool:
        return self.indication == "TOTAL_PASSED"

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ValidationReport:
    sha256: str
    size: int
    revisions: int
    signatures: tuple[SignatureReport, ...]
    error: str | None
    error_detail: str | None
    certified_no_changes: bool
    trailing_bytes: int = 0
    """Bytes after the last ``%%EOF`` marker (end-of-line characters excepted)."""
    revision_changes: tuple[RevisionChanges, ...] = ()
    """What each revision after the earliest signed one wrote (:mod:`signing.revisions`)."""

    def changes_in(self, revision: int) -> RevisionChanges | None:
        """The analysis of ``revision``, or None when it was not analysed (treat as unexplained)."""
        return next((c for c in self.revision_changes if c.revision == revision), None)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- validation


class _TooManySignatures(Exception):
    pass


def _trailing_bytes(data: bytes) -> int:
    pos = data.rfind(b"%%EOF")
    if pos < 0:
        return len(data)
    tail = data[pos + 5 :]
    return 0 if tail.strip(b"\r\n") == b"" and len(tail) <= 2 else len(tail)


def _broken_report(
    field_name: str, kind: Literal["signature", "doc_timestamp"], problem: str, emb: EmbeddedPdfSignature | None = None
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


async def _validate_one(
    reader: PdfFileReader, fq_name: str, sig_field: Any, trust: TrustStore, moment: datetime | None
) -> SignatureReport:
    try:
        emb = EmbeddedPdfSignature(reader, sig_field, fq_name)
    except Exception as exc:  # noqa: BLE001 -- any parse failure of the signature container
        logger.info("signature %s: malformed container (%s)", fq_name, exc.__class__.__name__)
        return _broken_report(fq_name, "signature", "malformed_signature")
    try:
        kind: Literal["signature", "doc_timestamp"] = (
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
    docmdp_ok = getattr(status, "docmdp_ok", None)
    if docmdp_ok is False:
        problems.append("docmdp_violation")

    timestamp: TimestampInfo | None = None
    signing_time: datetime | None
    if kind == "signature":
        signing_time = status.signer_reported_dt
        tv = status.timestamp_validity
        if tv is not None:
            timestamp = TimestampInfo(
                present=True,
                intact=bool(tv.intact and tv.valid),
                trusted=bool(tv.trusted),
                time=tv.timestamp,
                tsa=tv.signing_cert.subject.human_friendly,
            )
            if not (tv.intact and tv.valid):
                problems.append("timestamp_invalid")
            elif not tv.trusted:
                problems.append("timestamp_untrusted")
        else:
            timestamp = TimestampInfo(present=False, intact=False, trusted=False, time=None, tsa=None)
    else:
        signing_time = status.timestamp

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


def _error(sha: str, size: int, code: str, detail: str, revisions: int = 0) -> ValidationReport:
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
    max_signatures: int = 20,
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
    max_signatures: int = 20,
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


# --------------------------------------------------------------------------- issuance rule


@dataclass(frozen=True)
class IssuanceDecision:
    accepted: bool
    code: str | None
    detail: str
    signature: SignatureReport | None


def _reject(code: str, detail: str, sig: SignatureReport | None = None) -> IssuanceDecision:
    return IssuanceDecision(accepted=False, code=code, detail=detail, signature=sig)


_LTV_LEVELS = {ModificationLevel.NONE.name, ModificationLevel.LTA_UPDATES.name}


def _non_ltv_revision(report: ValidationReport, after: int) -> str | None:
    """Why some revision after ``after`` is not pure long-term-validation material, or None.

    Decided revision by revision from what each one wrote (:mod:`signing.revisions`), not from pyHanko's
    modification level: DSS / VRI updates and document timestamps only, nothing else, not even an
    unreferenced object. A revision that was not analysed counts as unexplained.
    """
    for revision in range(after + 1, report.revisions):
        changes = report.changes_in(revision)
        if changes is None:
            return f"revision {revision} was not analysed"
        if not changes.ltv_only:
            return f"revision {revision} is not long-term-validation material ({', '.join(changes.changes)})"
    return None


def decide_issuance(report: ValidationReport, belongs_to_agency: Callable[[SignatureReport], bool]) -> IssuanceDecision:
    """Apply the issuance rule to a validation report.

    Take the last intact, trusted /Sig signature S that belongs to the pushing
    agency; everything after S may only be long-term-validation material (DSS,
    intact and trusted document timestamps), and the end of the file must be
    covered by S or by such a timestamp -- or be a pure DSS update that ends
    exactly at ``%%EOF`` (PAdES B-LT as written by pyHanko).
    """
    if report.error is not None:
        return _reject("malformed_pdf", f"{report.error}: {report.error_detail or ''}".rstrip(": "))
    sigs = [s for s in report.signatures if s.kind == "signature"]
    if not sigs:
        return _reject("unsigned", "the document carries no signature")
    broken = [s for s in report.signatures if not (s.intact and s.valid)]
    if broken:
        b = broken[0]
        return _reject("signature_invalid", f"signature {b.field_name!r} is not intact: {', '.join(b.problems)}", b)
    trusted = [s for s in sigs if s.trusted]
    if not trusted:
        return _reject("untrusted_signer", "no signature chains to a trusted root", sigs[-1])
    mine = [s for s in trusted if belongs_to_agency(s)]
    if not mine:
        return _reject("signer_not_agency", "no trusted signature belongs to the pushing agency", trusted[-1])
    s = mine[-1]
    later = [r for r in report.signatures if r.signed_revision > s.signed_revision]
    for r in later:
        if r.kind == "signature":
            return _reject("modified_after_signing", f"signature {r.field_name!r} was added after signing", s)
        if not r.trusted:
            return _reject("modified_after_signing", f"untrusted document timestamp {r.field_name!r}", s)
    if s.modification_level not in _LTV_LEVELS or s.docmdp_ok is False:
        why = "metadata" if "metadata_modified_after_signing" in s.problems else (s.modification_level or "unknown")
        return _reject("modified_after_signing", f"content changed after signing ({why})", s)
    if report.trailing_bytes:
        return _reject("modified_after_signing", f"{report.trailing_bytes} bytes after the end of the PDF", s)
    not_ltv = _non_ltv_revision(report, s.signed_revision)
    if not_ltv is not None:
        return _reject("modified_after_signing", not_ltv, s)
    # Only a pure LTV tail (already vetted by the diff analysis: DSS material only) may remain
    # uncovered, i.e. a post-signature DSS update (B-LT, and the TSA's data at the end of B-LTA).
    if not any(r.covers_file_end for r in [s, *later]) and s.modification_level != ModificationLevel.LTA_UPDATES.name:
        return _reject("modified_after_signing", "the end of the file is not covered by a signature", s)
    return IssuanceDecision(accepted=True, code=None, detail="accepted", signature=s)
