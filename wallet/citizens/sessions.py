"""Citizens' server-side sessions: start (a new id at every sign-in), find, expire, end.

The cookie holds a random secret; a row's id is its SHA-256 (``session_key``), so a database leak gives no
usable session. The cookie and CSRF glue around these functions is ``wallet.citizens.auth``'s.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from wallet import audit, events
from wallet.citizens.models import Citizen, CitizenSession
from wallet.db import utcnow
from wallet.network import truncate_ip


def session_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(sess: Session, citizen: Citizen, user_agent: str | None,
                  previous_secret: str | None = None, ip: str | None = None) -> tuple[str, CitizenSession]:
    """A new session (new id: rotated at every login); the previous one on this device ends. Of the client's
    address only its network is kept (``ip_prefix``), for the holder's "where you are signed in" page."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    row = CitizenSession(id=session_key(secret), citizen_id=citizen.id, csrf_token=secrets.token_urlsafe(32),
                         created_at=now, last_seen_at=now, authenticated_at=now,
                         user_agent=(user_agent or "")[:200] or None, ip_prefix=truncate_ip(ip))
    sess.add(row)
    if previous_secret:
        old = sess.get(CitizenSession, session_key(previous_secret))
        if old is not None:
            if old.ended_at is None:
                old.ended_at = now
            # the same citizen again on this device keeps what they turned on here; someone else ends it
            events.publish(sess, "sessions.ended", citizen_id=old.citizen_id, session_ids=[old.id],
                           successor=row.id if old.citizen_id == citizen.id else None)
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
        events.publish(sess, "sessions.ended", citizen_id=row.citizen_id, session_ids=[row.id])
    sess.flush()


def end_all_sessions(sess: Session, citizen_id: str, request_id: str | None = None) -> int:
    done = sess.execute(update(CitizenSession).where(CitizenSession.citizen_id == citizen_id,
                                                     CitizenSession.ended_at.is_(None))
                        .values(ended_at=utcnow()).execution_options(synchronize_session="fetch"))
    audit.record(sess, actor=f"citizen:{citizen_id}", action="citizen.logout_everywhere",
                 target=f"citizen:{citizen_id}", request_id=request_id)
    events.publish(sess, "sessions.ended", citizen_id=citizen_id, session_ids=None)
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def active_sessions(sess: Session, citizen_id: str, limits: SessionLimits) -> list[CitizenSession]:
    now = utcnow()
    rows = sess.execute(select(CitizenSession).where(CitizenSession.citizen_id == citizen_id,
                                                     CitizenSession.ended_at.is_(None))
                        .order_by(CitizenSession.last_seen_at.desc())).scalars().all()
    return [r for r in rows if now - r.last_seen_at <= limits.idle and now - r.created_at <= limits.absolute]


HANDLE_LENGTH = 16


def session_handle(row: CitizenSession) -> str:
    """How a page names one of the citizen's sessions (a prefix of its id, itself a hash: nothing to replay)."""
    return row.id[:HANDLE_LENGTH]


def end_own_session(sess: Session, citizen_id: str, handle: str, request_id: str | None = None) -> bool:
    """End the citizen's live session named ``handle``; False when there is none (another citizen's: none)."""
    if len(handle) != HANDLE_LENGTH or not all(c in "0123456789abcdef" for c in handle):
        return False
    rows = sess.execute(select(CitizenSession).where(CitizenSession.citizen_id == citizen_id,
                                                     CitizenSession.ended_at.is_(None))).scalars().all()
    row = next((r for r in rows if r.id.startswith(handle)), None)
    if row is None:
        return False
    row.ended_at = utcnow()
    audit.record(sess, actor=f"citizen:{citizen_id}", action="citizen.session_end", target=f"citizen:{citizen_id}",
                 request_id=request_id)
    events.publish(sess, "sessions.ended", citizen_id=citizen_id, session_ids=[row.id])
    sess.flush()
    return True
