"""Passkeys (WebAuthn, through ``fido2``): register, sign in with one alone, and confirm a sensitive action.

Every credential is discoverable (resident key required) and user-verified (UV required); attestation is
``none``. The relying party is the host of ``PUBLIC_BASE_URL``; browsers refuse an IP address as RP ID, so for
a loopback address (the demo's 127.0.0.1) it is ``localhost``, and both ``PUBLIC_BASE_URL``'s origin and
``http://localhost:PORT`` are accepted. Challenges are stored server-side as their SHA-256, single use, two
minutes, bound to one purpose and to the session (register, step-up) or the browser's pre-session cookie
(login). A refused answer still spends its challenge (``db.record_rejection``).

Sign counts: a count that stays 0 is normal (synced passkeys); a nonzero count that does not increase means a
cloned authenticator: refused (401), audited, and the passkey is disabled (``disabled_at``): every later answer
it signs is refused with ``passkey_disabled``; the holder sees it as "disabled — possibly copied" and removes it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticationResponse,
    AuthenticatorData,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from wallet import audit, db
from wallet.citizens.models import Citizen, Passkey, WebAuthnChallenge
from wallet.db import utcnow
from wallet.errors import BadRequest, NotFound, Unauthorized

CHALLENGE_SECONDS = 120
MAX_PASSKEYS = 10
MAX_NAME = 60
REGISTER, LOGIN, STEP_UP = "register", "login", "step_up"
RP_NAME = "Citizen wallet"


class PasskeyRejected(Unauthorized):
    code, title = "passkey_rejected", "Passkey refused"


class PasskeyDisabled(Unauthorized):
    code, title = "passkey_disabled", "Passkey disabled"


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origins: frozenset[str]


def relying_party(public_base_url: str) -> RelyingParty:
    """The RP ID and the allowed origins for ``PUBLIC_BASE_URL``."""
    parts = urlsplit(public_base_url)
    host = (parts.hostname or "localhost").lower()
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        port = f":{parts.port}" if parts.port else ""
        return RelyingParty("localhost", frozenset({origin, f"http://localhost{port}"}))
    return RelyingParty(host, frozenset({origin}))


def _server(rp: RelyingParty) -> Fido2Server:
    server = Fido2Server(PublicKeyCredentialRpEntity(name=RP_NAME, id=rp.id),
                         attestation=AttestationConveyancePreference.NONE,
                         verify_origin=lambda origin: origin in rp.origins)
    server.timeout = CHALLENGE_SECONDS * 1000  # type: ignore[assignment]
    return server


def user_handle(citizen: Citizen) -> bytes:
    """The WebAuthn user.id: the account's random id (no national ID, nothing personal)."""
    return citizen.id.encode()


def binding_of(secret: str) -> str:
    return hashlib.sha256(b"webauthn-pre:" + secret.encode()).hexdigest()


# ------------------------------------------------------------------------------------------- challenges

def _new_challenge(sess: Session, purpose: str, binding: str) -> bytes:
    now = utcnow()
    sess.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < now))
    challenge = os.urandom(32)
    sess.add(WebAuthnChallenge(id=hashlib.sha256(challenge).hexdigest(), purpose=purpose, binding=binding,
                               expires_at=now + dt.timedelta(seconds=CHALLENGE_SECONDS)))
    sess.flush()
    return challenge


def _state(challenge: bytes) -> dict[str, Any]:
    return {"challenge": websafe_encode(challenge), "user_verification": UserVerificationRequirement.REQUIRED}


def _take_challenge(sess: Session, credential: Mapping[str, Any], purpose: str, binding: str) -> dict[str, Any]:
    """The stored challenge the answer signs, spent now (kept spent even when the answer is refused)."""
    try:
        client_data = json.loads(websafe_decode(credential["response"]["clientDataJSON"]))
        challenge = websafe_decode(client_data["challenge"])
    except Exception as exc:  # noqa: BLE001 -- anything malformed from outside
        raise BadRequest("the passkey answer is malformed", code="bad_passkey_response") from exc
    key = hashlib.sha256(challenge).hexdigest()
    spent = sess.execute(delete(WebAuthnChallenge).where(
        WebAuthnChallenge.id == key, WebAuthnChallenge.purpose == purpose, WebAuthnChallenge.binding == binding,
        WebAuthnChallenge.expires_at > utcnow()).execution_options(synchronize_session=False))
    db.record_rejection(lambda s: s.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.id == key)))
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise PasskeyRejected("unknown, used or expired challenge")
    return _state(challenge)


