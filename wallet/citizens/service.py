"""Citizens: enrolment, login (password + TOTP), server-side sessions, and the documents a citizen holds.

Business and permission rules live here; the JSON API (``views.py``) and the HTML pages (``wallet.web``)
are thin callers of the same functions. Sign-in throttling (per ID and client address, only failures counted,
the same for enrolled and unknown IDs; ``citizen unlock``) is ``throttle.py``'s.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import has_app_context
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from wallet import audit, db
from wallet.citizens.identity import IdentityClaim, IdentityError, provider
from wallet.citizens.models import Citizen, CitizenSession
from wallet.citizens.throttle import LoginThrottle, client_bucket
from wallet.crypto import DecryptionError, Envelope
from wallet.db import utcnow
from wallet.documents.models import Document
from wallet.documents.service import effective_status
from wallet.errors import BadRequest, NotFound, Unauthorized, WalletError

hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_DUMMY_HASH = hasher.hash("not a real password: equalises timing for unknown national IDs")

TOTP_STEP = 30
MIN_PASSWORD = 10
MAX_PASSWORD = 256
ENROL_TICKET_AGE = 30 * 60
ISSUER = "Wallet"


class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "Invalid credentials"


class EnrolmentError(WalletError):
    status, code, title = 400, "invalid_enrolment", "Enrolment failed"


def totp_aad(citizen_id: str) -> str:
    return f"citizen:{citizen_id}:totp"


def normalise_id(national_id: str) -> str:
    return "".join(national_id.split()).upper()[:32]


# ------------------------------------------------------------------------------------------------
# passwords and one-time codes
# ------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common-passwords.txt")
    return frozenset(ln.strip().lower() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#"))


def password_problem(password: str, national_id: str = "") -> str | None:
    """None if acceptable, else a stable reason code: too_short, too_long, too_common, contains_id."""
    if len(password) < MIN_PASSWORD:
        return "too_short"
    if len(password) > MAX_PASSWORD:
        return "too_long"
    low = password.lower()
    if low in common_passwords() or len(set(low)) <= 2:
        return "too_common"
    if national_id and national_id.lower() in low:
        return "contains_id"
    return None


def matching_step(secret: str, code: str, last_step: int, now: dt.datetime) -> int | None:
    """The TOTP time step ``code`` belongs to (±1 step of clock drift), if later than ``last_step``."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP)
    current = int(now.timestamp()) // TOTP_STEP
    found = None
    for step in (current - 1, current, current + 1):  # no early exit: constant work
        if hmac.compare_digest(totp.generate_otp(step), code) and step > last_step:
            found = step
    return found


# ------------------------------------------------------------------------------------------------
# login, throttling
# ------------------------------------------------------------------------------------------------

