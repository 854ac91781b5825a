"""fsck: reconcile database rows and blobs on either store (``flask --app wallet fsck [--repair]``).

Problems, one line each, words that scripts grep (the CLI prints them in this form, the tests match them):

* ``orphan_blob <key or location>`` -- a blob no row refers to, older than the grace period;
* ``missing_blob document <id> <key>`` / ``missing_blob share_item <id> <key>`` -- a row whose blob is gone;
* ``undecryptable document <id>`` / ``undecryptable share_item <id>`` / ``undecryptable preview <key>`` -- the
  blob is there but does not decrypt under its row's wrapped key and AAD (altered, truncated, swapped);
* ``temp_file <name>`` -- debris of an interrupted write (a LocalStore temp file, an S3 incomplete multipart
  upload), older than the grace period.

``--repair`` removes orphan blobs, temp files and undecryptable preview renders (a cache, drawn again on
demand), and marks a document or sealed copy whose blob is missing or undecryptable as damaged (the row's
``damage`` column, an audit event each; nothing is deleted). A marked row is no longer a problem: the repaired
store fscks clean. Reads of a damaged row answer ``410 document_damaged`` instead of failing.

Races: a push writes its blob before its row commits, so a young blob without a row may be a push in flight:
blobs and temp files younger than ``grace`` are never judged. Memory is bounded: blobs are listed page by page
and rows read in keyset batches; one blob at a time is read and decrypted.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet import audit, db
from wallet.crypto import DecryptionError, Sealed
from wallet.db import utcnow
from wallet.documents.batch_models import BatchItem
from wallet.documents.models import Document
from wallet.documents.service import original_aad
from wallet.extensions import Runtime
from wallet.shares.models import ShareItem
from wallet.shares.service import copy_aad
from wallet.storage import BlobInfo, BlobNotFound

__all__ = ["DEFAULT_GRACE", "Problem", "run"]

DEFAULT_GRACE = dt.timedelta(minutes=10)
BATCH = 500
_PREVIEW = re.compile(r"previews/([A-Za-z0-9_-]{1,64})/(?:pages\.json|(\d{1,4})-(\d{1,5})\.png)")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Problem:
    kind: str  # orphan_blob | missing_blob | undecryptable | temp_file
    subject: tuple[str, ...]
    repaired: bool = False

    @property
    def line(self) -> str:
        return " ".join((self.kind, *self.subject))

    def __str__(self) -> str:
        return self.line


def _runtime(target: Any) -> Runtime:
    if isinstance(target, Runtime):
        return target
    return target.extensions["wallet.runtime"]  # type: ignore[no-any-return]


def preview_aad_of(key: str) -> tuple[str, str] | None:
    """(document id, AAD) of a preview-cache key, or None (see wallet.citizens.previews)."""
    m = _PREVIEW.fullmatch(key)
    if m is None:
        return None
    doc_id, page, width = m.groups()
    if page is None:
        return doc_id, f"document:{doc_id}:preview:pages"
    return doc_id, f"document:{doc_id}:preview:{int(page)}:{int(width)}"


def unpack_preview(blob: bytes) -> Sealed:
    """A preview blob carries its own wrapped key (wallet.citizens.previews._pack)."""
    if len(blob) < 2:
        raise struct.error("truncated")
    (n,) = struct.unpack(">H", blob[:2])
    if len(blob) < 2 + n:
        raise struct.error("truncated")
    return Sealed(blob[2:2 + n], blob[2 + n:])


def pack_preview(sealed: Sealed) -> bytes:
    return struct.pack(">H", len(sealed.wrapped_key)) + sealed.wrapped_key + sealed.ciphertext


class _Fsck:
    def __init__(self, rt: Runtime, *, repair: bool, grace: dt.timedelta, quick: bool,
                 report: Callable[[Problem], None] | None) -> None:
        self.rt, self.store = rt, rt.store
        self.repair, self.quick, self.report = repair, quick, report
        self.cutoff = utcnow() - grace
        self.problems: list[Problem] = []
        self._legacy: dict[str, str] | None = None  # sha256(key) -> key, built only if a legacy file turns up
        self.repaired = {"orphan_blob": 0, "temp_file": 0, "damaged": 0, "preview": 0}

    def emit(self, problem: Problem) -> None:
        self.problems.append(problem)
        if self.report is not None:
            self.report(problem)

    # -- rows --------------------------------------------------------------------------------------------

    def _batches(self, sess: Session, stmt_for: Callable[[str], Any]) -> Iterator[Sequence[Any]]:
        last = ""
        while True:
            rows = sess.execute(stmt_for(last)).all()
            sess.rollback()  # no long read transaction (SQLite checkpoints, PostgreSQL vacuum)
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def check_documents(self, sess: Session) -> None:
        def stmt(last: str) -> Any:
            return (select(Document.id, Document.blob_key, Document.wrapped_key)
                    .where(Document.id > last, Document.damage.is_(None)).order_by(Document.id).limit(BATCH))

        for rows in self._batches(sess, stmt):
            for doc_id, key, wrapped in rows:
                kind = self._check_blob(key, wrapped, original_aad(doc_id))
                if kind == "missing_blob":
                    self._damaged(sess, Problem(kind, ("document", doc_id, key)), Document, doc_id)
                elif kind == "undecryptable":
                    self._damaged(sess, Problem(kind, ("document", doc_id)), Document, doc_id)

    def check_copies(self, sess: Session) -> None:
        def stmt(last: str) -> Any:
            return (select(ShareItem.id, ShareItem.copy_blob_key, ShareItem.copy_wrapped_key, ShareItem.share_id)
                    .where(ShareItem.id > last, ShareItem.copy_blob_key.is_not(None),
                           ShareItem.copy_damage.is_(None)).order_by(ShareItem.id).limit(BATCH))

        for rows in self._batches(sess, stmt):
            for item_id, key, wrapped, share_id in rows:
                kind = self._check_blob(key, wrapped, copy_aad(share_id, item_id))
                if kind == "missing_blob":
                    self._damaged(sess, Problem(kind, ("share_item", item_id, key)), ShareItem, item_id)
                elif kind == "undecryptable":
                    self._damaged(sess, Problem(kind, ("share_item", item_id)), ShareItem, item_id)

    def _check_blob(self, key: str, wrapped: bytes | None, aad: str) -> str | None:
        if self.quick:
            return None if self.store.exists(key) else "missing_blob"
        try:
            blob = self.store.get(key)
        except BlobNotFound:
            return "missing_blob"
        if wrapped is None:
            return "undecryptable"
        try:
            self.rt.envelope.decrypt(Sealed(wrapped, blob), aad)
        except DecryptionError:
            return "undecryptable"
        return None

    def _damaged(self, sess: Session, problem: Problem, model: Any, row_id: str) -> None:
        if not self.repair:
            self.emit(problem)
            return
        now = utcnow()
        if model is Document:
            stmt = (update(Document).where(Document.id == row_id, Document.damage.is_(None))
                    .values(damage=problem.kind, damaged_at=now))
            target = f"document:{row_id}"
        else:
            stmt = (update(ShareItem).where(ShareItem.id == row_id, ShareItem.copy_damage.is_(None))
                    .values(copy_damage=problem.kind, copy_damaged_at=now))
            target = f"share_item:{row_id}"
        with db.batch(sess):  # each repair kept at once: an interrupted fsck resumes where it stopped
            if sess.execute(stmt).rowcount:  # type: ignore[attr-defined]
                audit.record(sess, actor="operator", action="fsck.mark_damaged", outcome=problem.kind,
                             target=target, details={"problem": problem.line})
        self.repaired["damaged"] += 1
        self.emit(Problem(problem.kind, problem.subject, repaired=True))

    # -- blobs -------------------------------------------------------------------------------------------

    def check_blobs(self, sess: Session) -> None:
        page: list[BlobInfo] = []
        for info in self.store.iter_blobs(page_size=BATCH):
            page.append(info)
            if len(page) >= BATCH:
                self._judge(sess, page)
                page = []
        if page:
            self._judge(sess, page)

    def _legacy_key(self, sess: Session, info: BlobInfo) -> str | None:
        """A LocalStore file of an earlier version is named by its key's SHA-256: find the row key it is."""
        name = info.location.rsplit("/", 1)[-1]
        if not _HEX64.fullmatch(name):
            return None
        if self._legacy is None:
            self._legacy = {}
            for stmt in (select(Document.blob_key), select(ShareItem.copy_blob_key)
                         .where(ShareItem.copy_blob_key.is_not(None))):
                for (key,) in sess.execute(stmt):
                    if key is None:  # the query leaves no NULL out; this tells mypy
                        continue
                    self._legacy[hashlib.sha256(key.encode()).hexdigest()] = key
            sess.rollback()
        return self._legacy.get(name)

    def _judge(self, sess: Session, page: list[BlobInfo]) -> None:
        keyed = [(info, info.key or self._legacy_key(sess, info)) for info in page]
        keys = [k for _, k in keyed if k]
        previews = {k: p for k in keys if (p := preview_aad_of(k)) is not None}
        referenced: set[str] = set()
        docs: set[str] = set()
        if keys:
            referenced.update(sess.scalars(select(Document.blob_key).where(Document.blob_key.in_(keys))))
            referenced.update(k for k in sess.scalars(
                select(ShareItem.copy_blob_key).where(ShareItem.copy_blob_key.in_(keys))) if k)
            referenced.update(k for k in sess.scalars(  # the files of batch items not decided yet
                select(BatchItem.blob_key).where(BatchItem.blob_key.in_(keys))) if k)
        if previews:
            docs.update(sess.scalars(select(Document.id).where(Document.id.in_({p[0] for p in previews.values()}))))
        sess.rollback()
        for info, key in keyed:
            if key is not None and key in referenced:
                continue
            if key is not None and key in previews and previews[key][0] in docs:
                if not self.quick:
                    self._check_preview(info, key, previews[key][1])
                continue
            if info.modified > self.cutoff:
                continue  # maybe a push whose row is not committed yet
            self._orphan(info, key)

    def _check_preview(self, info: BlobInfo, key: str, aad: str) -> None:
        try:
            self.rt.envelope.decrypt(unpack_preview(self.store.get(key)), aad)
            return
        except BlobNotFound:
            return  # gone meanwhile (a cache)
        except (DecryptionError, struct.error):
            pass
        problem = Problem("undecryptable", ("preview", key))
        if self.repair:
            self.store.remove(info)
            self.repaired["preview"] += 1
            problem = Problem(problem.kind, problem.subject, repaired=True)
        self.emit(problem)

    def _orphan(self, info: BlobInfo, key: str | None) -> None:
        problem = Problem("orphan_blob", (key or info.location,))
        if self.repair:
            self.store.remove(info)
            self.repaired["orphan_blob"] += 1
            problem = Problem(problem.kind, problem.subject, repaired=True)
        self.emit(problem)

    def check_leftovers(self) -> None:
        for left in self.store.iter_leftovers():
            if left.modified > self.cutoff:
                continue  # a write in progress
            problem = Problem("temp_file", (left.name,))
            if self.repair:
                self.store.remove_leftover(left)
                self.repaired["temp_file"] += 1
                problem = Problem(problem.kind, problem.subject, repaired=True)
            self.emit(problem)

    def record_repairs(self, sess: Session) -> None:
        removed = {k: v for k, v in self.repaired.items() if k != "damaged" and v}
        if not removed:
            return
        with db.batch(sess):
            audit.record(sess, actor="operator", action="fsck.repair", details={"removed": removed})


def run(target: Any, *, repair: bool = False, grace: dt.timedelta = DEFAULT_GRACE, quick: bool = False,
        report: Callable[[Problem], None] | None = None) -> list[Problem]:
    """Check (and with ``repair`` fix) a wallet; ``target`` is the Flask app or its Runtime.

    Returns every problem found (``repaired=True`` on those fixed); ``report`` is called with each as it is
    found. Raises :class:`wallet.storage.StorageUnavailable` if the store cannot be listed or read."""
    rt = _runtime(target)
    job = _Fsck(rt, repair=repair, grace=grace, quick=quick, report=report)
    sess = rt.db.sessionmaker()
    try:
        job.check_documents(sess)
        job.check_copies(sess)
        job.check_blobs(sess)
        job.check_leftovers()
        if repair:
            job.record_repairs(sess)
    finally:
        sess.close()
    return job.problems


def lines(problems: Iterable[Problem]) -> list[str]:
    return [p.line for p in problems]
