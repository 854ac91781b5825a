"""Shares: a time-limited, optionally view-limited link to one or more of a citizen's documents.

Each share gets its sealed copies made ONCE, at creation: the original plus one incremental update (the
platform's visible, timestamped PAdES seal carrying the QR code), encrypted into the blob store like every
other blob. An original certified "no changes" (DocMDP P=1) cannot take the seal: it is served unchanged
and a separate sealed verification sheet carries the QR code (``copy_kind = "sheet"``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Protocol, cast

from qrcode import QRCode
from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, lazyload, undefer

from signing.seal import SealingError, SealText, qr_code
from wallet import audit, db
from wallet.citizens.models import Citizen
from wallet.citizens.representation import Grant, grants_for, representative_name
from wallet.crypto import Sealed
from wallet.db import new_id, utcnow
from wallet.documents.models import Document
from wallet.documents.service import Damaged, effective_status, read_original
from wallet.errors import BadRequest, Conflict, Forbidden, NotFound, Unavailable
from wallet.extensions import Runtime
from wallet.present import LANGUAGE_CODES, moment, qr_svg, type_name
from wallet.shares import codes, offline
from wallet.shares.models import CopyKind, Share, ShareItem, ShareView
from wallet.shares.tokens import new_token, token_hash

log = logging.getLogger("wallet.shares")

MIN_LIFETIME = 60
MAX_LIFETIME = 30 * 24 * 3600
DEFAULT_LIFETIME = 600
#: attempts at a share's INSERT when a concurrent share took a status index drawn for it (each draws again)
STATUS_TRIES = 5
MAX_DOCUMENTS = 10
MAX_VIEWS = 10_000
#: document statuses that cannot be shared (409 document_not_shareable)
UNSHAREABLE = frozenset({"revoked", "expired", "replaced"})


def share_url(rt: Runtime, token: str) -> str:
    return rt.settings.public_base_url.rstrip("/") + "/v/" + token


def copy_aad(share_id: str, item_id: str) -> str:
    return f"share:{share_id}:item:{item_id}:copy"




@dataclass(frozen=True)
class CreatedShare:
    share: Share
    token: str  # shown to the holder once, never stored
    url: str
    qr_svg: str  # the first document's QR code (the one its sealed copy carries), for the share screen
    qr_texts: tuple[str, ...] = ()  # per document: the link + '#' + its signed offline payload (each copy's QR)
    code: str | None = None  # counter shares: 12 digits (Luhn check digit last), shown once, stored hashed


_INSERT_SHARE = insert(Share)  # built once (statement construction costs more than the round trip)
_INSERT_ITEM = insert(ShareItem)
# built once; without what a share never reads (the validation report is the largest JSON of the row) and
# without the issuer's row (only a verification sheet names it: loaded then)
_OWNED = select(Document).where(Document.id.in_(bindparam("ids", expanding=True))).options(
    defer(Document.validation, raiseload=True), defer(Document.attributes, raiseload=True), lazyload(Document.agency))


@dataclass(frozen=True)
class Basis:
    """Whose documents a share holds and on what basis: the maker's own (grant None) or a represented person's."""

    holder_national_id: str
    holder_name: str
    grant: Grant | None = None


def _owned_documents(sess: Session, citizen: Citizen, document_ids: Sequence[str]) -> tuple[list[Document], Basis]:
    ids = list(dict.fromkeys(document_ids))  # de-duplicated, order kept
    if len(ids) > MAX_DOCUMENTS:
        raise BadRequest(f"a share holds at most {MAX_DOCUMENTS} documents", code="too_many_documents")
    found = {d.id: d for d in sess.execute(_OWNED, {"ids": ids}).scalars()} if ids else {}
    grants: dict[str, Grant] | None = None
    docs: list[Document] = []
    bases: set[Basis] = set()
    for doc_id in ids:
        doc = found.get(doc_id)
        grant = None
        if doc is not None and doc.holder_id != citizen.national_id:
            if grants is None:
                grants = {g.holder_national_id: g for g in grants_for(sess, citizen)}
            grant = grants.get(doc.holder_id)
            if grant is None or not grant.covers(doc.type):
                doc = None
        if doc is None:
            raise NotFound("no such document", code="document_not_found")  # others' documents look absent
        if grant is not None and not grant.can_share:
            raise Forbidden("this proxy may see these documents but not share them", code="share_not_permitted")
        bases.add(Basis(grant.holder_national_id, grant.holder_name, grant) if grant
                  else Basis(citizen.national_id, citizen.name))
        status = effective_status(doc)
        if status in UNSHAREABLE:
            # nobody should be handed a link to a document that no longer holds (a share made earlier tells the
            # truth about it: "document_revoked" / "document_expired")
            raise Conflict(f"document {doc.id} is {status}: it cannot be shared", code="document_not_shareable",
                           extra={"document_id": doc.id, "document_status": str(status)})
        docs.append(doc)
    if len(bases) > 1:
        raise BadRequest("one share holds the documents of one person", code="mixed_holders")
    return docs, (bases.pop() if bases else Basis(citizen.national_id, citizen.name))


def create_share(rt: Runtime, sess: Session, citizen: Citizen, document_ids: Sequence[str], *,
                 expires_in: int = DEFAULT_LIFETIME, max_views: int | None = None, label: str | None = None,
                 allow_download: bool = False, request_id: str | None = None,
                 before: Callable[[list[Document]], None] | None = None) -> CreatedShare:
    """``before``: called with the documents once they are known to be shareable (the view's step-up check)."""
    docs, basis = _owned_documents(sess, citizen, document_ids)
    if before is not None:
        before(docs)
    grant = basis.grant
    token = new_token()
    url = share_url(rt, token)
    now = utcnow()
    share = Share(id=new_id(), citizen_id=citizen.id, token_hash=token_hash(token), label=label or None,
                  allow_download=allow_download, max_views=max_views, views_used=0, created_at=now,
                  expires_at=now + dt.timedelta(seconds=expires_in))
    if grant is not None:  # made by a representative: ends with the record it was made under
        share.holder_national_id, share.holder_name = basis.holder_national_id, basis.holder_name
        share.presented_as, share.presented_by_name = grant.access, representative_name(sess, citizen, grant)
        share.guardianship_id, share.mandate_id = grant.guardianship_id, grant.mandate_id
    text = SealText(url=url, valid_until=share.expires_at,  # the stamp's dates in Morocco's time, per language
                    valid_until_labels={code: moment(share.expires_at, code) for code in LANGUAGE_CODES})
    code = None
    if expires_in <= codes.MAX_CODE_LIFETIME:  # a counter share: also a 12-digit code to read out or type
        code, share.code_hash = codes.new_code(sess, rt.settings.secret_key)
    item_ids = [new_id() for _ in docs]  # kept across a retry: its copies overwrite the same blob keys
    for key in (f"shares/{share.id}/{item_id}" for item_id in item_ids):
        db.on_rollback(partial(rt.store.delete, key))
    writes: list[Future[None]] = []
    try:
        for attempt in range(1, STATUS_TRIES + 1):
            wait(writes)  # a retry rewrites the same blob keys: the last attempt's writes land first
            statuses = offline.assign_indices(sess, len(docs))
            qr_texts, first_qr, writes = _build_items(rt, share, docs, item_ids, statuses, basis.holder_name, url,
                                                      text, now)
            try:
                # two Core INSERTs (the rows as built above; the objects stay transient and serve the response) while
                # the blobs are written; in a savepoint: a concurrent share that drew the same status index first
                # (between our draw and our INSERT) fails only this attempt, and the next one draws again
                with sess.begin_nested():
                    conn = sess.connection()
                    conn.execute(_INSERT_SHARE, {c.name: getattr(share, c.name) for c in Share.__table__.columns})
                    conn.execute(_INSERT_ITEM, [{c.name: getattr(item, c.name) for c in ShareItem.__table__.columns}
                                                for item in share.items])
                break
            except IntegrityError as exc:
                if not offline.is_status_collision(exc):
                    raise
                log.info("share %s: a concurrent share took the status index drawn (attempt %d of %d)", share.id,
                         attempt, STATUS_TRIES)
                if attempt == STATUS_TRIES:
                    raise Unavailable("no free status list entry could be taken: try again",
                                      code="status_index_busy") from exc
    finally:
        wait(writes)  # never leave a write running behind a rollback's delete
    for done in writes:
        done.result()  # a failed write fails the share (the rollback deletes what was written)
    audit.record(sess, actor=f"citizen:{citizen.id}", action="share.create", target=f"share:{share.id}",
                 request_id=request_id, details={"documents": [d.id for d in docs], "expires_at": share.expires_at
                                                 .isoformat(), "max_views": max_views,
                                                 "allow_download": allow_download,
                                                 **({"as": grant.access, "holder": basis.holder_national_id,
                                                     "guardianship": grant.guardianship_id,
                                                     "mandate": grant.mandate_id} if grant else {})})
    assert first_qr is not None  # a share holds at least one document
    return CreatedShare(share, token, url, qr_svg(first_qr.get_matrix()), tuple(qr_texts), code)


def _build_items(rt: Runtime, share: Share, docs: list[Document], item_ids: list[str],
                 statuses: list[tuple[int, int]], holder_name: str, url: str, text: SealText,
                 now: dt.datetime) -> tuple[list[str], QRCode | None, list[Future[None]]]:
    """The share's items with their status entries, signed QR texts and sealed copies, whose blob writes run in
    threads. -> (the QR texts, the first document's QR, the writes to wait for)."""
    share.items = []
    qr_texts: list[str] = []
    first_qr: QRCode | None = None
    writes: list[Future[None]] = []
    try:
        for position, doc in enumerate(docs):
            item = ShareItem(id=item_ids[position], share_id=share.id, document_id=doc.id, position=position)
            item.document = doc
            item.status_list, item.status_idx = statuses[position]
            # the document's QR: the link, and its signed payload after '#' (the copy's stamp draws it)
            qr_texts.append(offline.payload_text(rt, url, share, doc, holder_name, statuses[position],
                                                 doc.agency.code, now))
            qr = qr_code(qr_texts[-1])
            first_qr = first_qr or qr
            copy, item.copy_kind = _make_copy(rt, doc, text, qr)
            sealed = rt.envelope.encrypt(copy, copy_aad(share.id, item.id))
            key = f"shares/{share.id}/{item.id}"
            # the blob write (fsync or network) runs while the next copy is sealed and the rows are inserted
            writes.append(_blob_writer().submit(rt.store.put, key, sealed.ciphertext))
            item.copy_blob_key, item.copy_wrapped_key = key, sealed.wrapped_key
            item.copy_sha256 = hashlib.sha256(copy).hexdigest()
            share.items.append(item)
    except BaseException:
        wait(writes)  # never leave a write running behind a rollback's delete
        raise
    return qr_texts, first_qr, writes


@lru_cache(maxsize=1)
def _blob_writer() -> ThreadPoolExecutor:
    """Threads for blob writes that overlap the database work (made on first use: after gunicorn's fork)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="share-blob")


def _make_copy(rt: Runtime, doc: Document, text: SealText, qr: QRCode) -> tuple[bytes, CopyKind]:
    original = read_original(rt, doc)
    sealer = rt.sealer
    try:  # seal() checks what can_seal() would, on the one parse it needs anyway
        return sealer.seal(original, text, qr=qr), "sealed"
    except SealingError:
        pass  # certified "no changes", or unsealable: a sealed verification sheet instead
    try:
        sheet = sealer.verification_sheet(
            text, title=type_name(doc.type, "fr"), sha256=doc.sha256,
            issuer=doc.agency.name, holder=doc.holder_id, qr=qr)
    except SealingError as exc:
        raise Unavailable("the shared copy could not be sealed", code="sealing_failed") from exc
    return sheet, "sheet"


class StoredCopy(Protocol):
    """What :func:`read_copy` reads: where a share item's sealed copy is (the ORM ``ShareItem`` and the
    verification look's ``SharedItem``)."""

    id: str
    share_id: str
    copy_blob_key: str | None
    copy_wrapped_key: bytes | None
    copy_damage: str | None


def read_copy(rt: Runtime, item: StoredCopy) -> bytes:
    if not item.copy_blob_key or item.copy_wrapped_key is None:
        raise NotFound("no copy for this share")
    if item.copy_damage:
        raise Damaged("the stored copy of this document is damaged; the operator has been told")
    return rt.envelope.decrypt(Sealed(item.copy_wrapped_key, rt.store.get(item.copy_blob_key)),
                               copy_aad(item.share_id, item.id))


def get_own_share(sess: Session, citizen: Citizen, share_id: str) -> Share:
    share = sess.get(Share, share_id) if len(share_id) <= 64 else None
    if share is None or (share.citizen_id != citizen.id and share.holder_national_id != citizen.national_id):
        raise NotFound("no such share")  # the maker's, or the holder's when a representative made it
    return share


def mine(citizen: Citizen) -> Any:
    """Shares a citizen sees: those they made, and those a representative made of their documents."""
    return or_(Share.citizen_id == citizen.id, Share.holder_national_id == citizen.national_id)


def list_shares(sess: Session, citizen: Citizen, limit: int = 200) -> list[Share]:
    return list(sess.execute(select(Share).where(mine(citizen)).options(undefer(cast(Any, Share.views_logged)))
                             .order_by(Share.created_at.desc(), Share.id).limit(limit)).scalars())


def revoke_share(sess: Session, citizen: Citizen, share_id: str, request_id: str | None = None) -> Share:
    share = get_own_share(sess, citizen, share_id)
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        audit.record(sess, actor=f"citizen:{citizen.id}", action="share.revoke", target=f"share:{share.id}",
                     request_id=request_id)
        sess.flush()
    return share


def activity(sess: Session, citizen: Citizen, limit: int = 500) -> list[tuple[ShareView, Share]]:
    rows = sess.execute(select(ShareView, Share).join(Share, Share.id == ShareView.share_id)
                        .where(or_(ShareView.citizen_id == citizen.id,
                                   Share.holder_national_id == citizen.national_id))
                        .order_by(ShareView.at.desc(), ShareView.id.desc()).limit(limit)).all()
    return [(v, s) for v, s in rows]