def authenticate(sess: Session, envelope: Envelope, national_id: str, password: str, otp: str, *,
                 throttle: bool = True, address: str | None = None, request_id: str | None = None,
                 now: dt.datetime | None = None) -> Citizen:
    """National ID + password + TOTP code. One answer (invalid_credentials) for every kind of failure.

    With ``throttle`` (rate limits on), the budgets of ``wallet.citizens.throttle`` apply, keyed by the
    normalised ID string and the client address (``address``, default: the request's): the same delays for an
    enrolled ID and an unknown one, only failures counted, and the right credentials from an address that has
    not failed always pass, unless the ID's ceiling across all addresses is spent.
    """
    now = now or utcnow()
    nid = normalise_id(national_id)
    guard = _login_throttle() if throttle else None
    bucket = client_bucket(address)
    if guard is not None:
        guard.check(nid, bucket)  # before any password check: 429, alike for every ID string
    citizen = sess.execute(select(Citizen).where(Citizen.national_id == nid)).scalar_one_or_none() if nid else None
    password_hash = citizen.password_hash if citizen is not None and citizen.enrolled_at is not None else None
    totp_enc = citizen.totp_secret_enc if citizen is not None else None
    if citizen is None or password_hash is None or totp_enc is None:
        try:
            hasher.verify(_DUMMY_HASH, password or "-")  # the same argon2 work as for an enrolled ID
        except VerificationError:
            pass
    else:
        password_ok = False
        try:
            password_ok = hasher.verify(password_hash, password or "-")
        except (VerificationError, InvalidHashError):
            pass
        secret = envelope.decrypt_small(totp_enc, totp_aad(citizen.id)).decode()
        step = matching_step(secret, otp or "", citizen.totp_last_step, now)
        if password_ok and step is not None:
            # each code once, even under concurrent requests: the step only ever moves forward
            claimed = sess.execute(update(Citizen).where(Citizen.id == citizen.id, Citizen.totp_last_step < step)
                                   .values(totp_last_step=step)
                                   .execution_options(synchronize_session=False))
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                sess.refresh(citizen)
                if hasher.check_needs_rehash(citizen.password_hash or ""):
                    citizen.password_hash = hasher.hash(password)
                if guard is not None:
                    guard.succeeded(nid, bucket)
                audit.record(sess, actor=f"citizen:{citizen.id}", action="citizen.login",
                             target=f"citizen:{citizen.id}", request_id=request_id)
                return citizen
    ceiling = guard.failed(nid, bucket) if guard is not None else False
    # an audit event for every failure, enrolled ID or not: the same work (and time) either way; kept in its own
    # transaction while the request's rolls back (the failure count itself lives in the throttle's storage)
    event = {"actor": "anonymous", "action": "citizen.login", "outcome": "invalid_credentials",
             "target": f"citizen:{citizen.id}" if citizen is not None else "citizen:unknown", "request_id": request_id,
             "details": {"national_id": nid, "address": bucket, **({"ceiling_reached": True} if ceiling else {})}}
    db.record_rejection(lambda s: audit.record(s, **event))
    raise InvalidCredentials("national ID, password or code is wrong")


def _login_throttle() -> LoginThrottle | None:
    from wallet.citizens.throttle import login_throttle

    return login_throttle() if has_app_context() else None


def unlock_login(sess: Session, national_id: str, actor: str = "operator") -> str:
    """Operator path: every sign-in failure count of the ID (its ceiling, every address) starts again from zero."""
    nid = normalise_id(national_id)
    if not nid.isalnum() or not 4 <= len(nid) <= 32:
        raise BadRequest("a national ID is 4 to 32 letters and digits", code="bad_national_id")
    from wallet.extensions import runtime

    runtime().login_throttle.unlock(nid)
    citizen = sess.execute(select(Citizen).where(Citizen.national_id == nid)).scalar_one_or_none()
    audit.record(sess, actor=actor, action="citizen.unlock",
                 target=f"citizen:{citizen.id}" if citizen is not None else "citizen:unknown",
                 details={"national_id": nid})
    return nid


# ------------------------------------------------------------------------------------------------
# server-side sessions
# ------------------------------------------------------------------------------------------------

def session_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(sess: Session, citizen: Citizen, user_agent: str | None,
                  previous_secret: str | None = None) -> tuple[str, CitizenSession]:
    """A new session (new id: rotated at every login); the previous one on this device ends."""
    if previous_secret:
        old = sess.get(CitizenSession, session_key(previous_secret))
        if old is not None and old.ended_at is None:
            old.ended_at = utcnow()
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    row = CitizenSession(id=session_key(secret), citizen_id=citizen.id, csrf_token=secrets.token_urlsafe(32),
                         created_at=now, last_seen_at=now, user_agent=(user_agent or "")[:200] or None)
    sess.add(row)
    sess.flush()
    return secret, row


@dataclass(frozen=True)
class SessionLimits:
    idle: dt.timedelta
    absolute: dt.timedelta


_SESSION_AND_CITIZEN = select(CitizenSession, Citizen).join(Citizen, Citizen.id == CitizenSession.citizen_id) \
    .where(CitizenSession.id == bindparam("sid"))


def find_session_and_citizen(sess: Session, secret: str | None, limits: SessionLimits,
                             now: dt.datetime | None = None) -> tuple[CitizenSession, Citizen] | None:
    """The live session for a cookie secret and its citizen, in one query (every signed-in request needs both);
    ends the session (and returns None) when it is idle or too old."""
    if not secret or len(secret) > 128:
        return None
    found = sess.execute(_SESSION_AND_CITIZEN, {"sid": session_key(secret)}).first()
    if found is None:
        return None
    row, citizen = found
    if row.ended_at is not None:
        return None
    now = now or utcnow()
    if now - row.last_seen_at > limits.idle or now - row.created_at > limits.absolute:
        row.ended_at = now
        return None
    return row, citizen


