"""What validation returns: frozen report dataclasses, their status values, and their plain-data form.

:func:`signing.validate_pdf` builds these; :func:`signing.decide_issuance` and the wallet read them. A report
crosses the validator sandbox's process boundary as plain JSON data: :meth:`ValidationReport.to_dict` on the
validator's side, :meth:`ValidationReport.from_dict` (:func:`report_from_dict`) on the parent's, which rebuilds
only these dataclasses, datetimes and tuples from data (a compromised validator cannot make the parent run code).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, Literal

from asn1crypto import x509

from .metadata import MetadataReading
from .revisions import RevisionChanges

__all__ = [
    "CertInfo",
    "Indication",
    "ReportError",
    "SignatureKind",
    "SignatureReport",
    "TimestampInfo",
    "ValidationReport",
    "report_from_dict",
]

Indication = Literal["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]
"""The bottom line of one signature, as ETSI EN 319 102-1 names it."""

SignatureKind = Literal["signature", "doc_timestamp"]
"""A ``/Sig`` signature or a ``/DocTimeStamp`` document timestamp."""

ReportError = Literal["too_large", "malformed_pdf", "encrypted_pdf", "too_many_signatures", "too_complex"]
"""Why a file was not validated at all (:attr:`ValidationReport.error`)."""


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


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    kind: SignatureKind
    intact: bool
    valid: bool
    trusted: bool
    signer: CertInfo | None
    chain_sha256: tuple[str, ...]
    signing_time: datetime | None
    timestamp: TimestampInfo | None
    coverage: str
    """pyHanko's ``SignatureCoverageLevel`` name (``ENTIRE_FILE``, ``ENTIRE_REVISION`` ...), or ``UNCLEAR``."""
    modification_level: str | None
    """pyHanko's ``ModificationLevel`` name (``NONE``, ``LTA_UPDATES`` ...), None when not analysed."""
    docmdp_ok: bool | None
    signed_revision: int
    covers_file_end: bool
    indication: Indication
    sub_indication: str | None
    """ETSI sub-indication (``HASH_FAILURE``, ``FORMAT_FAILURE`` ..., or pyHanko's trust problem's name)."""
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
    error: ReportError | None
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        """Inverse of :meth:`to_dict` (datetimes, tuples and nested reports rebuilt)."""
        report = _convert(cls, data)
        assert isinstance(report, ValidationReport)
        return report


# --------------------------------------------------------------------------- plain data -> dataclasses


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                return _convert(arg, value)
        return value
    if origin is tuple:
        args = typing.get_args(tp)
        item = args[0] if args else Any
        return tuple(_convert(item, v) for v in value)
    if tp is datetime:
        return datetime.fromisoformat(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _convert(hints[f.name], value[f.name]) for f in dataclasses.fields(tp)
                     if f.name in value})
    return value


def report_from_dict(data: dict[str, Any]) -> ValidationReport:
    """Inverse of :meth:`ValidationReport.to_dict` (see :meth:`ValidationReport.from_dict`)."""
    return ValidationReport.from_dict(data)
