"""Batch issuance (issue 16): an agency uploads up to 1,000 signed PDFs at once; workers push them one by one.

``POST /api/v1/batches`` spools each file part to a temporary file (never the whole upload in memory), checks the
manifest before anything is stored, then stores every file encrypted under ``batches/<batch>/<item>`` (the
``wallet.crypto`` envelope, as documents) and records the batch and its items in one transaction; one job per
item is handed to the workers after the commit (``wallet.jobs``).

The job ``batches.item`` runs :func:`wallet.documents.service.push` on the item, so each item gets exactly the
outcome and problem code a single push would give, and records the item's outcome in the push's own
transaction: a worker killed at any point commits both or neither, and a job run again for an item already
decided (a redelivery after a crash, the sweeper) changes nothing. Idempotency per (agency, reference) is the
push's own: the same batch again maps every reference to the same document ("replayed").

Transient faults (the database, the blob store, every validator busy) are retried with back-off (``TryLater``);
after the last retry the item is rejected with the code a single push would have answered (``unavailable``).
``flask --app wallet batches resume`` hands pending items of older batches to the workers again (the embedded
``thread`` backend loses its queue when the process stops).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from flask import g
from marshmallow import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from wallet import db, events, jobs
from wallet.agencies.models import Agency
from wallet.crypto import Sealed
from wallet.db import new_id, utcnow
from wallet.documents import service
from wallet.documents.batch_models import Batch, BatchItem
from wallet.documents.schemas import DocumentMetadata
from wallet.errors import BadMetadata, BadRequest, NotFound, TooLarge, WalletError, is_transient
from wallet.extensions import Runtime, runtime
from wallet.storage import BlobNotFound

log = logging.getLogger(__name__)

ITEM_JOB = "batches.item"
METADATA_MAX_CHARS = 8192  # one entry's metadata, as the single push's ``metadata`` part
MANIFEST_OVERHEAD = 64 * 1024
CHUNK = 64 * 1024

_metadata_schema = DocumentMetadata()


class BadManifest(BadRequest):
    """The upload cannot be a batch: nothing was stored."""

    code, title = "bad_manifest", "Invalid batch manifest"


def manifest_limit(max_documents: int) -> int:
    """Bytes the manifest part may have (held in memory while parsed: each entry as much as a push's metadata)."""
    return max_documents * (METADATA_MAX_CHARS + 256) + MANIFEST_OVERHEAD


def body_limit(max_documents: int, max_bytes: int) -> int:
    """The largest request body of a batch: its files, its manifest and the multipart framing of each part."""
    return max_bytes + manifest_limit(max_documents) + (max_documents + 1) * 1024


def aad(batch_id: str, item_id: str) -> str:
    return f"batch:{batch_id}:{item_id}"


# ------------------------------------------------------------------------------------------------- the upload

class Budget:
    """Bytes of file parts still allowed in this upload (``BATCH_MAX_BYTES``): 413 once spent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise TooLarge(f"the batch's files are larger than {self.limit} bytes in all")


class Spool:
    """One file part, kept on disk in its upload's temporary file (one descriptor per upload, not per part: a
    batch has up to 1,000), to ``cap`` + 1 bytes: a file larger than a single push allows is known to be so
    without being stored whole. Parts arrive one after the other, so each one's bytes are contiguous."""

    def __init__(self, file: IO[bytes], cap: int, budget: Budget) -> None:
        self.file = file
        self.start = file.seek(0, 2)
        self.cap = cap
        self.budget = budget
        self.size = 0  # bytes received
        self.stored = 0  # bytes kept (at most cap + 1)
        self.pos = 0

    @property
    def too_large(self) -> bool:
        return self.size > self.cap

    def write(self, data: bytes) -> int:
        self.budget.spend(len(data))
        room = self.cap + 1 - self.stored
        if room > 0:
            chunk = data[:room]
            self.file.seek(self.start + self.stored)
            self.file.write(chunk)
            self.stored += len(chunk)
        self.size += len(data)
        return len(data)

    def seek(self, pos: int) -> None:
        self.pos = pos

    def read(self, n: int = -1) -> bytes:
        left = self.stored - self.pos
        n = left if n < 0 else min(n, left)
        self.file.seek(self.start + self.pos)
        data = self.file.read(n)
        self.pos += len(data)
        return data


