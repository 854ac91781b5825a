"""The documents a citizen holds: found by national ID (documents pushed before enrolment appear too).

Another citizen's document, or none, is the same 404: the wallet never tells whether a document exists.
"""
from __future__ import annotations

import hmac

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.citizens.models import Citizen
from wallet.db import utcnow
from wallet.documents.models import Document
from wallet.documents.service import effective_status
from wallet.errors import NotFound

# current documents first (what a citizen comes to show), then those that expired or were withdrawn
STATUS_ORDER = {"valid": 0, "expiring": 0, "expired": 1, "replaced": 2, "revoked": 2}


def documents_for(sess: Session, citizen: Citizen) -> list[Document]:
    docs = sess.execute(select(Document).where(Document.holder_id == citizen.national_id)
                        .order_by(Document.issued_at.desc(), Document.created_at.desc())).scalars().all()
    now = utcnow()
    return sorted(docs, key=lambda d: STATUS_ORDER.get(effective_status(d, now), 3))  # stable: newest first within


def document_for(sess: Session, citizen: Citizen, doc_id: str) -> Document:
    """One of the citizen's own documents; anybody else's (or none) is the same 404."""
    doc = sess.get(Document, doc_id) if 0 < len(doc_id) <= 64 else None
    if doc is None or not hmac.compare_digest(doc.holder_id, citizen.national_id):
        raise NotFound("no such document")
    return doc
