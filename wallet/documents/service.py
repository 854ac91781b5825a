"""Issuance: validate the agency's PAdES signature, store the PDF encrypted, record and audit it."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signing import SignatureReport, decide_issuance
from wallet import audit, db, events
from wallet.agencies.models import Agency
from wallet.agencies.service import live_certificates
from wallet.catalogue import TYPES
from wallet.crypto import Sealed
from wallet.db import new_id, utcnow
from wallet.documents.models import Document, DocumentState, DocumentStatus
from wallet.documents.signed_metadata import check_signed_metadata, same_metadata, signed_reading
from wallet.errors import BadMetadata, Conflict, Forbidden, NotFound, Unprocessable, UnsupportedMedia, WalletError
from wallet.extensions import Runtime
from wallet.metrics import PUSH_SECONDS, timed_call
from wallet.validation import validate_pdf

EXPIRING_DAYS = 30

SIGNATURE_CODES = {"unsigned", "signature_invalid", "untrusted_signer", "signer_not_agency",
                   "modified_after_signing", "malformed_pdf", "too_complex"}


def original_aad(doc_id: str) -> str:
    return f"document:{doc_id}:original"


_BY_REFERENCE = select(Document.id, Document.sha256, Document.holder_id, Document.type, Document.issued_at,
                       Document.expires_at, Document.title, Document.attributes, Document.replaces_id).where(Document.agency_id == bindparam("agency_id"),
                                                         Document.reference == bindparam("reference"))


class Dated(Protocol):
    """What :func:`effective_status` reads: the ORM ``Document`` and the verification look's ``SharedDocument``."""

    status: DocumentState
    expires_at: dt.datetime | None


class Signed(Protocol):
    """What :func:`signature_summary` reads (``Document`` and ``SharedDocument`` alike)."""

    validation: dict[str, Any]
    signer_subject: str | None
    signed_at: dt.datetime | None


class Stored(Protocol):
    """What :func:`read_original` reads: where the encrypted original is (``Document`` and ``SharedDocument``)."""

    id: str
    blob_key: str
    wrapped_key: bytes
    damage: str | None


def effective_status(doc: Dated, now: dt.datetime | None = None) -> DocumentStatus:
    now = now or utcnow()
    if doc.status == "revoked":
        return DocumentStatus.REVOKED
    if doc.status == "replaced":
        return DocumentStatus.REPLACED
    if doc.expires_at is not None:
        if doc.expires_at <= now:
            return DocumentStatus.EXPIRED
        if doc.expires_at - now <= dt.timedelta(days=EXPIRING_DAYS):
            return DocumentStatus.EXPIRING
    return DocumentStatus.VALID


@dataclass(frozen=True)
class PushResult:
    document: Document
    created: bool


def check_type_allowed(agency: Agency, type_code: str) -> None:
    if type_code not in agency.allowed_types:
        raise Forbidden(f"agency {agency.code} may not issue {type_code}", code="type_not_allowed")


def _by_reference(sess: Session, agency_id: str, meta: dict[str, Any], digest: str) -> Document | None:
    """The agency's document under this reference if it is this very push (same file, same metadata: a replay);
    409 if another file, or the same file with other metadata."""
    existing = sess.connection().execute(_BY_REFERENCE, {"agency_id": agency_id, "reference": meta["reference"]}).first()
    if existing is None:
        return None
    if existing.sha256 == digest and same_metadata(existing, meta):
        return sess.get_one(Document, existing.id)
    raise _reference_conflict(meta, same_file=existing.sha256 == digest)


def _replaced(sess: Session, agency_id: str, meta: dict[str, Any]) -> Document | None:
    if not meta.get("replaces"):
        return None
    replaced = sess.get(Document, meta["replaces"])
    if replaced is None or replaced.agency_id != agency_id:
        raise BadMetadata("replaces: no such document of this agency", code="bad_metadata")
    if replaced.status != "active":
        raise Conflict("replaces: that document is already revoked or replaced", code="already_revoked")
    if replaced.holder_id != meta["holder_id"].upper():
        raise BadMetadata("replaces: the replacement must be for the same holder", code="bad_metadata")
    return replaced