class Upload:
    """The file parts of one request, in one unnamed temporary file (gone once closed by :meth:`close`)."""

    def __init__(self, file_cap: int, max_bytes: int) -> None:
        self.budget = Budget(max_bytes)
        self.file_cap = file_cap
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()

    def new_spool(self) -> Spool:
        return Spool(self.file, self.file_cap, self.budget)

    def close(self) -> None:
        self.file.close()


def read_multipart(read: Callable[[int], bytes], boundary: bytes, upload: Upload, manifest_max: int,
                   max_parts: int) -> tuple[str | None, dict[str, Spool]]:
    """Read a batch's multipart body in chunks: the ``manifest`` part into memory (at most ``manifest_max``
    bytes), every other part (with or without a filename) onto a :class:`Spool` of ``upload``."""
    decoder = MultipartDecoder(boundary, max_form_memory_size=manifest_max, max_parts=max_parts)
    manifest: list[bytes] | None = None
    manifest_size = 0
    files: dict[str, Spool] = {}
    current: Spool | None = None
    ended = False
    try:
        while not ended:
            chunk = read(CHUNK)
            decoder.receive_data(chunk or None)
            event = decoder.next_event()
            while not isinstance(event, NeedData):
                if isinstance(event, Epilogue):
                    ended = True
                    break
                if isinstance(event, (Field, File)):
                    if not event.name:  # Content-Disposition without a name: nothing can refer to it
                        raise BadManifest("every part needs a name (Content-Disposition: form-data; name=...)")
                    if event.name == "manifest" and isinstance(event, Field):
                        if manifest is not None:
                            raise BadManifest("the `manifest` part appears twice")
                        manifest, current = [], None
                    else:
                        if event.name in files or event.name == "manifest":
                            raise BadManifest(f"the part {event.name[:100]!r} appears twice")
                        current = files[event.name] = upload.new_spool()
                elif isinstance(event, Data):
                    if current is not None:
                        current.write(event.data)
                    elif manifest is not None:
                        manifest_size += len(event.data)
                        if manifest_size > manifest_max:
                            raise TooLarge(f"the manifest is larger than {manifest_max} bytes")
                        manifest.append(event.data)
                event = decoder.next_event()
            if not chunk and not ended:
                raise BadManifest("the multipart body ended before its closing boundary")
    except RequestEntityTooLarge as exc:
        raise TooLarge(f"the batch has more than {max_parts} parts or a part too large to read") from exc
    except ValueError as exc:
        raise BadManifest(f"the body is not valid multipart/form-data: {exc}") from exc
    text = None if manifest is None else b"".join(manifest).decode("utf-8", "replace")
    return text, files


@dataclass(frozen=True)
class Entry:
    position: int
    part: str
    metadata: dict[str, Any]  # as sent (JSON), validated
    reference: str


