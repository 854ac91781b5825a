"""Agencies: registration, recognised certificates, API keys (shown once, stored hashed)."""
from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

from asn1crypto import pem as asn1_pem
from asn1crypto import x509
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wallet import audit
from wallet.agencies.models import Agency, AgencyCertificate, ApiKey
from wallet.catalogue import TYPES
from wallet.db import utcnow

KEY_PREFIX = "wk_"


class AgencyError(ValueError):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_certificates(pem_data: bytes) -> list[x509.Certificate]:
    certs = []
    if asn1_pem.detect(pem_data):
        for _type, _headers, der in asn1_pem.unarmor(pem_data, multiple=True):
            certs.append(x509.Certificate.load(der))
    else:
        certs.append(x509.Certificate.load(pem_data))
    return certs


def cert_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.dump()).hexdigest()


#: what an agency may do besides pushing documents (``agencies.capabilities``)
CAPABILITIES = frozenset({"guardianships"})


def _capabilities(values: list[str] | tuple[str, ...]) -> list[str]:
    unknown = sorted(set(values) - CAPABILITIES)
    if unknown:
        raise AgencyError(f"unknown capabilities: {', '.join(unknown)} (known: {', '.join(sorted(CAPABILITIES))})")
    return sorted(set(values))


def add_agency(sess: Session, code: str, name: str, types: list[str], names: dict[str, str] | None = None,
               legacy_metadata: bool = False, capabilities: list[str] | tuple[str, ...] = ()) -> Agency:
    code = code.strip().upper()
    if not code.isalnum() or len(code) > 32:
        raise AgencyError("agency code must be letters and digits")
    unknown = [t for t in types if t not in TYPES]
    if unknown:
        raise AgencyError(f"unknown document types: {', '.join(unknown)}")
    if sess.execute(select(Agency).where(Agency.code == code)).scalar_one_or_none():
        raise AgencyError(f"agency {code} already exists")
    agency = Agency(code=code, name=name, names=names or {}, allowed_types=sorted(set(types)),
                    legacy_metadata=legacy_metadata, capabilities=_capabilities(capabilities))
    sess.add(agency)
    sess.flush()
    audit.record(sess, actor="operator", action="agency.add", target=f"agency:{code}",
                 details={"types": agency.allowed_types, "legacy_metadata": legacy_metadata,
                          "capabilities": agency.capabilities})
    return agency


def set_capabilities(sess: Session, agency: Agency, capabilities: list[str] | tuple[str, ...]) -> None:
    wanted = _capabilities(capabilities)
    if wanted != sorted(agency.capabilities or []):
        agency.capabilities = wanted
        audit.record(sess, actor="operator", action="agency.capabilities", target=f"agency:{agency.code}",
                     details={"capabilities": wanted})
        sess.flush()


def set_legacy_metadata(sess: Session, agency: Agency, legacy: bool) -> None:
    """Allow (or stop allowing) pushes of PDFs that carry no signed document.json."""
    if agency.legacy_metadata != legacy:
        agency.legacy_metadata = legacy
        audit.record(sess, actor="operator", action="agency.legacy_metadata", target=f"agency:{agency.code}",
                     details={"legacy_metadata": legacy})
        sess.flush()


def add_certificate(sess: Session, agency: Agency, pem_data: bytes, kind: str) -> list[AgencyCertificate]:
    if kind not in ("ca", "signer"):
        raise AgencyError("kind must be ca or signer")
    added = []
    for cert in parse_certificates(pem_data):
        fp = cert_sha256(cert)
        existing = sess.execute(select(AgencyCertificate).where(AgencyCertificate.sha256 == fp)).scalar_one_or_none()
        if existing:
            if existing.agency_id != agency.id:
                raise AgencyError("certificate already registered for another agency")
            continue
        row = AgencyCertificate(agency_id=agency.id, kind=kind, sha256=fp, subject=cert.subject.human_friendly,
                                pem=asn1_pem.armor("CERTIFICATE", cert.dump()).decode())
        sess.add(row)
        added.append(row)
        audit.record(sess, actor="operator", action="agency.certificate_add", target=f"agency:{agency.code}",
                     details={"kind": kind, "sha256": fp})
    sess.flush()
    return added


