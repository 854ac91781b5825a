"""Verification for anyone: looks at a share (QR link) and reports on uploaded PDFs.

Result of a look, decided in this order (first match wins):

1. ``unknown`` — no share has this token (malformed, altered, truncated, random: same answer, same work).
2. ``share_revoked`` — the holder withdrew the link. Nothing about the documents is shown any more.
3. ``share_expired`` — the link's lifetime is over. Nothing about the documents is shown any more.
4. ``document_revoked`` — a shared document was revoked or replaced by its issuer. This wins over the view
   limit: a clerk holding an old paper copy must learn that it is no longer valid, not that "views are used
   up" (which invites asking for a new link). Type, issuer, revocation date and reason are shown.
5. ``document_expired`` — a shared document is past its validity date (same reduced details).
6. ``views_exhausted`` — the holder's view limit is reached. Nothing about the documents is shown.
7. ``valid`` — counted as one view (atomically, see :func:`look`) and shown in full.

Only a ``valid`` look consumes a view; every look at a known share is logged for the holder.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from signing import ValidationReport, validate_pdf
from wallet.agencies.models import AgencyCertificate
from wallet.agencies.service import all_ca_pems
from wallet.citizens.models import Citizen
from wallet.db import new_id, utcnow
from wallet.documents.models import Document
from wallet.documents.service import effective_status, signature_summary
from wallet.documents.types import TYPES
from wallet.extensions import Runtime
from wallet.shares.models import Share, ShareItem, ShareView
from wallet.shares.service import share_status
from wallet.shares.tokens import lookup_hash, same_hash, well_formed

RESULTS = ("valid", "share_expired", "share_revoked", "views_exhausted", "document_revoked", "document_expired",
           "unknown")
CHANNELS = ("page", "json", "copy")


@dataclass
class Look:
    result: str
    share: Share | None = None
    items: list[ShareItem] = field(default_factory=list)
    holder_name: str | None = None
    view_id: str | None = None

    @property
    def found(self) -> bool:
        return self.share is not None

    @property
    def shows_documents(self) -> bool:
        return self.result in ("valid", "document_revoked", "document_expired")


def _blocking(share: Share, now: dt.datetime, *, views: bool = True) -> str | None:
    if share.revoked_at is not None:
        return "share_revoked"
    if share.expires_at <= now:
        return "share_expired"
    statuses = [effective_status(item.document, now) for item in share.items]
    if any(s in ("revoked", "replaced") for s in statuses):
        return "document_revoked"
    if "expired" in statuses:
        return "document_expired"
    if views and share.max_views is not None and share.views_used >= share.max_views:
        return "views_exhausted"
    return None


def find_share(sess: Session, token: str) -> Share | None:
    """The share of ``token`` or None; the same single indexed query whatever the token looks like."""
    digest = lookup_hash(token)
    # one round trip: the share, its items with their documents and issuers (joined eagerly)
    share = sess.execute(select(Share).where(Share.token_hash == digest)
                         .options(joinedload(Share.items).joinedload(ShareItem.document))).unique() \
        .scalar_one_or_none()
    if share is None or not well_formed(token) or not same_hash(share.token_hash, digest):
        return None
    return share


def look(sess: Session, share: Share | None, channel: str, *, ip: str | None, user_agent: str | None,
         count: bool = True) -> Look:
    """One look at a share, counted and logged. ``count=False``: a follow-up covered by an earlier view.

    The view is consumed by one conditional UPDATE whose WHERE clause re-checks everything that could
    have changed since the share was read (revoked, expired, views left): the row lock (PostgreSQL) or the
    write lock taken at BEGIN IMMEDIATE (SQLite) makes "one view left" give exactly one more view.
    """
    if share is None:
        return Look("unknown")
    now = utcnow()
    result = _blocking(share, now, views=count)
    if result is None and count:
        stmt = (update(Share)
                .where(Share.id == share.id, Share.revoked_at.is_(None), Share.expires_at > now,
                       or_(Share.max_views.is_(None), Share.views_used < Share.max_views))
                .values(views_used=Share.views_used + 1)
                .execution_options(synchronize_session=False))
        rowcount = sess.execute(stmt).rowcount  # type: ignore[attr-defined]
        if rowcount == 1:
            result = "valid"
            set_committed_value(share, "views_used", share.views_used + 1)  # what the UPDATE wrote
        else:  # something changed since the share was read: reload what decides the answer
            sess.refresh(share, ["views_used", "revoked_at", "expires_at", "max_views"])
            result = _blocking(share, now) or "views_exhausted"
    elif result is None:
        result = "valid"
    view = ShareView(id=new_id(), share_id=share.id, citizen_id=share.citizen_id, at=now, channel=channel,
                     result=result, ip_prefix=truncate_ip(ip), browser=browser_family(user_agent))
    sess.add(view)
    sess.flush()
    holder_name = None
    if result in ("valid", "document_revoked", "document_expired"):  # only then are documents shown
        holder_name = sess.execute(select(Citizen.name).where(Citizen.id == share.citizen_id)).scalar_one_or_none()
    return Look(result, share, list(share.items), holder_name, view.id)


# -- what the holder sees of a verifier ---------------------------------------------------


def truncate_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


_BROWSERS = (
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"(OPR|Opera)/")),
    ("Firefox", re.compile(r"(Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"(Chrome|CriOS|Chromium)/")),
    ("Safari", re.compile(r"Version/[\d.]+.*Safari/")),
    ("curl", re.compile(r"^curl/")),
    ("python-requests", re.compile(r"^python-requests/")),
    ("Python", re.compile(r"^Python|python-httpx|aiohttp", re.IGNORECASE)),
    ("Werkzeug", re.compile(r"^Werkzeug/")),
)


def browser_family(user_agent: str | None) -> str | None:
    if not user_agent:
        return None
    ua = user_agent[:512]
    for name, pattern in _BROWSERS:
        if pattern.search(ua):
            return name
    return "Other"


# -- what a verifier sees -------------------------------------------------------------------


def issuer_name(doc: Document, lang: str) -> str:
    return doc.agency.display_name(lang)


def signature_details(doc: Document) -> dict[str, Any]:
    summary = signature_summary(doc)
    sigs = (doc.validation or {}).get("signatures") or []
    agency_sig = next((s for s in reversed(sigs) if s.get("kind") == "signature"), None) or {}
    ts = agency_sig.get("timestamp") or {}
    return {**summary, "intact": bool(agency_sig.get("intact", True)), "trusted": bool(agency_sig.get("trusted", True)),
            "timestamp_time": ts.get("time"), "timestamp_authority": ts.get("tsa"),
            "checked_at": doc.created_at,
            "checks": ["integrity", "trusted_chain", "signer_is_issuer", "no_changes_after_signing"]}


def document_view(item: ShareItem, lang: str, *, full: bool, holder_name: str | None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    doc = item.document
    doc_type = TYPES.get(doc.type)
    out: dict[str, Any] = {
        "id": doc.id, "type": doc.type, "type_name": doc_type.name(lang) if doc_type else doc.type,
        "issuer": issuer_name(doc, lang), "issuer_code": doc.agency.code, "issued_at": doc.issued_at,
        "expires_at": doc.expires_at, "status": effective_status(doc, now), "revoked_at": doc.revoked_at,
        "revocation_reason": doc.revocation_reason,
    }
    if full:
        out.update({"holder_name": holder_name, "title": doc.title, "sha256": doc.sha256,
                    "signature": signature_details(doc), "copy_kind": item.copy_kind,
                    "copy_sha256": item.copy_sha256})
    return out


def share_view(share: Share, now: dt.datetime | None = None) -> dict[str, Any]:
    views_left = None if share.max_views is None else max(0, share.max_views - share.views_used)
    return {"expires_at": share.expires_at, "label": share.label, "views_left": views_left,
            "max_views": share.max_views, "allow_download": share.allow_download,
            "status": share_status(share, now)}


# -- uploaded files -------------------------------------------------------------------------

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
    doc_type = TYPES.get(doc.type)
    out: dict[str, Any] = {
        "known": True, "match": match, "document_id": doc.id, "sha256": doc.sha256, "file_sha256": whole,
        "status": "valid" if status == "expiring" else status, "expiring_soon": status == "expiring",
        "type": doc.type, "type_name": doc_type.name(lang) if doc_type else doc.type,
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


def signature_entries(report: ValidationReport, agency_fps: dict[str, str], seal_fp: str | None) -> list[dict]:
    entries: list[dict[str, Any]] = []
    for sig in report.signatures:
        entry = sig.to_dict()
        entry.pop("chain_sha256", None)
        role, agency = "other", None
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
        entry["later_changes"] = _later_changes(sig, report, entries)
    return entries


_PERMITTED = ("NONE", "LTA_UPDATES", "FORM_FILLING")


def _later_changes(sig: Any, report: ValidationReport, entries: list[dict[str, Any]]) -> str:
    """How the file changed after this signature.

    ``none``; ``platform_seal`` (every later revision is the wallet's own intact, trusted seal: a shared copy);
    ``signatures_only`` (every later revision is an intact signature or timestamp, permitted by pyHanko's
    difference analysis); ``other`` (anything else: content, annotations, unsigned bytes ...).
    """
    if sig.covers_file_end:
        return "none"
    by_revision = {s.signed_revision: e for s, e in zip(report.signatures, entries)}
    later = [(rev, by_revision.get(rev)) for rev in range(sig.signed_revision + 1, report.revisions)]
    seal_revs = [rev for rev, e in later if e is not None and e["role"] == "platform_seal" and e["intact"]
                 and e["trusted"]]
    if not later or not any(e is not None and e["covers_file_end"] and e["intact"] for _rev, e in later):
        return "other"
    for rev, e in later:
        if e is None:  # an unsigned revision (LTV material ...): only if a later platform seal vouches for it
            if not any(sr > rev for sr in seal_revs):
                return "other"
        elif not e["intact"]:
            return "other"
    if all(e is None or rev in seal_revs for rev, e in later):
        return "platform_seal"
    if sig.modification_level in _PERMITTED and sig.docmdp_ok is not False:
        return "signatures_only"
    return "other"


def verdict(signatures: list[dict[str, Any]], registry: dict[str, Any], error: str | None) -> str:
    """One word: valid | revoked | expired | replaced | modified | invalid_signature | unsigned | unknown_document
    | unreadable."""
    if error:
        return "unreadable"
    if not signatures:
        return "unsigned"
    if not all(s["intact"] and s["valid"] for s in signatures):
        return "invalid_signature"
    exact = registry.get("match") in ("original", "sealed_copy")
    if not exact and any(s["later_changes"] == "other" for s in signatures):
        return "modified"
    if not registry.get("known"):
        return "unknown_document"
    if registry["status"] != "valid":
        return str(registry["status"])
    if not any(s["role"] == "agency" and s["trusted"] for s in signatures):
        return "invalid_signature"
    return "valid"


def verify_upload(rt: Runtime, sess: Session, data: bytes, lang: str) -> dict[str, Any]:
    trust = rt.trust(all_ca_pems(sess))
    report = validate_pdf(data, trust, max_signatures=rt.settings.max_signatures,
                          max_size=rt.settings.max_upload_bytes)
    agency_fps, seal_fp = _roles(sess, rt)
    signatures = signature_entries(report, agency_fps, seal_fp)
    registry = registry_report(sess, data, lang)
    return {"verdict": verdict(signatures, registry, report.error), "sha256": report.sha256, "size": report.size,
            "revisions": report.revisions, "error": report.error, "error_detail": report.error_detail,
            "certified_no_changes": report.certified_no_changes, "trailing_bytes": report.trailing_bytes,
            "signatures": signatures, "registry": registry}