def check_manifest(text: str | None, parts: Iterable[str], max_documents: int) -> list[Entry]:
    """The manifest's entries, or 400 (``bad_manifest``, ``bad_metadata``): checked before anything is stored."""
    if text is None:
        raise BadManifest("the `manifest` part is missing")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise BadManifest("the manifest is not valid JSON") from exc
    docs = raw.get("documents") if isinstance(raw, dict) else None
    if not isinstance(docs, list) or not docs:
        raise BadManifest('the manifest must be {"documents": [{"file": ..., "metadata": {...}}, ...]}')
    if len(docs) > max_documents:
        raise BadManifest(f"a batch holds at most {max_documents} documents ({len(docs)} given)",
                          code="batch_too_large")
    present = set(parts)
    used: set[str] = set()
    references: dict[str, int] = {}
    errors: dict[int, Any] = {}
    entries = []
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or not isinstance(doc.get("file"), str) or \
                not isinstance(doc.get("metadata"), dict) or set(doc) - {"file", "metadata"}:
            raise BadManifest(f"documents[{i}] must be {{\"file\": <part name>, \"metadata\": {{...}}}}",
                              extra={"entry": i})
        part, meta = doc["file"], doc["metadata"]
        if part not in present:
            raise BadManifest(f"documents[{i}]: no file part named {part[:100]!r}", code="missing_file",
                              extra={"entry": i})
        if len(json.dumps(meta)) > METADATA_MAX_CHARS:
            errors[i] = {"_schema": [f"metadata longer than {METADATA_MAX_CHARS} characters"]}
            continue
        try:
            _metadata_schema.load(meta)
        except ValidationError as exc:
            errors[i] = exc.messages
            continue
        reference = meta["reference"]
        if reference in references:
            raise BadManifest(f"documents[{i}]: reference {reference} is also documents[{references[reference]}]",
                              code="duplicate_reference", extra={"entry": i})
        references[reference] = i
        used.add(part)
        entries.append(Entry(i, part, meta, reference))
    if errors:
        first = min(errors)
        raise BadMetadata(f"invalid metadata in documents[{first}]" + (f" and {len(errors) - 1} more"
                                                                         if len(errors) > 1 else ""),
                          extra={"errors": {str(i): m for i, m in errors.items()}})
    unused = sorted(present - used)
    if unused:
        raise BadManifest(f"file part {unused[0][:100]!r} is not in the manifest")
    return entries


def create(rt: Runtime, sess: Session, agency_id: str, entries: list[Entry], files: Mapping[str, Spool],
           request_id: str | None = None) -> Batch:
    """Store every file encrypted under the batch's prefix, then record the batch and its items, and hand one
    job per item to the workers once this unit of work commits. A file larger than a single push allows is
    decided at once (rejected, ``too_large``) and not stored.

    The files are stored before the first statement: on SQLite every transaction takes the one write lock, and
    200 MB to encrypt and store would hold it that long (the caller has ended any transaction it began)."""
    batch_id = new_id()
    limit = rt.settings.max_upload_bytes
    stored: dict[int, tuple[str, str, bytes]] = {}  # position -> (item id, blob key, wrapped key)
    for entry in entries:
        spool = files[entry.part]
        if spool.too_large:
            continue
        item_id = new_id()
        spool.seek(0)
        data = spool.read(limit + 1)  # one file at a time, within a single push's limit
        key = f"batches/{batch_id}/{item_id}"
        sealed = rt.envelope.encrypt(data, aad(batch_id, item_id))
        del data
        db.on_rollback(lambda key=key: rt.store.delete(key))  # type: ignore[misc]
        rt.store.put(key, sealed.ciphertext)
        stored[entry.position] = (item_id, key, sealed.wrapped_key)
    batch = Batch(id=batch_id, agency_id=agency_id, total=len(entries), pending=len(entries), accepted=0,
                  rejected=0, request_id=request_id, created_at=utcnow())
    sess.add(batch)
    rejected: list[BatchItem] = []
    for entry in entries:
        item = BatchItem(batch_id=batch_id, position=entry.position, reference=entry.reference, meta=entry.metadata,
                         size=files[entry.part].size, status="pending")
        if entry.position in stored:
            item.id, item.blob_key, item.wrapped_key = stored[entry.position]
        else:
            item.id, item.status, item.error_code = new_id(), "rejected", TooLarge.code
            item.error_detail, item.decided_at = f"the file is larger than {limit} bytes", utcnow()
            batch.pending -= 1
            batch.rejected += 1
            rejected.append(item)
        sess.add(item)
    sess.flush()
    for item in rejected:
        events.publish(sess, "document.rejected", agency_id=agency_id, reference=item.reference,
                       code=item.error_code, detail=item.error_detail, batch_id=batch_id)
    if batch.pending == 0:
        batch.completed_at = utcnow()
        events.publish(sess, "batch.completed", batch=batch)
    for item_id, _, _ in stored.values():
        jobs.enqueue(ITEM_JOB, item_id)
    return batch


# ------------------------------------------------------------------------------------------------- the job

class _Decided(Exception):  # noqa: N818 - control flow: another run decided this item first
    pass


class _Broken(Exception):  # noqa: N818 - an item that cannot be pushed at all (its file is gone)
    pass