def session_expiry(row: CitizenSession, limits: SessionLimits) -> dt.datetime:
    return min(row.last_seen_at + limits.idle, row.created_at + limits.absolute)


def end_session(sess: Session, row: CitizenSession) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()
    sess.flush()


def end_all_sessions(sess: Session, citizen_id: str, request_id: str | None = None) -> int:
    done = sess.execute(update(CitizenSession).where(CitizenSession.citizen_id == citizen_id,
                                                     CitizenSession.ended_at.is_(None))
                        .values(ended_at=utcnow()).execution_options(synchronize_session="fetch"))
    audit.record(sess, actor=f"citizen:{citizen_id}", action="citizen.logout_everywhere",
                 target=f"citizen:{citizen_id}", request_id=request_id)
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def active_sessions(sess: Session, citizen_id: str, limits: SessionLimits) -> list[CitizenSession]:
    now = utcnow()
    rows = sess.execute(select(CitizenSession).where(CitizenSession.citizen_id == citizen_id,
                                                     CitizenSession.ended_at.is_(None))
                        .order_by(CitizenSession.last_seen_at.desc())).scalars().all()
    return [r for r in rows if now - r.last_seen_at <= limits.idle and now - r.created_at <= limits.absolute]


# ------------------------------------------------------------------------------------------------
# enrolment: identity proof -> password -> TOTP confirmed by a first code
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Enrolment:
    """State carried between enrolment steps in a signed ticket; secrets inside are encrypted."""

    claim: IdentityClaim
    password_hash: str | None = None
    totp_secret: str | None = None

    def otpauth_uri(self) -> str:
        assert self.totp_secret
        return pyotp.TOTP(self.totp_secret, interval=TOTP_STEP).provisioning_uri(name=self.claim.national_id,
                                                                                 issuer_name=ISSUER)


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="wallet-enrolment")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())


def dump_ticket(secret_key: str, envelope: Envelope, state: Enrolment) -> str:
    c = state.claim
    body: dict[str, Any] = {"n": c.national_id, "p": c.proof_id, "m": c.method}
    if state.password_hash:
        body["h"] = _b64(envelope.encrypt_small(state.password_hash.encode(), f"enrol:{c.proof_id}:password"))
    if state.totp_secret:
        body["t"] = _b64(envelope.encrypt_small(state.totp_secret.encode(), f"enrol:{c.proof_id}:totp"))
    return _serializer(secret_key).dumps(body)


def load_ticket(secret_key: str, envelope: Envelope, ticket: str) -> Enrolment:
    try:
        body = _serializer(secret_key).loads(ticket or "", max_age=ENROL_TICKET_AGE)
        claim = IdentityClaim(national_id=body["n"], proof_id=body["p"], method=body["m"])
        pw = envelope.decrypt_small(_unb64(body["h"]), f"enrol:{claim.proof_id}:password").decode() \
            if "h" in body else None
        totp = envelope.decrypt_small(_unb64(body["t"]), f"enrol:{claim.proof_id}:totp").decode() \
            if "t" in body else None
    except (BadSignature, KeyError, TypeError, ValueError, DecryptionError) as exc:
        raise EnrolmentError("the enrolment has expired: start again with your code", code="enrolment_expired") \
            from exc
    return Enrolment(claim, pw, totp)


def enrol_start(sess: Session, national_id: str, code: str) -> Enrolment:
    try:
        claim = provider().verify(sess, normalise_id(national_id), code)
    except IdentityError as exc:
        raise EnrolmentError("this national ID and enrolment code do not match a valid invitation",
                             code="invalid_invite") from exc
    return Enrolment(claim)


def enrol_password(state: Enrolment, password: str) -> Enrolment:
    problem = password_problem(password, state.claim.national_id)
    if problem:
        raise EnrolmentError(PASSWORD_PROBLEMS[problem], code="weak_password", extra={"reason": problem})
    return Enrolment(state.claim, hasher.hash(password), pyotp.random_base32())