def _options(options: Any) -> dict[str, Any]:
    return dict(options.public_key)


# ------------------------------------------------------------------------------------------- registration

def own_passkeys(sess: Session, citizen_id: str) -> list[Passkey]:
    return list(sess.execute(select(Passkey).where(Passkey.citizen_id == citizen_id)
                             .order_by(Passkey.created_at)).scalars())


def has_passkey(sess: Session, citizen_id: str) -> bool:
    """Whether the citizen has a passkey they can still use (a disabled one does not count)."""
    return sess.execute(select(Passkey.id).where(Passkey.citizen_id == citizen_id, Passkey.disabled_at.is_(None))
                        .limit(1)).first() is not None


def registration_options(sess: Session, rp: RelyingParty, citizen: Citizen, session_id: str) -> dict[str, Any]:
    existing = own_passkeys(sess, citizen.id)
    if len(existing) >= MAX_PASSKEYS:
        raise BadRequest(f"at most {MAX_PASSKEYS} passkeys", code="too_many_passkeys")
    options, _state_ = _server(rp).register_begin(
        PublicKeyCredentialUserEntity(id=user_handle(citizen), name=citizen.national_id,
                                      display_name=citizen.name or citizen.national_id),
        [PublicKeyCredentialDescriptor(type=PublicKeyCredentialType.PUBLIC_KEY, id=p.credential_id)
         for p in existing],
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement.REQUIRED,
        challenge=_new_challenge(sess, REGISTER, session_id))
    return _options(options)


def register(sess: Session, rp: RelyingParty, citizen: Citizen, session_id: str, credential: Mapping[str, Any],
             name: str, request_id: str | None = None) -> Passkey:
    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        raise BadRequest("give the passkey a name", code="bad_passkey_name")
    state = _take_challenge(sess, credential, REGISTER, session_id)
    try:
        auth_data = _server(rp).register_complete(state, RegistrationResponse.from_dict(credential))
    except Exception as exc:  # noqa: BLE001 -- fido2 raises ValueError, malformed CBOR/JSON anything else
        _refused(citizen.id, "citizen.passkey_add", str(exc), request_id)
        raise PasskeyRejected("the passkey was refused") from exc
    cred = auth_data.credential_data
    assert cred is not None  # register_complete checked it
    if sess.execute(select(Passkey.id).where(Passkey.credential_id == cred.credential_id)).first() is not None:
        raise PasskeyRejected("this passkey is already registered")
    if len(own_passkeys(sess, citizen.id)) >= MAX_PASSKEYS:
        raise BadRequest(f"at most {MAX_PASSKEYS} passkeys", code="too_many_passkeys")
    row = Passkey(citizen_id=citizen.id, credential_id=cred.credential_id, credential_data=bytes(cred), name=name,
                  sign_count=auth_data.counter, backup_eligible=auth_data.is_backup_eligible(),
                  backed_up=auth_data.is_backed_up(), created_at=utcnow())
    sess.add(row)
    sess.flush()
    audit.record(sess, actor=f"citizen:{citizen.id}", action="citizen.passkey_add", target=f"passkey:{row.id}",
                 request_id=request_id)
    return row


def remove(sess: Session, citizen: Citizen, passkey_id: str, request_id: str | None = None) -> None:
    row = sess.get(Passkey, passkey_id) if 0 < len(passkey_id) <= 64 else None
    if row is None or row.citizen_id != citizen.id:
        raise NotFound("no such passkey", code="passkey_not_found")  # others' passkeys look absent
    sess.delete(row)
    audit.record(sess, actor=f"citizen:{citizen.id}", action="citizen.passkey_remove", target=f"passkey:{row.id}",
                 request_id=request_id)
    sess.flush()


# ------------------------------------------------------------------------------------------- assertions