@jobs.task(ITEM_JOB, max_retries=8, backoff=2.0, backoff_max=300.0, on_give_up=lambda item_id: give_up(item_id))
def process_item(item_id: str) -> None:
    """Push one item and record its outcome in the push's transaction (a no-op for an item already decided)."""
    rt = runtime()
    sess = db.session()
    try:
        item = sess.get(BatchItem, item_id)
        if item is None or item.status != "pending":
            sess.rollback()
            return
        batch = sess.get_one(Batch, item.batch_id)
        agency = sess.get_one(Agency, batch.agency_id)
        blob_key, meta_raw, batch_id = item.blob_key, dict(item.meta), batch.id
        request_id = g.get("request_id") or batch.request_id  # the job's (the upload's, handed over)
        if blob_key is None or item.wrapped_key is None:
            raise _Broken("the item's file is gone")
        sealed = Sealed(item.wrapped_key, rt.store.get(blob_key))
        sess.rollback()  # no transaction (on SQLite: no write lock) while the file is read and checked
        data = rt.envelope.decrypt(sealed, aad(batch_id, item_id))
        del sealed
        meta = _metadata_schema.load(meta_raw)
    except ValidationError as exc:  # checked at upload: only a schema changed since could say so
        _reject(item_id, "bad_metadata", f"invalid metadata: {exc.messages}")
        return
    except BlobNotFound:
        _reject(item_id, "internal_error", "the item's file was not found in the blob store")
        return
    except _Broken as exc:
        _reject(item_id, "internal_error", str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - transient: later; anything else: the item's answer (500)
        db.rollback()
        _unexpected(item_id, exc)
        return
    try:
        with db.transaction():  # the push and the item's outcome: one commit, or neither
            result = service.push(rt, sess, agency, data, meta, request_id, batch_id=batch_id)
            _decide(sess, item_id, batch_id, "accepted" if result.created else "replayed",
                    document_id=result.document.id)
    except _Decided:
        db.rollback()  # another run of this item decided it first: its outcome stands, this one's undone
        return
    except WalletError as exc:
        db.rollback()  # the push's own compensations (its blob), then the audit of its rejection
        if exc.status == 503:
            after = exc.headers.get("Retry-After")
            raise jobs.TryLater(exc.detail, after=float(after) if after and after.isascii() and after.isdigit() else None) from exc
        _reject(item_id, exc.code, exc.detail)
        return
    except Exception as exc:  # noqa: BLE001 - transient: later; anything else: the item's answer (500)
        db.rollback()
        _unexpected(item_id, exc)
        return
    _delete_blob(rt, blob_key)


def _unexpected(item_id: str, exc: Exception) -> None:
    """A transient fault is tried again later; anything else is answered as a single push's 500 would be (the
    item would otherwise stay pending for ever, and its batch never end)."""
    if is_transient(exc):
        raise jobs.TryLater(f"{type(exc).__name__}: {exc}") from exc
    log.exception("batch item %s failed", item_id)
    _reject(item_id, "internal_error", "the document could not be processed; the operator has been told")


def _decide(sess: Session, item_id: str, batch_id: str, status: str, *, document_id: str | None = None,
            code: str | None = None, detail: str | None = None) -> None:
    """Record the item's outcome in the current transaction, move the batch's counters and complete the batch
    with its last item. Raises ``_Decided`` if another run decided the item first."""
    done = sess.execute(update(BatchItem).where(BatchItem.id == item_id, BatchItem.status == "pending")
                        .values(status=status, document_id=document_id, error_code=code,
                                error_detail=(detail or "")[:1000] or None, decided_at=utcnow(),
                                blob_key=None, wrapped_key=None))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise _Decided(item_id)
    ok = status in ("accepted", "replayed")
    # the batch's row is updated last: its lock (PostgreSQL) is held only until this commit
    sess.execute(update(Batch).where(Batch.id == batch_id).values(
        pending=Batch.pending - 1, accepted=Batch.accepted + (1 if ok else 0),
        rejected=Batch.rejected + (0 if ok else 1)))
    batch = sess.get_one(Batch, batch_id, populate_existing=True)
    if batch.pending == 0 and batch.completed_at is None:
        batch.completed_at = utcnow()
        sess.flush()
        events.publish(sess, "batch.completed", batch=batch)


def _reject(item_id: str, code: str, detail: str) -> None:
    """Record a rejection in a transaction of its own (the push's was rolled back)."""
    rt = runtime()
    sess = db.session()
    item = sess.get(BatchItem, item_id)
    if item is None or item.status != "pending":
        db.rollback()
        return
    batch = sess.get_one(Batch, item.batch_id)
    blob_key, agency_id, reference, batch_id = item.blob_key, batch.agency_id, item.reference, batch.id
    try:
        with db.transaction():
            _decide(sess, item_id, batch_id, "rejected", code=code, detail=detail)
            events.publish(sess, "document.rejected", agency_id=agency_id, reference=reference, code=code,
                           detail=detail, batch_id=batch_id)
    except _Decided:
        db.rollback()
        return
    except Exception as exc:
        db.rollback()
        if is_transient(exc):
            raise jobs.TryLater(f"{type(exc).__name__}: {exc}") from exc
        raise
    if blob_key:
        _delete_blob(rt, blob_key)


def give_up(item_id: str) -> None:
    """Transient faults outlasted every retry: the item is answered as a single push would have been (503)."""
    _reject(item_id, "unavailable", "the service stayed unavailable while this document was being checked; "
                                    "send it again (an identical push is a replay)")


def _delete_blob(rt: Runtime, key: str) -> None:
    try:
        rt.store.delete(key)
    except Exception:  # noqa: BLE001 - the item is decided; `batches resume` removes what is left
        log.warning("could not delete the batch file %s", key, exc_info=True)


# ------------------------------------------------------------------------------------------------- reading

def get_for_agency(sess: Session, agency: Agency, batch_id: str) -> Batch:
    batch = sess.get(Batch, batch_id) if len(batch_id) <= 64 else None
    if batch is None or batch.agency_id != agency.id:
        raise NotFound("no such batch")
    return batch


def summary(batch: Batch) -> dict[str, Any]:
    return {"id": batch.id, "status": batch.status, "total": batch.total, "accepted": batch.accepted,
            "rejected": batch.rejected}


def to_resource(sess: Session, batch: Batch) -> dict[str, Any]:
    rows = sess.execute(select(BatchItem.reference, BatchItem.status, BatchItem.document_id, BatchItem.error_code,
                               BatchItem.error_detail).where(BatchItem.batch_id == batch.id)
                        .order_by(BatchItem.position))
    items = [{"reference": r.reference, "status": r.status, "document_id": r.document_id,
              "error": {"code": r.error_code, "detail": r.error_detail} if r.error_code else None} for r in rows]
    return {**summary(batch), "items": items}


# ------------------------------------------------------------------------------------------------- the sweeper

def resume(sess: Session, older_than: dt.timedelta) -> tuple[int, int]:
    """Hand the pending items of batches created more than ``older_than`` ago to the workers again (a job for an
    item decided meanwhile is a no-op), and delete files left behind by decided items. Returns (items
    enqueued, files deleted)."""
    rt = runtime()
    cutoff = utcnow() - older_than
    pending = list(sess.scalars(select(BatchItem.id).join(Batch, Batch.id == BatchItem.batch_id)
                                .where(BatchItem.status == "pending", Batch.created_at <= cutoff)
                                .order_by(BatchItem.batch_id, BatchItem.position)))
    for item_id in pending:
        jobs.enqueue(ITEM_JOB, item_id)
    deleted = 0
    alive = set(sess.scalars(select(BatchItem.blob_key).where(BatchItem.blob_key.is_not(None))))
    for info in rt.store.iter_blobs("batches/"):
        if info.key is not None and info.key not in alive and info.modified <= cutoff:
            rt.store.remove(info)
            deleted += 1
    return len(pending), deleted


def counts(sess: Session) -> dict[str, int]:
    return {status: n for status, n in sess.execute(select(BatchItem.status, func.count())
                                                     .group_by(BatchItem.status))}