@timed_call(PUSH_SECONDS)  # wallet_document_push_duration_seconds{outcome}: ok, or error for any refusal
def push(rt: Runtime, sess: Session, agency: Agency, data: bytes, meta: dict[str, Any],
         request_id: str | None = None, batch_id: str | None = None) -> PushResult:
    doc_type = TYPES[meta["type"]]
    check_type_allowed(agency, doc_type.code)
    if not data.startswith(b"%PDF-"):
        raise UnsupportedMedia("the file is not a PDF (it must start with %PDF-)", code="not_a_pdf")
    digest = hashlib.sha256(data).hexdigest()

    # a light check first: an identical replay is answered without validating again
    agency_id = agency.id
    existing = _by_reference(sess, agency_id, meta, digest)
    if existing is not None:
        return PushResult(existing, created=False)
    _replaced(sess, agency_id, meta)

    certificates = live_certificates(sess)
    trust = rt.trust(certificates.ca_pems)
    own = certificates.fingerprints.get(agency_id, frozenset())
    # Validate outside any transaction: on SQLite the reads above began one with BEGIN IMMEDIATE, the database's
    # one write lock, and a slow file would stop every login, look and push for as long as it is checked.
    sess.rollback()
    report = validate_pdf(rt, data, trust)  # in the validator pool, within its CPU / memory / time budget

    def belongs(sig: SignatureReport) -> bool:
        return bool(own.intersection(sig.chain_sha256))

    decision = decide_issuance(report, belongs)
    if not decision.accepted:
        code = "too_complex" if report.error == "too_complex" else (decision.code or "malformed_pdf")
        detail = f"too_complex: {report.error_detail}" if report.error == "too_complex" else decision.detail
        # the rejection is audited (its own transaction, record_rejection) even though nothing is stored
        details = {"reference": meta["reference"], "sha256": digest, "type": doc_type.code}
        db.record_rejection(lambda s: audit.record(s, actor=f"agency:{agency.code}", action="document.push",
                                                   outcome=code, target=None, request_id=request_id,
                                                   details=details))
        raise Unprocessable(detail, code=code, extra={"validation": report.to_dict()})
    # the write transaction starts here: what was read before the validation may have changed meanwhile
    existing = _by_reference(sess, agency_id, meta, digest)
    if existing is not None:
        return PushResult(existing, created=False)
    replaced = _replaced(sess, agency_id, meta)
    sig = decision.signature
    _check_signed_metadata(sess, agency, sig, meta, digest, request_id)

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
        sess.connection().execute(insert(Document), values)
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
        if other is not None and other.sha256 == digest and same_metadata(other, meta):
            return PushResult(other, created=False)
        raise _reference_conflict(meta, same_file=other is not None and other.sha256 == digest)
    doc = Document(**values)  # what was stored (transient: the row is written above)
    doc.agency = agency
    audit.record(sess, actor=f"agency:{agency.code}", action="document.push", target=f"document:{doc_id}",
                 request_id=request_id, details={"reference": doc.reference, "type": doc.type, "sha256": digest,
                                                 "holder": doc.holder_id, "replaces": doc.replaces_id})
    events.publish(sess, "document.accepted", document=doc, replaced=replaced, batch_id=batch_id)
    return PushResult(doc, created=True)


def _reference_conflict(meta: dict[str, Any], same_file: bool) -> Conflict:
    what = "the same file with other metadata" if same_file else "another file"
    return Conflict(f"reference {meta['reference']} is already used for {what}", code="reference_conflict")


def _check_signed_metadata(sess: Session, agency: Agency, sig: SignatureReport | None, meta: dict[str, Any],
                           digest: str, request_id: str | None) -> None:
    """The last check of a push: the metadata must be the document.json the agency signed (audited if not)."""
    try:
        check_signed_metadata(signed_reading(sig), meta, legacy=agency.legacy_metadata)
    except Unprocessable as exc:
        details = {"reference": meta["reference"], "sha256": digest, "type": meta["type"],
                   "field": exc.extra.get("field")}
        db.record_rejection(lambda s: audit.record(s, actor=f"agency:{agency.code}", action="document.push",
                                                   outcome="metadata_mismatch", target=None, request_id=request_id,
                                                   details=details))  # kept while the push rolls back
        raise


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
        events.publish(sess, "document.revoked", document=doc, reason=reason)
    return doc


class Damaged(WalletError):
    """The blob was found missing or undecryptable by ``fsck`` and the row marked: say so, never a 500."""

    status, code, title = 410, "document_damaged", "The stored file is damaged"


def read_original(rt: Runtime, doc: Stored) -> bytes:
    if doc.damage:
        raise Damaged("the stored file of this document is damaged; the operator has been told")
    return rt.envelope.decrypt(Sealed(doc.wrapped_key, rt.store.get(doc.blob_key)), original_aad(doc.id))


def signature_summary(doc: Signed) -> dict[str, Any]:
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
