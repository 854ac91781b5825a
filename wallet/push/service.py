"""Subscriptions (a citizen's browsers) and who is told of what.

A subscription is the browser's PushSubscription JSON: its endpoint (checked by ``wallet.push.endpoints``) and
keys (``p256dh``: a P-256 point, uncompressed, 65 bytes; ``auth``: 16 bytes), stored with the page language it
was made in (the language its notifications are shown in). One browser is one row (by endpoint): subscribing a
browser already subscribed by someone else moves it to the new citizen, so a shared device never tells the
previous user's news. A citizen has at most ``MAX_PER_CITIZEN`` browsers (``push_subscriptions_full``).

Recipients: a document's holder and, for a holder under guardianship, the guardians in force (the people who
hold a minor's documents in their wallet; proxies are not told: a mandate is the grantor's choice to share, not
to follow); a share's views: the citizen who made the share.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from wallet.citizens.models import Citizen, Guardianship
from wallet.citizens.representation import superseded
from wallet.db import utcnow
from wallet.errors import BadRequest, Conflict
from wallet.present import DEFAULT_LANGUAGE, LANGUAGE_CODES
from wallet.push import endpoints
from wallet.push.models import PushSubscription

__all__ = ["MAX_PER_CITIZEN", "Recipient", "subscribe", "unsubscribe", "signed_out", "known_endpoints",
           "document_recipients", "citizen_recipients"]

MAX_PER_CITIZEN = 10


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()


def _key(value: object, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) > 200:
        raise BadRequest(f"keys.{what} must be base64url text", code="push_key_invalid")
    try:
        raw = base64.urlsafe_b64decode(value.strip().rstrip("=") + "=" * (-len(value.strip().rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"keys.{what} must be base64url text", code="push_key_invalid") from exc
    if len(raw) != size:
        raise BadRequest(f"keys.{what} must be {size} bytes", code="push_key_invalid")
    return raw


def client_keys(p256dh: object, auth: object) -> tuple[bytes, bytes]:
    """The subscription's keys, checked: a point on P-256 (uncompressed) and a 16-byte secret."""
    point, secret = _key(p256dh, 65, "p256dh"), _key(auth, 16, "auth")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise BadRequest("keys.p256dh is not a P-256 public key", code="push_key_invalid") from exc
    return point, secret


def subscribe(sess: Session, citizen: Citizen, endpoint: str, p256dh: object, auth: object, lang: str | None,
              allowed: tuple[str, ...], session_id: str | None = None) -> PushSubscription:
    """This browser tells ``citizen`` (until ``session_id``, the sign-in session it was turned on in, ends)."""
    endpoints.check(endpoint, allowed)
    point, secret = client_keys(p256dh, auth)
    lang = lang if lang in LANGUAGE_CODES else DEFAULT_LANGUAGE
    digest = endpoint_hash(endpoint)
    row = sess.execute(select(PushSubscription).where(PushSubscription.endpoint_hash == digest)).scalar_one_or_none()
    if row is None or row.citizen_id != citizen.id:
        count = sess.execute(select(func.count()).select_from(PushSubscription)
                             .where(PushSubscription.citizen_id == citizen.id)).scalar_one()
        if count >= MAX_PER_CITIZEN:
            raise Conflict(f"at most {MAX_PER_CITIZEN} browsers receive notifications: turn them off on one first",
                           code="push_subscriptions_full")
    if row is None:
        row = PushSubscription(citizen_id=citizen.id, endpoint_hash=digest, endpoint=endpoint, p256dh=point,
                               auth=secret, lang=lang, created_at=utcnow(), session_id=session_id)
        sess.add(row)
    else:  # the same browser again (new keys, another language), or another citizen's browser now
        row.citizen_id, row.p256dh, row.auth, row.lang = citizen.id, point, secret, lang
        row.session_id = session_id
    sess.flush()
    return row


def signed_out(sess: Session, citizen_id: str, session_ids: list[str] | None, successor: str | None = None) -> None:
    """Forget the browsers turned on in these sessions (None: every browser of the citizen), or hand them to
    ``successor`` (the same citizen signed in again on that device)."""
    where = [PushSubscription.citizen_id == citizen_id]
    if session_ids is not None:
        where.append(PushSubscription.session_id.in_(session_ids))
    if successor is not None and session_ids is not None:
        sess.execute(update(PushSubscription).where(*where).values(session_id=successor),
                     execution_options={"synchronize_session": False})
        return
    sess.execute(delete(PushSubscription).where(*where), execution_options={"synchronize_session": False})


def known_endpoints(sess: Session, citizen_id: str) -> list[str]:
    """The endpoint hashes of the citizen's browsers (the wallet page tells its own browser whether it is one)."""
    return list(sess.execute(select(PushSubscription.endpoint_hash)
                             .where(PushSubscription.citizen_id == citizen_id)).scalars())


def unsubscribe(sess: Session, citizen: Citizen, endpoint: str) -> None:
    """Forget this browser of the citizen's (nothing if it is not theirs: the same 204)."""
    sess.execute(delete(PushSubscription).where(PushSubscription.citizen_id == citizen.id,
                                                PushSubscription.endpoint_hash == endpoint_hash(endpoint)),
                 execution_options={"synchronize_session": False})


@dataclass(frozen=True)
class Recipient:
    subscription_id: str
    lang: str
    held_as: str | None  # None: their own; "guardian": a minor's document


def _subscriptions(sess: Session, national_ids: list[str]) -> list[tuple[str, str, str]]:
    rows = sess.execute(select(PushSubscription.id, PushSubscription.lang, Citizen.national_id)
                        .join(Citizen, Citizen.id == PushSubscription.citizen_id)
                        .where(Citizen.national_id.in_(national_ids)).order_by(PushSubscription.created_at))
    return [(r[0], r[1], r[2]) for r in rows]


def guardians(sess: Session, minor_id: str) -> list[str]:
    """The national IDs of the guardians in force of ``minor_id`` (a later court order supersedes)."""
    today = utcnow().date()
    rows = sess.execute(select(Guardianship).where(Guardianship.minor_id == minor_id,
                                                   Guardianship.revoked_at.is_(None),
                                                   Guardianship.valid_until >= today)).scalars()
    return sorted({g.guardian_id for g in rows if not superseded(sess, g, today)})


def document_recipients(sess: Session, holder_id: str) -> list[Recipient]:
    """The browsers told of a document of ``holder_id`` (a national ID): the holder's and their guardians'."""
    keepers = guardians(sess, holder_id)
    return [Recipient(sid, lang, None if nid == holder_id else "guardian")
            for sid, lang, nid in _subscriptions(sess, [holder_id, *keepers])]


def citizen_recipients(sess: Session, citizen_id: str) -> list[Recipient]:
    rows = sess.execute(select(PushSubscription.id, PushSubscription.lang)
                        .where(PushSubscription.citizen_id == citizen_id).order_by(PushSubscription.created_at))
    return [Recipient(r[0], r[1], None) for r in rows]