def issue_key(sess: Session, agency: Agency) -> str:
    """Create an API key; the clear key is returned once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    sess.add(ApiKey(agency_id=agency.id, prefix=key[:10], key_hash=hash_key(key)))
    sess.flush()
    audit.record(sess, actor="operator", action="agency.key_issue", target=f"agency:{agency.code}",
                 details={"prefix": key[:10]})
    return key


def rotate_key(sess: Session, agency: Agency) -> str:
    """Revoke every active key of the agency and issue a new one."""
    now = utcnow()
    for k in sess.execute(select(ApiKey).where(ApiKey.agency_id == agency.id,
                                               ApiKey.revoked_at.is_(None))).scalars():
        k.revoked_at = now
    audit.record(sess, actor="operator", action="agency.key_rotate", target=f"agency:{agency.code}")
    return issue_key(sess, agency)


def revoke_key(sess: Session, prefix: str) -> int:
    n = 0
    for k in sess.execute(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))).scalars():
        k.revoked_at = utcnow()
        n += 1
        audit.record(sess, actor="operator", action="agency.key_revoke", target=f"agency:{k.agency.code}",
                     details={"prefix": prefix})
    return n


# built once (they run on every agency request): the agency alone, in one query; live certificate fingerprints
_AGENCY_BY_KEY = (select(Agency).join(ApiKey, ApiKey.agency_id == Agency.id)
                  .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None), Agency.active.is_(True)))
_CERTS = AgencyCertificate.__table__
_LIVE_FINGERPRINTS = (select(_CERTS.c.agency_id, _CERTS.c.kind, _CERTS.c.sha256).where(_CERTS.c.removed_at.is_(None))
                      .order_by(_CERTS.c.sha256))


def authenticate(sess: Session, key: str) -> Agency | None:
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    return sess.execute(_AGENCY_BY_KEY, {"key_hash": hash_key(key)}).scalar_one_or_none()


def get_by_code(sess: Session, code: str) -> Agency | None:
    return sess.execute(select(Agency).where(Agency.code == code.upper())).scalar_one_or_none()


@dataclass(frozen=True)
class LiveCertificates:
    """Every agency's live certificates, as issuance and upload checks need them: who signed (fingerprints by agency) and the
    CAs to build chains with (PEMs, in fingerprint order: the trust store's cache key)."""

    fingerprints: dict[str, frozenset[str]]
    ca_pems: tuple[str, ...]


_pem_cache: dict[str, str] = {}  # sha256 -> PEM: a certificate's bytes never change (its row may be removed)
_pem_lock = threading.Lock()


def live_certificates(sess: Session) -> LiveCertificates:
    """One light query per push (fingerprints only; PEMs are fetched once per process and certificate), read
    fresh every time, so an operator's `agency add-cert` / removal applies to the very next push."""
    rows = sess.connection().execute(_LIVE_FINGERPRINTS).all()
    missing = [r.sha256 for r in rows if r.kind == "ca" and r.sha256 not in _pem_cache]
    if missing:
        found = sess.connection().execute(select(_CERTS.c.sha256, _CERTS.c.pem)
                                          .where(_CERTS.c.sha256.in_(missing))).all()
        with _pem_lock:
            _pem_cache.update({r.sha256: r.pem for r in found})
    by_agency: dict[str, set[str]] = {}
    for r in rows:
        by_agency.setdefault(r.agency_id, set()).add(r.sha256)
    return LiveCertificates({a: frozenset(fps) for a, fps in by_agency.items()},
                            tuple(_pem_cache[r.sha256] for r in rows if r.kind == "ca" and r.sha256 in _pem_cache))
