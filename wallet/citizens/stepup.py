"""Step-up: a sensitive action (sharing a sensitive document type, granting a proxy, adding or removing a
passkey) needs an authentication within the last ``STEP_UP_SECONDS``: the sign-in itself, a one-time code or a
passkey. Otherwise ``401 step_up_required`` names the methods the citizen can use (``otp``, and ``passkey`` when
they have one); ``POST /api/v1/auth/step-up`` records a fresh one on the session.

A TOTP code is spent like at sign-in (``Citizen.totp_last_step`` only moves forward): the code that signed in
cannot be replayed to step up.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.orm import Session

from wallet import audit, db
from wallet.citizens import passkeys
from wallet.citizens.credentials import InvalidCredentials, matching_step, totp_aad
from wallet.citizens.models import Citizen, CitizenSession
from wallet.crypto import Envelope
from wallet.db import utcnow
from wallet.errors import Unauthorized
from wallet.extensions import runtime


class StepUpRequired(Unauthorized):
    code, title = "step_up_required", "Confirm it is you"


def last_authentication(row: CitizenSession) -> dt.datetime:
    """The session's latest authentication (sessions older than step-up: their start)."""
    return max(t for t in (row.authenticated_at, row.stepped_up_at, row.created_at) if t is not None)


def methods(sess: Session, citizen_id: str) -> list[str]:
    return ["otp", "passkey"] if passkeys.has_passkey(sess, citizen_id) else ["otp"]


def require_recent_auth(row: CitizenSession, *, now: dt.datetime | None = None) -> None:
    """Raise ``StepUpRequired`` unless the session authenticated within the last ``STEP_UP_SECONDS``."""
    now = now or utcnow()
    if now - last_authentication(row) <= dt.timedelta(seconds=runtime().settings.step_up_seconds):
        return
    raise StepUpRequired("confirm it is you: a one-time code or a passkey",
                         extra={"methods": methods(db.session(), row.citizen_id)})


def require_for_types(row: CitizenSession, types: Iterable[str]) -> None:
    """Step-up when any of ``types`` is a sensitive document type (setting ``STEP_UP_TYPES``)."""
    if set(types) & set(runtime().settings.step_up_types):
        require_recent_auth(row)


def stepped_up(sess: Session, row: CitizenSession, method: str, request_id: str | None = None) -> None:
    row.stepped_up_at = utcnow()
    audit.record(sess, actor=f"citizen:{row.citizen_id}", action="citizen.step_up", target=f"citizen:{row.citizen_id}",
                 request_id=request_id, details={"method": method})
    sess.flush()


def step_up_with_otp(sess: Session, envelope: Envelope, citizen: Citizen, row: CitizenSession, otp: str,
                     request_id: str | None = None) -> None:
    """A fresh TOTP code (each code once, the sign-in's included) steps the session up; else 401."""
    step = None
    if citizen.totp_secret_enc is not None:
        secret = envelope.decrypt_small(citizen.totp_secret_enc, totp_aad(citizen.id)).decode()
        step = matching_step(secret, otp, citizen.totp_last_step, utcnow())
    if step is not None:
        claimed = sess.execute(update(Citizen).where(Citizen.id == citizen.id, Citizen.totp_last_step < step)
                               .values(totp_last_step=step).execution_options(synchronize_session=False))
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            sess.refresh(citizen)
            stepped_up(sess, row, "otp", request_id)
            return
    db.record_rejection(lambda s: audit.record(s, actor=f"citizen:{citizen.id}", action="citizen.step_up",
                                               outcome="invalid_credentials", target=f"citizen:{citizen.id}",
                                               request_id=request_id, details={"method": "otp"}))
    raise InvalidCredentials("the code is wrong or already used")
