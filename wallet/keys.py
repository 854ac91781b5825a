"""Master-key rotation: re-wrap every value under the master key with the current key; blobs stay as they are.

What is under the master key: documents' wrapped data keys (``documents.wrapped_key``), sealed copies'
(``share_items.copy_wrapped_key``), citizens' TOTP seeds (``citizens.totp_secret_enc``, ``encrypt_small``),
agencies' webhook secrets (``webhook_endpoints.secret_enc``, ``encrypt_small``) and
the preview cache's blobs, which carry their own wrapped key (the blob is rewritten with the same ciphertext).
Enrolment tickets are client-held and short-lived: they stay readable while the old key is on the ring.

Resumable: rows are walked in keyset batches, each batch committed; a value already under the current key is
skipped, and each update is a compare-and-set on the old value (a concurrent change is never overwritten). A
crash half-way leaves values under either key, all readable while both keys are on the ring; running again
finishes the job. ``remaining`` counts what is left under other keys.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet import audit, db
from wallet.citizens.credentials import totp_aad
from wallet.citizens.models import Citizen
from wallet.crypto import DecryptionError
from wallet.documents.models import Document
from wallet.documents.service import original_aad
from wallet.extensions import Runtime
from wallet.fsck import pack_preview, preview_aad_of, unpack_preview
from wallet.shares.models import ShareItem
from wallet.shares.service import copy_aad
from wallet.storage import BlobNotFound
from wallet.webhooks.models import WebhookEndpoint
from wallet.webhooks.service import secret_aad

__all__ = ["Rotation", "remaining", "rotate"]

BATCH = 200


@dataclass
class Rotation:
    key_id: str
    rewrapped: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # values no key on the ring opens (see fsck)


# (name, table, id column, value column, AAD of a row)
def _columns() -> list[tuple[str, Any, Any, Any, Callable[[Any], str]]]:
    return [
        ("document", Document, Document.id, Document.wrapped_key, lambda r: original_aad(r.id)),
        ("share_item", ShareItem, ShareItem.id, ShareItem.copy_wrapped_key, lambda r: copy_aad(r.share_id, r.id)),
        ("citizen_totp", Citizen, Citizen.id, Citizen.totp_secret_enc, lambda r: totp_aad(r.id)),
        ("webhook_secret", WebhookEndpoint, WebhookEndpoint.agency_id, WebhookEndpoint.secret_enc,
         lambda r: secret_aad(r.id)),
    ]


SMALL = (Citizen, WebhookEndpoint)  # values sealed whole with encrypt_small (not wrapped data keys)


def rotate(rt: Runtime, *, batch: int = BATCH, after_batch: Callable[[str, int], None] | None = None) -> Rotation:
    """Re-wrap everything not under the current master key; ``after_batch(kind, n)`` runs after each commit."""
    env = rt.envelope
    result = Rotation(env.current_id.hex())
    sess = rt.db.sessionmaker()
    try:
        for name, model, id_col, value_col, aad_of in _columns():
            extra = [model.share_id] if model is ShareItem else []
            done = 0
            last = ""
            while True:
                rows = sess.execute(select(id_col.label("id"), value_col.label("value"), *extra).where(
                    id_col > last, value_col.is_not(None)).order_by(id_col).limit(batch)).all()
                if not rows:
                    break
                last = rows[-1].id
                changed = 0
                with db.batch(sess):  # one committed batch at a time: an interrupted rotation resumes
                    for row in rows:
                        if env.is_current(row.value):
                            continue
                        try:
                            new = (env.rewrap_small(row.value, aad_of(row)) if model in SMALL
                                   else env.rewrap(row.value, aad_of(row)))
                        except DecryptionError:
                            result.failed.append(f"{name} {row.id}")
                            continue
                        changed += sess.execute(update(model).where(id_col == row.id, value_col == row.value)
                                                .values({value_col.key: new})).rowcount  # type: ignore[attr-defined]
                done += changed
                if after_batch is not None and changed:
                    after_batch(name, changed)
            result.rewrapped[name] = done
        result.rewrapped["preview"] = _rotate_previews(rt, result, after_batch, batch)
        with db.batch(sess):
            audit.record(sess, actor="operator", action="keys.rotate_master", target=f"master_key:{result.key_id}",
                         outcome="ok" if not result.failed else "incomplete",
                         details={"rewrapped": result.rewrapped, "failed": len(result.failed)})
    except BaseException:
        sess.rollback()
        raise
    finally:
        sess.close()
    return result


def _rotate_previews(rt: Runtime, result: Rotation, after_batch: Callable[[str, int], None] | None,
                     batch: int) -> int:
    env, store, done, pending = rt.envelope, rt.store, 0, 0
    for info in store.iter_blobs("previews/", page_size=batch):
        parsed = preview_aad_of(info.key or "")
        if info.key is None or parsed is None:
            continue
        try:
            sealed = unpack_preview(store.get(info.key))
            if env.is_current(sealed.wrapped_key):
                continue
            store.put(info.key, pack_preview(type(sealed)(env.rewrap(sealed.wrapped_key, parsed[1]),
                                                          sealed.ciphertext)))
        except BlobNotFound:
            continue
        except Exception:  # noqa: BLE001 - a broken cache entry: fsck reports it, a new render replaces it
            result.failed.append(f"preview {info.key}")
            continue
        done += 1
        pending += 1
        if after_batch is not None and pending >= batch:
            after_batch("preview", pending)
            pending = 0
    return done


def remaining(rt: Runtime) -> dict[str, int]:
    """How many values are not under the current master key, per kind (rows only: previews are a cache)."""
    env = rt.envelope
    out: dict[str, int] = {}
    sess: Session = rt.db.sessionmaker()
    try:
        for name, _model, id_col, value_col, _aad in _columns():
            n, last = 0, ""
            while True:
                rows = sess.execute(select(id_col, value_col).where(id_col > last, value_col.is_not(None))
                                    .order_by(id_col).limit(1000)).all()
                if not rows:
                    break
                last = rows[-1][0]
                n += sum(1 for r in rows if not env.is_current(r[1]))
            out[name] = n
        sess.rollback()
    finally:
        sess.close()
    return out
