"""Citizen credentials: passwords (argon2id, the refusal rules), TOTP codes, and sign-in itself.

``authenticate`` is the one sign-in check (national ID + password + a TOTP code used once), with one answer,
``InvalidCredentials``, for every kind of failure and the same argon2 work for an unknown ID. Sign-in
throttling (per ID and client address, only failures counted; ``citizen unlock``) is ``throttle.py``'s.
"""
from __future__ import annotations

import datetime as dt
import hmac
from functools import lru_cache
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import has_app_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet import audit, db
from wallet.citizens.models import Citizen
from wallet.crypto import Envelope
from wallet.db import utcnow
from wallet.errors import BadRequest, Unauthorized
from wallet.extensions import runtime
from wallet.throttle import LoginThrottle, client_bucket

hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_DUMMY_HASH = hasher.hash("not a real password: equalises timing for unknown national IDs")

TOTP_STEP = 30
MIN_PASSWORD = 10
MAX_PASSWORD = 256


class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "Invalid credentials"


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


PASSWORD_PROBLEMS = {  # the detail of a weak_password refusal, by password_problem's reason
    "too_short": f"the password must have at least {MIN_PASSWORD} characters",
    "too_long": f"the password must have at most {MAX_PASSWORD} characters",
    "too_common": "this password is too common: choose another one",
    "contains_id": "the password must not contain your national ID number",
}


# a code typed on an Arabic keyboard: Arabic-Indic and Extended (Persian) Arabic-Indic digits read as 0-9
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def matching_step(secret: str, code: str, last_step: int, now: dt.datetime) -> int | None:
    """The TOTP time step ``code`` belongs to (±1 step of clock drift), if later than ``last_step``."""
    code = "".join(code.split()).translate(_ARABIC_DIGITS)
    if len(code) != 6 or not (code.isascii() and code.isdigit()):  # "¹²³⁴⁵⁶" is isdigit(); compare_digest refuses it
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

    With ``throttle`` (rate limits on), the budgets of ``wallet.throttle`` apply, keyed by the
    normalised ID string and the client address (``address``, default: the request's): the same delays for an
    enrolled ID and an unknown one, only failures counted, and the right credentials from an address that has
    not failed always pass, unless the ID's ceiling across all addresses is spent.
    """
    now = now or utcnow()
    nid = normalise_id(national_id)
    guard = current_throttle() if throttle else None
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
    target = f"citizen:{citizen.id}" if citizen is not None else "citizen:unknown"
    details = {"national_id": nid, "address": bucket, **({"ceiling_reached": True} if ceiling else {})}
    db.record_rejection(lambda s: audit.record(s, actor="anonymous", action="citizen.login",
                                               outcome="invalid_credentials", target=target,
                                               request_id=request_id, details=details))
    raise InvalidCredentials("national ID, password or code is wrong")


def current_throttle() -> LoginThrottle | None:
    """This app's sign-in throttle, or None outside an app (unit tests of the rules) or with rate limits off."""
    return runtime().sign_in_throttle if has_app_context() else None


def unlock_login(sess: Session, national_id: str, actor: str = "operator") -> str:
    """Operator path: every sign-in failure count of the ID (its ceiling, every address) starts again from zero."""
    nid = normalise_id(national_id)
    if not nid.isalnum() or not 4 <= len(nid) <= 32:
        raise BadRequest("a national ID is 4 to 32 letters and digits", code="bad_national_id")
    runtime().login_throttle.unlock(nid)
    citizen = sess.execute(select(Citizen).where(Citizen.national_id == nid)).scalar_one_or_none()
    audit.record(sess, actor=actor, action="citizen.unlock",
                 target=f"citizen:{citizen.id}" if citizen is not None else "citizen:unknown",
                 details={"national_id": nid})
    return nid