def assertion_options(sess: Session, rp: RelyingParty, purpose: str, binding: str,
                      citizen_id: str | None = None) -> dict[str, Any]:
    """Sign-in (no credential list: discoverable) or step-up (the citizen's own passkeys)."""
    descriptors = None
    if citizen_id is not None:
        descriptors = [PublicKeyCredentialDescriptor(type=PublicKeyCredentialType.PUBLIC_KEY, id=p.credential_id)
                       for p in own_passkeys(sess, citizen_id) if p.disabled_at is None]
    options, _state_ = _server(rp).authenticate_begin(descriptors, UserVerificationRequirement.REQUIRED,
                                                      challenge=_new_challenge(sess, purpose, binding))
    return _options(options)


def verify_assertion(sess: Session, rp: RelyingParty, credential: Mapping[str, Any], purpose: str, binding: str,
                     request_id: str | None = None) -> Passkey:
    """The passkey that signed this fresh answer (origin, RP ID, UV, signature, user handle, sign count).

    A disabled passkey: 401 ``passkey_disabled`` (told only to whoever holds its key: after the signature check).
    A sign count that went backwards: 401 ``passkey_rejected``, and the passkey is disabled."""
    state = _take_challenge(sess, credential, purpose, binding)
    try:
        answer = AuthenticationResponse.from_dict(credential)
    except Exception as exc:  # noqa: BLE001
        raise BadRequest("the passkey answer is malformed", code="bad_passkey_response") from exc
    row = sess.execute(select(Passkey).where(Passkey.credential_id == answer.raw_id)).scalar_one_or_none()
    if row is None:
        raise PasskeyRejected("unknown passkey")
    handle = answer.response.user_handle
    owner = sess.get(Citizen, row.citizen_id)
    if owner is None or owner.enrolled_at is None or (handle is not None and handle != user_handle(owner)) \
            or (handle is None and purpose == LOGIN):
        _refused(row.citizen_id, "citizen.passkey_use", "user handle mismatch", request_id)
        raise PasskeyRejected("the passkey was refused")
    try:
        _server(rp).authenticate_complete(state, [AttestedCredentialData(row.credential_data)], answer)
    except Exception as exc:  # noqa: BLE001
        _refused(row.citizen_id, "citizen.passkey_use", str(exc), request_id)
        raise PasskeyRejected("the passkey was refused") from exc
    if row.disabled_at is not None:
        _refused(row.citizen_id, "citizen.passkey_use", "disabled passkey", request_id)
        raise PasskeyDisabled("this passkey is disabled: it may have been copied")
    auth_data: AuthenticatorData = answer.response.authenticator_data
    if (auth_data.counter or row.sign_count) and auth_data.counter <= row.sign_count:
        _refused(row.citizen_id, "citizen.passkey_use", "sign count did not increase: possible clone", request_id,
                 clone=True)
        _disable(row.id, row.citizen_id, request_id)
        raise PasskeyRejected("the passkey was refused")
    row.sign_count = auth_data.counter
    row.backed_up = auth_data.is_backed_up()
    row.last_used_at = utcnow()
    return row


def _disable(passkey_id: str, citizen_id: str, request_id: str | None) -> None:
    """Disable a passkey whose answer looked cloned: kept whatever becomes of the refused request."""

    def write(s: Session) -> None:
        done = s.execute(update(Passkey).where(Passkey.id == passkey_id, Passkey.disabled_at.is_(None))
                         .values(disabled_at=utcnow()).execution_options(synchronize_session=False))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            audit.record(s, actor="system", action="citizen.passkey_disable", target=f"passkey:{passkey_id}",
                         request_id=request_id, details={"citizen": citizen_id, "reason": "possible clone"})

    db.record_rejection(write)


def _refused(citizen_id: str, action: str, reason: str, request_id: str | None, clone: bool = False) -> None:
    details = {"reason": reason[:200], **({"clone": True} if clone else {})}
    db.record_rejection(lambda s: audit.record(s, actor="anonymous", action=action, outcome="passkey_rejected",
                                               target=f"citizen:{citizen_id}", request_id=request_id,
                                               details=details))
