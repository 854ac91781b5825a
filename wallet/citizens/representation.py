"""Representation: guardianships (recorded by the civil registry or an operator) and proxies (granted by a citizen).

What a representative may reach is decided in ``wallet.citizens.holdings`` from :func:`grants_for`. Ending a
record (revocation, a later court order, a withdrawn or expired mandate) ends the representative's access at once;
the shares they made under it are revoked in the same transaction (``end_shares``), so the share-state decision
table (``wallet.shares.states``) needs no new state: such a share simply reads ``share_revoked``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, column, or_, select, table, update
from sqlalchemy.orm import Session

from wallet import audit
from wallet.agencies.models import Agency
from wallet.catalogue import TYPES
from wallet.citizens.identity import parse_national_id
from wallet.citizens.models import Citizen, Guardianship, Mandate
from wallet.db import UTCDateTime, new_id, utcnow
from wallet.documents.models import Document
from wallet.errors import BadRequest, Conflict, Forbidden, NotFound

BASES = ("parent", "tutor", "court_order")
GUARDIANSHIPS = "guardianships"  # the agency capability
MAX_MANDATE_DAYS = 5 * 366


@dataclass(frozen=True)
class Grant:
    """What a representative holds of one holder: all their documents (guardian) or some types (proxy)."""

    holder_national_id: str
    holder_name: str
    access: str  # guardian | proxy
    guardianship_id: str | None = None
    mandate_id: str | None = None
    types: frozenset[str] | None = None  # None: every type
    can_share: bool = True

    def covers(self, doc_type: str) -> bool:
        return self.types is None or doc_type in self.types


def _nid(value: str, what: str) -> str:
    nid = parse_national_id(value)
    if nid is None:
        raise BadRequest(f"{what} is not a national ID number", code="invalid_national_id", extra={"field": what})
    return nid


# ------------------------------------------------------------------------------------------------- names

def person_name(sess: Session, national_id: str, recorded: str = "") -> str:
    """A person's name: the registry's record, else their account's, else from their documents, else ''."""
    if recorded:
        return recorded
    name = sess.execute(select(Citizen.name).where(Citizen.national_id == national_id)).scalar_one_or_none()
    if name:
        return name
    for attributes in sess.execute(select(Document.attributes).where(Document.holder_id == national_id)
                                   .order_by(Document.issued_at.desc()).limit(5)).scalars():
        value = (attributes or {}).get("holder_name")
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return ""


# ------------------------------------------------------------------------------------------------- guardianships

def active_guardianship(g: Guardianship, today: dt.date) -> bool:
    return g.revoked_at is None and g.valid_until >= today


def require_capability(agency: Agency) -> None:
    if GUARDIANSHIPS not in (agency.capabilities or []):
        raise Forbidden("this agency may not record guardianships", code="capability_missing",
                        extra={"capability": GUARDIANSHIPS})


def record_guardianship(sess: Session, agency: Agency | None, *, guardian_id: str, minor_id: str,
                        valid_until: dt.date, basis: str, reference: str | None = None, guardian_name: str = "",
                        minor_name: str = "", request_id: str | None = None) -> tuple[Guardianship, bool]:
    """Record a guardianship; (record, created). The same reference with the same data again: the record, not
    created (an agency's replay); with other data: 409. An agency without the capability: 403."""
    if agency is not None:
        require_capability(agency)
    gid, mid = _nid(guardian_id, "guardian_id"), _nid(minor_id, "minor_id")
    if gid == mid:
        raise BadRequest("a person cannot be their own guardian", code="guardian_is_minor")
    if basis not in BASES:
        raise BadRequest(f"basis must be one of {', '.join(BASES)}", code="invalid_basis")
    if valid_until < utcnow().date():
        raise BadRequest("valid_until is in the past", code="valid_until_past")
    data = {"guardian_id": gid, "minor_id": mid, "valid_until": valid_until, "basis": basis,
            "guardian_name": guardian_name.strip(), "minor_name": minor_name.strip()}
    reference = (reference or "").strip() or f"OP-{new_id()}"
    existing = sess.execute(select(Guardianship).where(
        Guardianship.agency_id.is_(None) if agency is None else Guardianship.agency_id == agency.id,
        Guardianship.reference == reference)).scalar_one_or_none()
    if existing is not None:
        if all(getattr(existing, k) == v for k, v in data.items()):
            return existing, False
        raise Conflict("this reference is already recorded with other data", code="reference_conflict",
                       extra={"id": existing.id})
    row = Guardianship(id=new_id(), agency_id=agency.id if agency else None, reference=reference, **data)
    sess.add(row)
    sess.flush()
    actor = f"agency:{agency.code}" if agency else "operator"
    audit.record(sess, actor=actor, action="guardianship.record", target=f"guardianship:{row.id}",
                 request_id=request_id, details={"basis": basis, "valid_until": valid_until.isoformat(),
                                                 "reference": reference})
    if basis == "court_order":
        earlier = [g for g in sess.execute(select(Guardianship).where(
            Guardianship.minor_id == mid, Guardianship.basis == "court_order", Guardianship.id != row.id)).scalars()
            if active_guardianship(g, utcnow().date())]
        if earlier:  # both kept and shown; the latest wins: the earlier guardians' access and shares end
            audit.record(sess, actor=actor, action="guardianship.conflict", target=f"guardianship:{row.id}",
                         request_id=request_id, details={"supersedes": [g.id for g in earlier]})
            for g in earlier:
                if g.guardian_id != gid:
                    end_shares(sess, guardianship_id=g.id)
    return row, True


