"""What was added to an uploaded file after the issuing agency signed it, and whether that keeps it valid.

Decided from the report's per-revision analysis (``signing.revisions``, carried in ``ValidationReport``): the web
process never parses the PDF itself. After the agency's signature only (a) the platform's own seal (our
certificate, intact, valid, trusted, in a revision shaped exactly as ``signing.seal`` writes it) and (b)
long-term-validation material (DSS updates, intact and trusted document timestamps) keep an upload valid.
"""
from __future__ import annotations

from typing import Any

from signing import ValidationReport

__all__ = ["added_after_signing", "issuer_signature", "judge_later", "judged_signatures", "settle_indication"]


# Structural codes of signing.revisions that the role of the signer explains (or not) below.
_SIGNATURE_CODES = ("signature", "visible_signature", "doc_timestamp", "dss")


def _sound(entry: dict[str, Any]) -> bool:
    return bool(entry["intact"] and entry["valid"] and entry["trusted"])


def _revision_refusal(changes: Any, revision: int, sigs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """None when this later revision keeps an upload valid, else what it added (machine-readable reasons).

    Accepted: (a) the platform's own seal (our certificate, intact, valid, trusted) in a revision shaped exactly
    as ``signing.seal`` writes it; (b) long-term-validation material (DSS updates, intact and trusted document
    timestamps). Anything else, trusted or not, another agency's signature included, is refused.
    """
    if changes is None:
        return {"revision": revision, "reasons": ["unanalysable"], "signatures": _who(sigs)}
    codes = list(changes.changes)
    reasons = [c for c in codes if c not in _SIGNATURE_CODES]
    seals = [e for e in sigs if e["role"] == "platform_seal" and e["kind"] == "signature"]
    others = [e for e in sigs if e not in seals]
    if changes.seal_shaped and len(seals) == 1 and not others and _sound(seals[0]):
        return None
    if changes.ltv_only and all(e["kind"] == "doc_timestamp" and _sound(e) for e in sigs):
        return None
    for e in sigs:
        if e["kind"] == "doc_timestamp":
            if not _sound(e):
                reasons.append("untrusted_timestamp")
        elif e["role"] == "platform_seal" and _sound(e):
            continue  # our seal, but its revision carries more than the seal: the extra codes say what
        elif e["trusted"]:
            reasons.append("signature_by_other_party")
        else:
            reasons.append("signature_by_unknown_party")
    if "signature" in codes and not any(e["kind"] == "signature" for e in sigs):
        reasons.append("signature_by_unknown_party")  # a signature field nobody could validate
    if "visible_signature" in codes:
        reasons.append("visible_box")
    if not reasons:
        reasons.append("unexplained_object")
    return {"revision": revision, "reasons": sorted(set(reasons)), "signatures": _who(sigs)}


def _who(sigs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"field_name": e["field_name"], "kind": e["kind"], "role": e["role"], "trusted": e["trusted"],
             "signer": (e.get("signer") or {}).get("common_name"),
             "organisation": (e.get("signer") or {}).get("organisation")} for e in sigs]


