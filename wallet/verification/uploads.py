"""The upload verifier: a PDF anyone uploads, checked signature by signature and against the registry.

Its parts: the file's revisions (:func:`revision_hashes`, which finds the original inside a sealed or later
changed copy), the registry's record of it (:func:`registry_report`), each signature's role (agency, the
platform's seal, other: :func:`signature_entries`) and the one-word :func:`verdict`. Nothing is written.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from signing import ValidationReport
from wallet.agencies.models import AgencyCertificate
from wallet.agencies.service import live_certificates
from wallet.db import utcnow
from wallet.documents.models import Document
from wallet.documents.service import effective_status
from wallet.extensions import Runtime
from wallet.present import issuer_name, type_name
from wallet.shares.models import ShareItem
from wallet.shares.states import share_status
from wallet.validation import validate_pdf
from wallet.verification.changes import added_after_signing, judge_later, judged_signatures, settle_indication

# the upload report's one word and each signature's role (API contracts: the values never change)
Verdict = Literal["valid", "revoked", "expired", "replaced", "modified", "invalid_signature", "unsigned",
                  "unknown_document", "unreadable", "share_revoked", "share_expired"]
Role = Literal["agency", "platform_seal", "other"]

_EOF = re.compile(rb"%%EOF")
MAX_REVISION_CANDIDATES = 64


def revision_hashes(data: bytes) -> dict[str, int]:
    """SHA-256 of every prefix ending at an ``%%EOF`` (with or without its end of line) and of the whole file.

    A sealed copy starts with the original byte for byte (it is one incremental update): this finds the
    original of a sealed copy, or of a copy that was changed after sealing, in one pass over the file.
    """
    ends: list[int] = []
    for m in _EOF.finditer(data):
        end = m.end()
        ends.append(end)
        if data[end:end + 2] == b"\r\n":
            ends.append(end + 2)
        elif data[end:end + 1] in (b"\n", b"\r"):
            ends.append(end + 1)
        if len(ends) >= MAX_REVISION_CANDIDATES:
            break
    ends.append(len(data))
    out: dict[str, int] = {}
    h = hashlib.sha256()
    pos = 0
    for end in sorted(set(ends)):
        h.update(data[pos:end])
        pos = end
        out[h.copy().hexdigest()] = end
    return out


def registry_report(sess: Session, data: bytes, lang: str, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    hashes = revision_hashes(data)
    whole = hashlib.sha256(data).hexdigest()
    item = sess.execute(select(ShareItem).where(ShareItem.copy_sha256.in_(list(hashes)))
                        .order_by(ShareItem.id).limit(1)).scalar_one_or_none()
    doc: Document | None
    match: str
    if item is not None:
        doc = item.document
        match = "sealed_copy" if item.copy_sha256 == whole else "sealed_copy_with_later_changes"
    else:
        doc = sess.execute(select(Document).where(Document.sha256.in_(list(hashes)))
                           .order_by(Document.created_at).limit(1)).scalar_one_or_none()
        match = "" if doc is None else ("original" if doc.sha256 == whole else "original_with_later_changes")
    if doc is None:
        return {"known": False, "sha256": whole}
    status = effective_status(doc, now)
    out: dict[str, Any] = {
        "known": True, "match": match, "document_id": doc.id, "sha256": doc.sha256, "file_sha256": whole,
        "status": "valid" if status == "expiring" else status, "expiring_soon": status == "expiring",
        "type": doc.type, "type_name": type_name(doc.type, lang),
        "issuer": issuer_name(doc, lang), "issuer_code": doc.agency.code,
        "issued_at": doc.issued_at, "expires_at": doc.expires_at, "revoked_at": doc.revoked_at,
        "revocation_reason": doc.revocation_reason,
    }
    if item is not None:
        share = item.share
        out["share"] = {"status": share_status(share, now), "expires_at": share.expires_at,
                        "copy_kind": item.copy_kind}
    return out


def _roles(sess: Session, rt: Runtime) -> tuple[dict[str, str], str | None]:
    rows = sess.execute(select(AgencyCertificate).where(AgencyCertificate.removed_at.is_(None))).scalars()
    agencies = {c.sha256: c.agency.code if hasattr(c, "agency") else "" for c in rows}
    seal_fp = None
    try:
        seal_fp = rt.sealer._custody.certificate.sha256.hex()
    except Exception:  # noqa: BLE001 - a verifier without a seal key still reports signatures
        seal_fp = None
    return agencies, seal_fp


def signature_entries(report: ValidationReport, agency_fps: dict[str, str], seal_fp: str | None) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for sig in report.signatures:
        entry = sig.to_dict()
        entry.pop("chain_sha256", None)
        role: Role = "other"
        agency: str | None = None
        if seal_fp and sig.signer is not None and sig.signer.sha256 == seal_fp:
            role = "platform_seal"
        else:
            hit = next((fp for fp in sig.chain_sha256 if fp in agency_fps), None)
            if hit is not None:
                role, agency = "agency", agency_fps[hit] or None
        entry["role"] = role
        entry["agency"] = agency
        entry["modified_after_signing"] = not sig.covers_file_end
        entries.append(entry)
    for sig, entry in zip(report.signatures, entries):
        later, refused = judge_later(sig, report, entries)
        entry["later_changes"] = later
        entry["later_change_reasons"] = sorted({r for item in refused for r in item["reasons"]})
        settle_indication(entry)
    return entries


def verdict(signatures: list[dict[str, Any]], registry: dict[str, Any], error: str | None) -> Verdict:
    """The report's bottom line, one :data:`Verdict`: the first failure in the order below, else valid.

    A sealed copy whose share is no longer live (the holder withdrew it, or it lapsed) reads ``share_revoked`` /
    ``share_expired``; the document's own state comes first (a revoked document beats a withdrawn share: the
    document is what the verifier relies on), and so do the file's faults. A share whose views are used up
    still vouches for the copies it gave (they were handed out while it was live)."""
    if error:
        return "unreadable"
    if not signatures:
        return "unsigned"
    if not all(s["intact"] and s["valid"] for s in signatures):
        return "invalid_signature"
    exact = registry.get("match") in ("original", "sealed_copy")
    if not exact and any(s["later_changes"] == "other" for s in judged_signatures(signatures, registry)):
        return "modified"
    if not registry.get("known"):
        return "unknown_document"
    if registry["status"] != "valid":
        return cast(Verdict, registry["status"])  # revoked | expired | replaced
    if not any(s["role"] == "agency" and s["trusted"] for s in signatures):
        return "invalid_signature"
    share_state = (registry.get("share") or {}).get("status")
    if share_state in ("revoked", "expired"):
        return cast(Verdict, f"share_{share_state}")
    return "valid"


def verify_upload(rt: Runtime, sess: Session, data: bytes, lang: str) -> dict[str, Any]:
    trust = rt.trust(live_certificates(sess).ca_pems)
    agency_fps, seal_fp = _roles(sess, rt)
    # nothing is written: end the read before the (long) validation, so an anonymous upload never holds a
    # transaction open while pyHanko works (on SQLite, BEGIN IMMEDIATE: the database's one writer lock)
    sess.rollback()
    report = validate_pdf(rt, data, trust, max_size=rt.settings.max_upload_bytes)  # in the validator pool
    signatures = signature_entries(report, agency_fps, seal_fp)
    registry = registry_report(sess, data, lang)
    return {"verdict": verdict(signatures, registry, report.error), "sha256": report.sha256, "size": report.size,
            "revisions": report.revisions, "error": report.error, "error_detail": report.error_detail,
            "certified_no_changes": report.certified_no_changes, "trailing_bytes": report.trailing_bytes,
            "signatures": signatures, "registry": registry,
            "added_after_signing": added_after_signing(report, signatures, registry)}