def revoke_guardianship(sess: Session, agency: Agency | None, guardianship_id: str, reason: str,
                        request_id: str | None = None) -> Guardianship:
    """Revoke a guardianship (an agency: only its own records; others are 404). Its shares end with it."""
    if agency is not None:
        require_capability(agency)
    row = sess.get(Guardianship, guardianship_id) if 0 < len(guardianship_id) <= 64 else None
    if row is None or (agency is not None and row.agency_id != agency.id):
        raise NotFound("no such guardianship")
    if row.revoked_at is None:
        row.revoked_at, row.revocation_reason = utcnow(), (reason or "").strip()[:500] or None
        ended = end_shares(sess, guardianship_id=row.id)
        audit.record(sess, actor=f"agency:{agency.code}" if agency else "operator", action="guardianship.revoke",
                     target=f"guardianship:{row.id}", request_id=request_id,
                     details={"reason": row.revocation_reason, "shares_revoked": ended})
        sess.flush()
    return row


def guardianships_of(sess: Session, national_id: str) -> list[Guardianship]:
    """Every record naming ``national_id`` as guardian or minor, newest first (ended ones too)."""
    nid = parse_national_id(national_id) or national_id
    return list(sess.execute(select(Guardianship).where(
        or_(Guardianship.guardian_id == nid, Guardianship.minor_id == nid))
        .order_by(Guardianship.created_at.desc(), Guardianship.id)).scalars())


def superseded(sess: Session, row: Guardianship, today: dt.date) -> bool:
    """A court order for the same minor recorded later (and still in force) overrides an earlier court order."""
    if row.basis != "court_order":
        return False
    later = sess.execute(select(Guardianship).where(
        Guardianship.minor_id == row.minor_id, Guardianship.basis == "court_order", Guardianship.id != row.id,
        Guardianship.created_at >= row.created_at, Guardianship.guardian_id != row.guardian_id)).scalars()
    return any(active_guardianship(g, today) and (g.created_at, g.id) > (row.created_at, row.id) for g in later)


def end_shares(sess: Session, *, guardianship_id: str | None = None, mandate_id: str | None = None) -> int:
    """Revoke every open share made under a guardianship or mandate (same transaction as its end)."""
    by = _SHARES.c.guardianship_id == guardianship_id if guardianship_id else _SHARES.c.mandate_id == mandate_id
    result: Any = sess.execute(update(_SHARES).where(by, _SHARES.c.revoked_at.is_(None)).values(revoked_at=utcnow()),
                               execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)


# the columns of ``shares`` that ending a record touches (the shares domain sits above this one: no import of it)
_SHARES = table("shares", column("guardianship_id", String()), column("mandate_id", String()),
                column("revoked_at", UTCDateTime()))


# ------------------------------------------------------------------------------------------------- mandates

@dataclass(frozen=True)
class MandateRequest:
    """A grant checked and normalised (``check_mandate``): what ``grant_mandate`` records."""

    proxy_id: str
    types: list[str] | None
    expires_at: dt.datetime


def check_mandate(grantor: Citizen, proxy_id: str, types: Sequence[str] | None,
                  expires_at: dt.datetime) -> MandateRequest:
    """The checks of a grant, without recording it (400 ``invalid_national_id``, ``proxy_is_self``,
    ``invalid_types``, ``invalid_expiry``): views run them before asking for a step-up, so that a person is not
    asked to confirm who they are for a grant that would be refused anyway."""
    pid = _nid(proxy_id, "proxy_id")
    if pid == grantor.national_id:
        raise BadRequest("a proxy cannot be granted to oneself", code="proxy_is_self")
    if types is not None:
        unknown = sorted(set(types) - set(TYPES))
        if unknown or not types:
            raise BadRequest("unknown or no document types", code="invalid_types", extra={"types": unknown})
    now = utcnow()
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    if not now < expires_at <= now + dt.timedelta(days=MAX_MANDATE_DAYS):
        raise BadRequest("expires_at must be in the future, within five years", code="invalid_expiry")
    return MandateRequest(pid, sorted(set(types)) if types is not None else None, expires_at)