def judge_later(sig: Any, report: ValidationReport, entries: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """How the file changed after this signature, and what was added that is not acceptable.

    ``none``; ``platform_seal`` (the later revisions are the wallet's own seal, possibly with long-term-validation
    material: a shared copy); ``validation_data`` (only DSS updates and intact, trusted document timestamps);
    ``other`` (anything else: another signature, trusted or not, annotations, content, unexplained objects ...),
    with one refusal per offending revision (``revision``, ``reasons``, ``signatures``).
    """
    if sig.covers_file_end and sig.signed_revision == report.revisions - 1:
        return "none", []
    if sig.signed_revision < 0:
        return "other", [{"revision": None, "reasons": ["unanalysable"], "signatures": []}]
    refused: list[dict[str, Any]] = []
    sealed = False
    for revision in range(sig.signed_revision + 1, report.revisions):
        sigs = [e for s, e in zip(report.signatures, entries) if s.signed_revision == revision]
        refusal = _revision_refusal(report.changes_in(revision), revision, sigs)
        if refusal is not None:
            refused.append(refusal)
        elif any(e["role"] == "platform_seal" for e in sigs):
            sealed = True
    if report.trailing_bytes or (not sig.covers_file_end and sig.signed_revision == report.revisions - 1):
        refused.append({"revision": None, "reasons": ["trailing_bytes"], "signatures": []})
    if refused:
        return "other", refused
    return ("platform_seal" if sealed else "validation_data"), []


def added_after_signing(report: ValidationReport, entries: list[dict[str, Any]],
                        registry: dict[str, Any]) -> list[dict[str, Any]]:
    """What was added after the issuing agency signed that does not keep the file valid: one item per revision,
    with machine-readable reasons. After the registered issuer's last signature; for a file the registry does
    not know, after the earliest agency signature (else the first signature)."""
    pairs = list(zip(report.signatures, entries))
    mine = issuer_signature(entries, registry)
    ref = next((p for p in pairs if p[1] is mine), None) if mine is not None else None
    ref = ref or next((p for p in pairs if p[1]["role"] == "agency" and p[1]["kind"] == "signature"), None)
    ref = ref or next(iter(pairs), None)
    return [] if ref is None else judge_later(ref[0], report, entries)[1]


def issuer_signature(signatures: list[dict[str, Any]], registry: dict[str, Any]) -> dict[str, Any] | None:
    """The registered issuer's last signature in the file (None when the registry does not know the file)."""
    issuer = registry.get("issuer_code") if registry.get("known") else None
    mine = [s for s in signatures if issuer and s["role"] == "agency" and s["kind"] == "signature"
            and s["agency"] == issuer]
    return mine[-1] if mine else None


def judged_signatures(signatures: list[dict[str, Any]], registry: dict[str, Any]) -> list[dict[str, Any]]:
    """Whose later changes decide ``modified``: the registered issuer's last signature (what came before it is
    what the issuer signed), or every signature when the issuer's is not there."""
    mine = issuer_signature(signatures, registry)
    return [mine] if mine is not None else signatures


# pyHanko's generic difference analysis judges any revision it cannot explain as ModificationLevel.OTHER (and, for a
# certification signature, a DocMDP violation): the wallet's seal revision (it updates the metadata with its
# signature) reads so for the agency's signature. These problems are the ones the wallet's own per-revision
# analysis (``judge_later``) settles when every later revision is accepted.
_CHANGE_PROBLEMS = frozenset({"modified_after_signing", "metadata_modified_after_signing", "docmdp_violation"})


def settle_indication(entry: dict[str, Any]) -> None:
    """The ETSI indication of a signature once its later revisions are judged (in place).

    A signature whose only failure is the later changes pyHanko could not explain (``FORMAT_FAILURE`` from
    ``modified_after_signing`` / ``docmdp_violation``), when ``judge_later`` accepted every later revision (the
    wallet's own seal, long-term-validation material), is intact and unchanged where it counts: its indication is
    decided again without those problems (``TOTAL_PASSED``, or ``INDETERMINATE`` when trust or its timestamp
    fails). A broken, invalid or revoked signature, or one followed by anything else, keeps its failure.
    ``modification_level`` and ``docmdp_ok`` stay pyHanko's raw findings.
    """
    if entry.get("later_changes") not in ("platform_seal", "validation_data"):
        return
    if (entry.get("indication"), entry.get("sub_indication")) != ("TOTAL_FAILED", "FORMAT_FAILURE"):
        return
    problems = [p for p in entry.get("problems") or [] if p not in _CHANGE_PROBLEMS]
    if not (entry["intact"] and entry["valid"]) or "revoked" in problems:
        return
    entry["problems"] = problems
    if not entry["trusted"]:
        entry["indication"], entry["sub_indication"] = "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"
    elif "timestamp_invalid" in problems:
        entry["indication"], entry["sub_indication"] = "INDETERMINATE", "GENERIC"
    else:
        entry["indication"], entry["sub_indication"] = "TOTAL_PASSED", None