PASSWORD_PROBLEMS = {
    "too_short": f"the password must have at least {MIN_PASSWORD} characters",
    "too_long": f"the password must have at most {MAX_PASSWORD} characters",
    "too_common": "this password is too common: choose another one",
    "contains_id": "the password must not contain your national ID number",
}


def enrol_confirm(sess: Session, envelope: Envelope, state: Enrolment, otp: str,
                  request_id: str | None = None) -> Citizen:
    if not state.password_hash or not state.totp_secret:
        raise EnrolmentError("choose a password first", code="enrolment_expired")
    step = matching_step(state.totp_secret, otp or "", 0, utcnow())
    if step is None:
        raise EnrolmentError("the code does not match: check the time on your phone and try again",
                             code="invalid_code")
    try:
        provider().consume(sess, state.claim)
    except IdentityError as exc:
        raise EnrolmentError("this enrolment code was already used or has expired", code="invalid_invite") from exc
    nid = state.claim.national_id
    citizen = sess.execute(select(Citizen).where(Citizen.national_id == nid)).scalar_one_or_none()
    if citizen is None:
        citizen = Citizen(national_id=nid, name="")
        sess.add(citizen)
        sess.flush()
    else:  # re-enrolment (lost phone, forgotten password): every existing session ends
        sess.execute(update(CitizenSession).where(CitizenSession.citizen_id == citizen.id,
                                                  CitizenSession.ended_at.is_(None)).values(ended_at=utcnow()))
    citizen.password_hash = state.password_hash
    citizen.totp_secret_enc = envelope.encrypt_small(state.totp_secret.encode(), totp_aad(citizen.id))
    citizen.totp_last_step = step
    citizen.enrolled_at = utcnow()
    guard = _login_throttle()
    if guard is not None:  # a fresh enrolment is a way back from a spent sign-in ceiling
        guard.unlock(nid)
    audit.record(sess, actor=f"citizen:{citizen.id}", action="citizen.enrol", target=f"citizen:{citizen.id}",
                 request_id=request_id, details={"path": state.claim.method})
    sess.flush()
    return citizen


def create_invite(sess: Session, national_id: str, actor: str = "operator") -> tuple[str, dt.datetime]:
    """Operator path: a one-time enrolment code for a national ID (the clear code is returned once)."""
    from wallet.citizens.identity import NATIONAL_ID_RULE, new_invite, parse_national_id

    nid = parse_national_id(national_id)  # ASCII only, never truncated (isalnum() let other scripts through)
    if nid is None:
        raise BadRequest(f"a national ID is {NATIONAL_ID_RULE}", code="bad_national_id")
    invite, code = new_invite(sess, nid)
    audit.record(sess, actor=actor, action="citizen.invite", target=f"invite:{invite.id}",
                 details={"national_id": nid, "expires_at": invite.expires_at.isoformat()})
    return code, invite.expires_at


def create_enrolled_citizen(sess: Session, envelope: Envelope, national_id: str, name: str, password: str,
                            totp_secret: str) -> Citizen:
    """Operator/demo path: a citizen already enrolled (the normal path is an invite code)."""
    national_id = national_id.upper()
    citizen = sess.execute(select(Citizen).where(Citizen.national_id == national_id)).scalar_one_or_none()
    if citizen is None:
        citizen = Citizen(national_id=national_id, name=name)
        sess.add(citizen)
        sess.flush()
    citizen.name = name
    citizen.password_hash = hasher.hash(password)
    citizen.totp_secret_enc = envelope.encrypt_small(totp_secret.encode(), totp_aad(citizen.id))
    citizen.enrolled_at = utcnow()
    audit.record(sess, actor="operator", action="citizen.enrol", target=f"citizen:{citizen.id}",
                 details={"path": "operator"})
    sess.flush()
    return citizen


# ------------------------------------------------------------------------------------------------
# the citizen's documents (by national ID: documents pushed before enrolment appear too)
# ------------------------------------------------------------------------------------------------

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


def citizen_resource(citizen: Citizen) -> dict[str, Any]:
    return {"id": citizen.id, "national_id": citizen.national_id, "name": citizen.name,
            "enrolled_at": citizen.enrolled_at}