def grant_mandate(sess: Session, grantor: Citizen, proxy_id: str, types: Sequence[str] | None,
                  expires_at: dt.datetime, can_share: bool, request_id: str | None = None) -> Mandate:
    """A citizen grants a proxy (the view asks for a recent authentication first: ``wallet.citizens.stepup``)."""
    checked = check_mandate(grantor, proxy_id, types, expires_at)
    pid, expires_at, now = checked.proxy_id, checked.expires_at, utcnow()
    row = Mandate(id=new_id(), grantor_id=grantor.national_id, proxy_id=pid,
                  types=checked.types, can_share=can_share, created_at=now,
                  expires_at=expires_at)
    sess.add(row)
    sess.flush()
    audit.record(sess, actor=f"citizen:{grantor.id}", action="mandate.grant", target=f"mandate:{row.id}",
                 request_id=request_id, details={"types": row.types, "can_share": can_share,
                                                 "expires_at": expires_at.isoformat()})
    return row


def mandates_of(sess: Session, citizen: Citizen) -> tuple[list[Mandate], list[Mandate]]:
    """(granted, received), newest first, ended ones too."""
    rows = sess.execute(select(Mandate).where(or_(Mandate.grantor_id == citizen.national_id,
                                                  Mandate.proxy_id == citizen.national_id))
                        .order_by(Mandate.created_at.desc(), Mandate.id)).scalars().all()
    return ([m for m in rows if m.grantor_id == citizen.national_id],
            [m for m in rows if m.proxy_id == citizen.national_id])


def own_mandate(sess: Session, citizen: Citizen, mandate_id: str) -> Mandate:
    """A mandate ``citizen`` granted or received; anyone else's is 404."""
    row = sess.get(Mandate, mandate_id) if 0 < len(mandate_id) <= 64 else None
    if row is None or citizen.national_id not in (row.grantor_id, row.proxy_id):
        raise NotFound("no such mandate")
    return row


def end_mandate(sess: Session, citizen: Citizen, mandate_id: str, request_id: str | None = None) -> Mandate:
    """Either side ends a mandate at once; the proxy's shares made under it are revoked with it."""
    row = own_mandate(sess, citizen, mandate_id)
    if row.ended_at is None:
        row.ended_at, row.ended_by = utcnow(), citizen.national_id
        ended = end_shares(sess, mandate_id=row.id)
        audit.record(sess, actor=f"citizen:{citizen.id}", action="mandate.end", target=f"mandate:{row.id}",
                     request_id=request_id, details={"shares_revoked": ended,
                                                     "by": "grantor" if citizen.national_id == row.grantor_id
                                                     else "proxy"})
        sess.flush()
    return row


def mandate_open(m: Mandate, now: dt.datetime) -> bool:
    return m.ended_at is None and m.expires_at > now


# ------------------------------------------------------------------------------------------------- grants

def grants_for(sess: Session, citizen: Citizen, now: dt.datetime | None = None) -> list[Grant]:
    """What ``citizen`` may reach as a representative, right now (a guardianship beats a mandate for a holder)."""
    now = now or utcnow()
    today = now.date()
    nid = citizen.national_id
    out: dict[str, Grant] = {}
    for g in sess.execute(select(Guardianship).where(Guardianship.guardian_id == nid,
                                                     Guardianship.revoked_at.is_(None),
                                                     Guardianship.valid_until >= today)
                          .order_by(Guardianship.created_at.desc())).scalars():
        if g.minor_id in out or superseded(sess, g, today):
            continue
        out[g.minor_id] = Grant(g.minor_id, person_name(sess, g.minor_id, g.minor_name), "guardian",
                                guardianship_id=g.id)
    for m in sess.execute(select(Mandate).where(Mandate.proxy_id == nid, Mandate.ended_at.is_(None),
                                                Mandate.expires_at > now)
                          .order_by(Mandate.created_at.desc())).scalars():
        if m.grantor_id in out:
            continue  # one grant per holder: the newest mandate (a new one replaces the scope of an older one)
        out[m.grantor_id] = Grant(m.grantor_id, person_name(sess, m.grantor_id), "proxy", mandate_id=m.id,
                                  types=frozenset(m.types) if m.types is not None else None, can_share=m.can_share)
    return list(out.values())


def representative_name(sess: Session, citizen: Citizen, grant: Grant) -> str:
    """How a verifier and the holder see the representative named."""
    if citizen.name:
        return citizen.name
    if grant.guardianship_id:
        row = sess.get(Guardianship, grant.guardianship_id)
        if row is not None and row.guardian_name:
            return row.guardian_name
    return person_name(sess, citizen.national_id)


__all__ = ["BASES", "GUARDIANSHIPS", "MAX_MANDATE_DAYS", "Grant", "MandateRequest", "active_guardianship",
           "check_mandate", "end_mandate", "end_shares", "grant_mandate",
           "grants_for", "guardianships_of", "mandate_open", "mandates_of", "own_mandate", "person_name",
           "record_guardianship", "representative_name", "revoke_guardianship", "superseded"]
