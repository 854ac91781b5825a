"""The issuance rule: whether a validation report lets the pushing agency issue the document.

:func:`decide_issuance` reads a :class:`~signing.report.ValidationReport` (never the PDF) and returns an
:class:`IssuanceDecision` whose ``code`` is one of the agency push API's stable error codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pyhanko.sign.diff_analysis import ModificationLevel

from .report import SignatureReport, ValidationReport

__all__ = ["IssuanceCode", "IssuanceDecision", "decide_issuance"]

IssuanceCode = Literal["malformed_pdf", "unsigned", "signature_invalid", "untrusted_signer", "signer_not_agency",
                       "modified_after_signing"]
"""Why a push is refused (the push API's ``code``; see PRODUCT.md)."""


@dataclass(frozen=True)
class IssuanceDecision:
    accepted: bool
    code: IssuanceCode | None
    detail: str
    signature: SignatureReport | None


def _reject(code: IssuanceCode, detail: str, sig: SignatureReport | None = None) -> IssuanceDecision:
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


def _agency_signature(report: ValidationReport,
                      belongs_to_agency: Callable[[SignatureReport], bool]) -> SignatureReport | IssuanceDecision:
    """The last intact, trusted ``/Sig`` signature of the pushing agency, or the rejection saying why none is."""
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
    return mine[-1]


def decide_issuance(report: ValidationReport, belongs_to_agency: Callable[[SignatureReport], bool]) -> IssuanceDecision:
    """Apply the issuance rule to a validation report.

    Take the last intact, trusted /Sig signature S that belongs to the pushing
    agency; everything after S may only be long-term-validation material (DSS,
    intact and trusted document timestamps), and the end of the file must be
    covered by S or by such a timestamp -- or be a pure DSS update that ends
    exactly at ``%%EOF`` (PAdES B-LT as written by pyHanko).
    """
    s = _agency_signature(report, belongs_to_agency)
    if isinstance(s, IssuanceDecision):
        return s
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
