"""The documents a citizen may reach: their own (found by national ID: documents pushed before enrolment appear
too) and those they hold as a representative (a guardian: all the minor's; a proxy: the granted types).

Another citizen's document beyond what a representation grants, or none, is the same 404: the wallet never tells
whether a document exists.
"""
from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet import audit
from wallet.citizens.models import Citizen
from wallet.citizens.representation import Grant, grants_for
from wallet.db import utcnow
from wallet.documents.models import Document
from wallet.documents.service import effective_status
from wallet.errors import NotFound

# current documents first (what a citizen comes to show), then those that expired or were withdrawn
STATUS_ORDER = {"valid": 0, "expiring": 0, "expired": 1, "replaced": 2, "revoked": 2}


@dataclass(frozen=True)
class Holding:
    """A document as the signed-in citizen reaches it: ``access`` own | guardian | proxy, ``grant`` when not own."""

    document: Document
    access: str
    holder_national_id: str
    holder_name: str
    grant: Grant | None = None

    @property
    def can_share(self) -> bool:
        return self.grant is None or self.grant.can_share


def _holding(citizen: Citizen, doc: Document, grants: dict[str, Grant]) -> Holding | None:
    if hmac.compare_digest(doc.holder_id, citizen.national_id):
        return Holding(doc, "own", citizen.national_id, citizen.name)
    grant = grants.get(doc.holder_id)
    if grant is None or not grant.covers(doc.type):
        return None
    return Holding(doc, grant.access, grant.holder_national_id, grant.holder_name, grant)


def documents_for(sess: Session, citizen: Citizen) -> list[Holding]:
    """Own documents first, then each represented person's, each group current first, newest first within."""
    grants = {g.holder_national_id: g for g in grants_for(sess, citizen)}
    holders = [citizen.national_id, *grants]
    docs = sess.execute(select(Document).where(Document.holder_id.in_(holders))
                        .order_by(Document.issued_at.desc(), Document.created_at.desc())).scalars().all()
    now = utcnow()
    reached = [h for d in docs if (h := _holding(citizen, d, grants)) is not None]
    return sorted(reached, key=lambda h: (holders.index(h.holder_national_id),  # stable: newest first within
                                          STATUS_ORDER.get(effective_status(h.document, now), 3)))


def document_for(sess: Session, citizen: Citizen, doc_id: str) -> Holding:
    """One document the citizen may reach; anybody else's (or none) is the same 404."""
    doc = sess.get(Document, doc_id) if 0 < len(doc_id) <= 64 else None
    holding = None
    if doc is not None:
        own = hmac.compare_digest(doc.holder_id, citizen.national_id)
        grants = {} if own else {g.holder_national_id: g for g in grants_for(sess, citizen)}
        holding = _holding(citizen, doc, grants)
    if holding is None:
        raise NotFound("no such document")
    return holding


def note_representative_use(sess: Session, citizen: Citizen, holding: Holding, action: str,
                            request_id: str | None = None) -> None:
    """Every use of a represented person's document is audited (the holder's activity shows the shares)."""
    if holding.grant is None:
        return
    audit.record(sess, actor=f"citizen:{citizen.id}", action=action, target=f"document:{holding.document.id}",
                 request_id=request_id, details={"as": holding.access, "holder": holding.holder_national_id,
                                                 "guardianship": holding.grant.guardianship_id,
                                                 "mandate": holding.grant.mandate_id})


@dataclass(frozen=True)
class RepresentativeUse:
    """A representative's use of one of the citizen's documents, for the holder's activity page."""

    at: dt.datetime  # when the audit event was written
    document: Document
    role: str  # guardian | proxy
    name: str  # the representative's name, else their national ID


REPRESENTATIVE_ACTIONS = ("document.download",)


def representative_uses(sess: Session, citizen: Citizen, limit: int = 200) -> list[RepresentativeUse]:
    """Every download of the citizen's documents by a guardian or a proxy, newest first, read from the audit log
    (``note_representative_use`` wrote it): the holder sees each use made in their name."""
    docs = {d.id: d for d in sess.execute(select(Document).where(Document.holder_id == citizen.national_id)).scalars()}
    if not docs:
        return []
    rows = sess.execute(select(audit.AuditEvent)
                        .where(audit.AuditEvent.action.in_(REPRESENTATIVE_ACTIONS),
                               audit.AuditEvent.target.in_([f"document:{i}" for i in docs]),
                               audit.AuditEvent.actor != f"citizen:{citizen.id}")
                        .order_by(audit.AuditEvent.seq.desc()).limit(limit)).scalars().all()
    actors = {r.actor.removeprefix("citizen:") for r in rows if r.actor.startswith("citizen:")}
    people = {c.id: c for c in sess.execute(select(Citizen).where(Citizen.id.in_(actors))).scalars()} if actors else {}
    out = []
    for r in rows:
        role = (r.details or {}).get("as")
        doc = docs.get((r.target or "").removeprefix("document:"))
        person = people.get(r.actor.removeprefix("citizen:"))
        if role in ("guardian", "proxy") and doc is not None and person is not None:
            out.append(RepresentativeUse(at=r.at, document=doc, role=role, name=person.name or person.national_id))
    return out
