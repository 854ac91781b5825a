"""Enrolment: identity proof (an invite code) -> a password -> a TOTP secret confirmed by a first code.

Between steps the state travels in a signed, time-limited ticket whose secrets are encrypted
(``dump_ticket`` / ``load_ticket``); nothing is stored until ``enrol_confirm``. The operator paths
(``create_invite``, ``create_reset``, ``create_enrolled_citizen``) are here too.

A reset (forgotten password, lost phone) is the same three steps with a reset code (claim method ``reset``),
which the operator issues only for an enrolled account after seeing the holder's ID card at a counter: it sets a
new password and authenticator and ends every session of the account.
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyotp
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet import audit, events
from wallet.citizens.credentials import (
    PASSWORD_PROBLEMS,
    TOTP_STEP,
    current_throttle,
    hasher,
    matching_step,
    normalise_id,
    password_problem,
    totp_aad,
)
from wallet.citizens.identity import (
    NATIONAL_ID_RULE,
    IdentityClaim,
    IdentityError,
    new_invite,
    parse_national_id,
    provider,
)
from wallet.citizens.models import Citizen, CitizenSession
from wallet.crypto import DecryptionError, Envelope
from wallet.db import utcnow
from wallet.errors import BadRequest, WalletError

ENROL_TICKET_AGE = 30 * 60
ISSUER = "Wallet"


class EnrolmentError(WalletError):
    status, code, title = 400, "invalid_enrolment", "Enrolment failed"


class NotEnrolled(WalletError):
    status, code, title = 404, "not_enrolled", "No enrolled account"


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


def enrol_start(sess: Session, national_id: str, code: str, method: str = "invite") -> Enrolment:
    """The first step: the national ID and its one-time code (``method`` invite to enrol, reset to start again).
    One answer for an unknown ID, a wrong, used or expired code, or a code of the other kind."""
    try:
        claim = provider(method).verify(sess, normalise_id(national_id), code)
    except IdentityError as exc:
        raise EnrolmentError("this national ID and enrolment code do not match a valid invitation",
                             code="invalid_invite") from exc
    return Enrolment(claim)


def enrol_password(state: Enrolment, password: str) -> Enrolment:
    problem = password_problem(password, state.claim.national_id)
    if problem:
        raise EnrolmentError(PASSWORD_PROBLEMS[problem], code="weak_password", extra={"reason": problem})
    return Enrolment(state.claim, hasher.hash(password), pyotp.random_base32())


def enrol_confirm(sess: Session, envelope: Envelope, state: Enrolment, otp: str,
                  request_id: str | None = None) -> Citizen:
    if not state.password_hash or not state.totp_secret:
        raise EnrolmentError("choose a password first", code="enrolment_expired")
    step = matching_step(state.totp_secret, otp or "", 0, utcnow())
    if step is None:
        raise EnrolmentError("the code does not match: check the time on your phone and try again",
                             code="invalid_code")
    try:
        provider(state.claim.method).consume(sess, state.claim)
    except IdentityError as exc:
        raise EnrolmentError("this enrolment code was already used or has expired", code="invalid_invite") from exc
    nid = state.claim.national_id
    reset = state.claim.method == "reset"
    citizen = sess.execute(select(Citizen).where(Citizen.national_id == nid)).scalar_one_or_none()
    if reset and (citizen is None or citizen.enrolled_at is None):  # issued only for an enrolled account
        raise EnrolmentError("this enrolment code was already used or has expired", code="invalid_invite")
    if citizen is None:
        citizen = Citizen(national_id=nid, name="")
        sess.add(citizen)
        sess.flush()
    else:  # re-enrolment (lost phone, forgotten password): every existing session ends
        sess.execute(update(CitizenSession).where(CitizenSession.citizen_id == citizen.id,
                                                  CitizenSession.ended_at.is_(None)).values(ended_at=utcnow()))
        events.publish(sess, "sessions.ended", citizen_id=citizen.id, session_ids=None)
    citizen.password_hash = state.password_hash
    citizen.totp_secret_enc = envelope.encrypt_small(state.totp_secret.encode(), totp_aad(citizen.id))
    citizen.totp_last_step = step
    citizen.enrolled_at = utcnow()
    guard = current_throttle()
    if guard is not None:  # a fresh enrolment is a way back from a spent sign-in ceiling
        guard.unlock(nid)
    audit.record(sess, actor=f"citizen:{citizen.id}", action="citizen.reset" if reset else "citizen.enrol",
                 target=f"citizen:{citizen.id}", request_id=request_id,
                 details={"path": state.claim.method, **({"code": state.claim.proof_id} if reset else {})})
    sess.flush()
    return citizen


def create_invite(sess: Session, national_id: str, actor: str = "operator",
                  name: str | None = None) -> tuple[str, dt.datetime]:
    """Operator path: a one-time enrolment code for a national ID (the clear code is returned once). ``name``: the
    person's name as the counter read it from the ID card, recorded on the (not yet enrolled) account."""
    nid = parse_national_id(national_id)  # ASCII only, never truncated (isalnum() let other scripts through)
    if nid is None:
        raise BadRequest(f"a national ID is {NATIONAL_ID_RULE}", code="bad_national_id")
    if name is not None and name.strip():
        citizen = sess.execute(select(Citizen).where(Citizen.national_id == nid)).scalar_one_or_none()
        if citizen is None:
            citizen = Citizen(national_id=nid, name="")
            sess.add(citizen)
        citizen.name = " ".join(name.split())[:200]
        sess.flush()
    invite, code = new_invite(sess, nid)
    audit.record(sess, actor=actor, action="citizen.invite", target=f"invite:{invite.id}",
                 details={"national_id": nid, "expires_at": invite.expires_at.isoformat()})
    return code, invite.expires_at


def create_reset(sess: Session, national_id: str, actor: str = "operator") -> tuple[str, dt.datetime]:
    """Operator path, at a counter after checking the ID card: a one-time reset code for an enrolled account (a new
    password and authenticator; every session ends when it is used). ``NotEnrolled`` for any other ID: nothing is
    issued, and the operator is told (the citizen is not: on the reset page an unknown ID reads like a wrong code)."""
    nid = parse_national_id(national_id)
    if nid is None:
        raise BadRequest(f"a national ID is {NATIONAL_ID_RULE}", code="bad_national_id")
    citizen = sess.execute(select(Citizen).where(Citizen.national_id == nid,
                                                 Citizen.enrolled_at.is_not(None))).scalar_one_or_none()
    if citizen is None:
        raise NotEnrolled(f"no enrolled account has the national ID {nid}: no reset code was made "
                          "(for a first enrolment, use `citizen invite`)")
    invite, code = new_invite(sess, nid, purpose="reset")
    audit.record(sess, actor=actor, action="citizen.reset_code", target=f"citizen:{citizen.id}",
                 details={"national_id": nid, "code": invite.id, "expires_at": invite.expires_at.isoformat()})
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
