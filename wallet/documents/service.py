"""Issuance: validate the agency's PAdES signature, store the PDF encrypted, record and audit it."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signing import SignatureReport, decide_issuance, validate_pdf
from wallet import audit, db
from wallet.agencies.models import Agency
from wallet.agencies.service import live_certificates
from wallet.crypto import Sealed
from wallet.db import new_id, utcnow
from wallet.documents.models import Document
from wallet.documents.types import TYPES
from wallet.errors import BadMetadata, Conflict, Forbidden, NotFound, Unprocessable, UnsupportedMedia, WalletError
from wallet.extensions import Runtime

EXPIRING_DAYS = 30

SIGNATURE_CODES = {"unsigned", "signature_invalid", "untrusted_signer", "signer_not_agency",
                   "modified_after_signing", "malformed_pdf"}


def original_aad(doc_id: str) -> str:
    return f"document:{doc_id}:original"


_BY_REFERENCE = select(Document.id, Document.sha256).where(Document.agency_id == bindparam("agency_id"),
                                                         Document.reference == bindparam("reference"))


def effective_status(doc: Document, now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    if doc.status in ("revoked", "replaced"):
        return doc.status
    if doc.expires_at is not None:
        if doc.expires_at <= now:
            return "expired"
        if doc.expires_at - now <= dt.timedelta(days=EXPIRING_DAYS):
            return "expiring"
    return "valid"


@dataclass(frozen=True)
class PushResult:
    document: Document
    created: bool


def push(rt: Runtime, sess: Session, agency: Agency, data: bytes, meta: dict[str, Any],
         request_id: str | None = None) -> PushResult:
    doc_type = TYPES[meta["type"]]
    if doc_type.code not in agency.allowed_types:
        raise Forbidden(f"agency {agency.code} may not issue {doc_type.code}", code="type_not_allowed")
    if not data.startswith(b"%PDF-"):
        raise UnsupportedMedia("the file is not a PDF (it must start with %PDF-)", code="not_a_pdf")
    digest = hashlib.sha256(data).hexdigest()

    # a light check first: an identical replay is answered without validating again
    existing = sess.connection().execute(_BY_REFERENCE, {"agency_id": agency.id, "reference": meta["reference"]}).first()
    if existing is not None:
        if existing.sha256 == digest:
            return PushResult(sess.get_one(Document, existing.id), created=False)
        raise Conflict(f"reference {meta['reference']} is already used for another file", code="reference_conflict")

    replaced: Document | None = None
    if meta.get("replaces"):
        replaced = sess.get(Document, meta["replaces"])
        if replaced is None or replaced.agency_id != agency.id:
            raise BadMetadata("replaces: no such document of this agency", code="bad_metadata")
        if replaced.status != "active":
            raise Conflict("replaces: that document is already revoked or replaced", code="already_revoked")
        if replaced.holder_id != meta["holder_id"].upper():
            raise BadMetadata("replaces: the replacement must be for the same holder", code="bad_metadata")

    certificates = live_certificates(sess)
    trust = rt.trust(certificates.ca_pems)
    report = validate_pdf(data, trust, max_signatures=rt.settings.max_signatures)
    own = certificates.fingerprints.get(agency.id, frozenset())

    def belongs(sig: SignatureReport) -> bool:
        return bool(own.intersection(sig.chain_sha256))

    decision = decide_issuance(report, belongs)
    if not decision.accepted:
        audit.record(sess, actor=f"agency:{agency.code}", action="document.push", outcome=decision.code or "rejected",
                     target=None, request_id=request_id,
                     details={"reference": meta["reference"], "sha256": digest, "type": doc_type.code})
        # the rejection is audited (commit=True keeps that event) even though nothing is stored
        raise Unprocessable(decision.detail, code=decision.code or "malformed_pdf",
                            extra={"validation": report.to_dict()}, commit=True)
    sig = decision.signature

    doc_id = new_id()
    sealed = rt.envelope.encrypt(data, original_aad(doc_id))
    blob_key = f"documents/{doc_id}/original"
    rt.store.put(blob_key, sealed.ciphertext)
    db.on_rollback(lambda: rt.store.delete(blob_key))

    issued_at: dt.datetime = meta["issued_at"]
    expires_at = meta.get("expires_at") or doc_type.default_expiry(issued_at)
    values: dict[str, Any] = dict(
        id=doc_id, agency_id=agency.id, holder_id=meta["holder_id"].upper(), type=doc_type.code,
        reference=meta["reference"], title=meta.get("title"), attributes=meta.get("attributes") or {},
        issued_at=issued_at, expires_at=expires_at, sha256=digest, size=len(data), page_count=None,
        blob_key=blob_key, wrapped_key=sealed.wrapped_key, status="active", revoked_at=None, revocation_reason=None,
        replaces_id=replaced.id if replaced else None, replaced_by_id=None,
        signer_subject=sig.signer.subject if sig and sig.signer else None,
        signed_at=(sig.timestamp.time if sig and sig.timestamp and sig.timestamp.time else
                   (sig.signing_time if sig else None)),
        certified_no_changes=report.certified_no_changes, validation=report.to_dict(), created_at=utcnow(),
    )
    try:
        # one Core INSERT (the ORM unit of work cost more than the statement on this hot path)
        sess.connection().execute(insert(Document.__table__), values)
        if replaced is not None:
            replaced.status = "replaced"
            replaced.replaced_by_id = doc_id
            replaced.revoked_at = utcnow()
            replaced.revocation_reason = "replaced"
            sess.flush()
    except IntegrityError:
        # a concurrent push of the same reference won the race
        db.rollback()
        other = sess.execute(select(Document).where(Document.agency_id == agency.id,
                                                    Document.reference == meta["reference"])).scalar_one_or_none()
        if other is not None and other.sha256 == digest:
            return PushResult(other, created=False)
        raise Conflict(f"reference {meta['reference']} is already used for another file", code="reference_conflict")
    doc = Document(**values)  # what was stored (transient: the row is written above)
    doc.agency = agency
    audit.record(sess, actor=f"agency:{agency.code}", action="document.push", target=f"document:{doc_id}",
                 request_id=request_id, details={"reference": doc.reference, "type": doc.type, "sha256": digest,
                                                 "holder": doc.holder_id, "replaces": doc.replaces_id})
    return PushResult(doc, created=True)


def get_for_agency(sess: Session, agency: Agency, doc_id: str) -> Document:
    doc = sess.get(Document, doc_id) if len(doc_id) <= 64 else None
    if doc is None or doc.agency_id != agency.id:
        raise NotFound("no such document")
    return doc


def revoke(sess: Session, agency: Agency, doc_id: str, reason: str, request_id: str | None = None) -> Document:
    doc = get_for_agency(sess, agency, doc_id)
    if doc.status == "active":
        doc.status = "revoked"
        doc.revoked_at = utcnow()
        doc.revocation_reason = reason
        audit.record(sess, actor=f"agency:{agency.code}", action="document.revoke", target=f"document:{doc.id}",
                     request_id=request_id, details={"reason": reason})
        sess.flush()
    return doc


class Damaged(WalletError):
    """The blob was found missing or undecryptable by ``fsck`` and the row marked: say so, never a 500."""

    status, code, title = 410, "document_damaged", "The stored file is damaged"


def read_original(rt: Runtime, doc: Document) -> bytes:
    if doc.damage:
        raise Damaged("the stored file of this document is damaged; the operator has been told")
    return rt.envelope.decrypt(Sealed(doc.wrapped_key, rt.store.get(doc.blob_key)), original_aad(doc.id))


def signature_summary(doc: Document) -> dict[str, Any]:
    sigs = (doc.validation or {}).get("signatures") or []
    agency_sig = next((s for s in reversed(sigs) if s.get("kind") == "signature"), None) or {}
    signer = agency_sig.get("signer") or {}
    ts = agency_sig.get("timestamp") or {}
    return {"signer": signer.get("common_name") or doc.signer_subject, "organisation": signer.get("organisation"),
            "signed_at": doc.signed_at, "timestamped": bool(ts.get("present")),
            "indication": agency_sig.get("indication", "TOTAL_PASSED")}


def to_resource(doc: Document) -> dict[str, Any]:
    return {"id": doc.id, "agency": doc.agency.code, "holder_id": doc.holder_id, "type": doc.type,
            "reference": doc.reference, "title": doc.title, "attributes": doc.attributes or {},
            "issued_at": doc.issued_at, "expires_at": doc.expires_at, "status": effective_status(doc),
            "sha256": doc.sha256, "size": doc.size, "created_at": doc.created_at, "revoked_at": doc.revoked_at,
            "revocation_reason": doc.revocation_reason, "replaces": doc.replaces_id,
            "replaced_by": doc.replaced_by_id, "signature": signature_summary(doc)}
