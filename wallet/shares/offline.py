"""Offline verification, the wallet's side: each shared document's signed QR payload and its Token Status List entry.

The formats are ``signing.offline``'s. Each share item gets an index drawn at random among the free ones of the
current status list (no ordering leak); its bit is 1 when the share was revoked (by the holder, or because the
guardianship or mandate it was made under ended) or the document was revoked or replaced. A list is built from
the database on every request (a flip shows at once, whichever process answers); the signed token is reused while
the revoked set is unchanged, for at most ``STATUS_CACHE_SECONDS``.
"""
from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signing.offline import EXP, IAT, ISS, STATUS, fit_payload, status_bits
from wallet.documents.models import Document
from wallet.extensions import Runtime
from wallet.present import DISPLAY_TIMEZONE
from wallet.shares.models import Share, ShareItem

LIST_SIZE = 131_072  # entries per list (16 KiB raw)
#: a list takes new entries until it is this full, so that random draws stay cheap and indices stay spread out
LIST_FILL = LIST_SIZE // 2
STATUS_CACHE_SECONDS = 20.0
STATUS_LIFETIME = 3600  # the status list JWT's exp - iat


def status_uri(rt: Runtime, list_id: int) -> str:
    return f"{rt.settings.public_base_url.rstrip('/')}/api/v1/status-lists/{list_id}"


def assign_indices(sess: Session, count: int) -> list[tuple[int, int]]:
    """``count`` free (list, index) pairs drawn at random in the current list (a new list once it is half full).
    The unique index on (status_list, status_idx) is the last word against a concurrent draw of the same one:
    ``create_share`` then draws again (``is_status_collision``)."""
    current = sess.execute(select(func.max(ShareItem.status_list))).scalar() or 1
    used = sess.execute(select(func.count()).select_from(ShareItem)
                        .where(ShareItem.status_list == current)).scalar() or 0
    if used + count > LIST_FILL:
        current, used = current + 1, 0
    chosen: set[int] = set()
    while len(chosen) < count:
        candidates = {secrets.randbelow(LIST_SIZE) for _ in range(2 * count)} - chosen
        taken = set(sess.execute(select(ShareItem.status_idx).where(
            ShareItem.status_list == current, ShareItem.status_idx.in_(candidates))).scalars())
        chosen.update(list(candidates - taken)[: count - len(chosen)])
    return [(current, i) for i in secrets.SystemRandom().sample(sorted(chosen), len(chosen))]


def is_status_collision(exc: IntegrityError) -> bool:
    """True when ``exc`` is the unique (status_list, status_idx) index refusing an entry another share took."""
    text = str(exc.orig)
    return "ix_share_items_status" in text or "share_items.status_list" in text  # PostgreSQL's words, SQLite's


def _date(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(DISPLAY_TIMEZONE).date().isoformat()


def _seconds(value: dt.datetime) -> int:
    return int((value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp())


def payload_text(rt: Runtime, url: str, share: Share, doc: Document, holder_name: str, status: tuple[int, int],
                 agency_code: str, now: dt.datetime) -> str:
    """The QR text of one shared document: ``url#base64url(COSE_Sign1)``, at most 600 bytes (the names cut)."""
    claims: dict[Any, Any] = {
        ISS: rt.settings.public_base_url.rstrip("/"), EXP: _seconds(share.expires_at), IAT: _seconds(now),
        "doc": {"typ": doc.type, "agc": agency_code, "hnm": holder_name, "hid": doc.holder_id,
                "isd": _date(doc.issued_at), "exd": _date(doc.expires_at), "sha": bytes.fromhex(doc.sha256)},
        STATUS: {"status_list": {"idx": status[1], "uri": status_uri(rt, status[0])}},
    }
    if share.presented_as and share.presented_by_name:
        claims["pby"] = {"name": share.presented_by_name, "role": share.presented_as}
    text, _ = fit_payload(rt.offline, url, claims)
    return text


def revoked_indices(sess: Session, list_id: int, now: dt.datetime) -> list[int]:
    """Indices of ``list_id`` whose share was revoked or whose document was revoked or replaced (expiry is the
    payload's ``exp``: not a flip). Entries of shares long expired stay as they are."""
    rows = sess.execute(
        select(ShareItem.status_idx).join(Share, Share.id == ShareItem.share_id)
        .join(Document, Document.id == ShareItem.document_id)
        .where(ShareItem.status_list == list_id,
               or_(Share.revoked_at.is_not(None), Document.status.in_(("revoked", "replaced"))))).scalars()
    return [i for i in rows if i is not None]


def list_ids(sess: Session) -> list[int]:
    """Every status list that holds at least one entry, in order (the index relying parties sync from)."""
    found = sess.execute(select(ShareItem.status_list).where(ShareItem.status_list.is_not(None))
                         .distinct().order_by(ShareItem.status_list)).scalars()
    return [n for n in found if n is not None]


def list_exists(sess: Session, list_id: int) -> bool:
    return sess.execute(select(ShareItem.id).where(ShareItem.status_list == list_id).limit(1)).first() is not None


def status_list_jwt(rt: Runtime, sess: Session, list_id: int) -> str | None:
    """The signed list (``statuslist+jwt``), or None when no entry was ever drawn in it.

    The revoked indices are read from the database on every request, so every process answers a flip at once
    (a cache per process alone let one worker serve a stale list while another served the new one); only the
    compressed, signed token is reused while the revoked set is unchanged, for ``STATUS_CACHE_SECONDS``."""
    now = dt.datetime.now(dt.UTC)
    revoked = revoked_indices(sess, list_id, now)
    if not revoked and not list_exists(sess, list_id):
        return None
    fingerprint = hash(tuple(sorted(revoked)))
    hit = rt.status_cache.get(list_id)
    if hit is not None and hit[0] == fingerprint and time.monotonic() - hit[1] < STATUS_CACHE_SECONDS:
        return hit[2]
    bits = status_bits(LIST_SIZE, revoked)
    jwt = rt.offline.status_list_jwt(status_uri(rt, list_id), bits, now, lifetime=STATUS_LIFETIME)
    rt.status_cache[list_id] = (fingerprint, time.monotonic(), jwt)
    return jwt


