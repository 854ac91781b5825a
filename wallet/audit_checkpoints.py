"""Signed checkpoints of the audit chain, exported to write-once storage.

``flask --app wallet audit checkpoint`` appends a keyed ``audit.checkpoint`` event, signs (seq, head hash,
time, chain key id) with the Ed25519 checkpoint key (``AUDIT_CHECKPOINT_KEY``), stores the checkpoint in
``audit_checkpoints`` and writes it to ``AUDIT_CHECKPOINT_URL``: ``s3://bucket[/prefix]`` with S3 Object Lock
(COMPLIANCE retention: nobody, root included, deletes the version before it expires; the bucket must be created
with object lock enabled) or ``file:///dir`` (files 0400, a folder the operator ships or mounts read-only).

A checkpoint pins the chain up to its seq: truncating the newest events (and moving the head back) no longer
verifies, a deleted or edited table row is caught by the export, an edited export by the signature.
Run it from cron (e.g. hourly); the export is written before the row commits, so a crash in between leaves an
exported checkpoint without its row, which ``audit verify`` reports (its signature says whether it is ours).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import BigInteger, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from wallet import audit
from wallet.db import Base
from wallet.storage import S3Store

FORMAT = 1


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    head_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
    chain_key_id: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(40))  # the Ed25519 key that signed it
    signature: Mapped[str] = mapped_column(String(100))  # base64url, 64 bytes


def public_key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "c" + hashlib.sha256(raw).hexdigest()[:15]


def parse_public_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """``AUDIT_CHECKPOINT_KEYS_PREVIOUS``: comma-separated base64 raw Ed25519 public keys (32 bytes)."""
    out = {}
    for item in (p.strip() for p in text.split(",")):
        if item:
            raw = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
            if len(raw) != 32:
                raise ValueError("a checkpoint public key must be 32 bytes of base64")
            pub = Ed25519PublicKey.from_public_bytes(raw)
            out[public_key_id(pub)] = pub
    return out


class CheckpointKeys:
    """The signing key (parsed once) and every public key that verifies checkpoints, by id."""

    def __init__(self, seed: bytes, previous: dict[str, Ed25519PublicKey] | None = None) -> None:
        if len(seed) != 32:
            raise ValueError("the checkpoint key must be 32 bytes")
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        public = self._private.public_key()
        self.key_id = public_key_id(public)
        self.public_b64 = base64.urlsafe_b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
        self.verifiers = {**(previous or {}), self.key_id: public}

    def sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(self._private.sign(payload)).decode()

    def verify(self, key_id: str, payload: bytes, signature: str) -> bool:
        pub = self.verifiers.get(key_id)
        if pub is None:
            return False
        try:
            pub.verify(base64.urlsafe_b64decode(signature.encode("ascii")), payload)
        except (InvalidSignature, ValueError, UnicodeEncodeError):
            return False
        return True


def payload(seq: int, head_hash: str, at: dt.datetime, chain_key_id: str, key_id: str) -> bytes:
    return json.dumps({"v": FORMAT, "seq": seq, "hash": head_hash, "chain_key_id": chain_key_id, "key_id": key_id,
                       "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds")},
                      sort_keys=True, separators=(",", ":")).encode()


def as_document(cp: AuditCheckpoint) -> dict[str, Any]:
    return {"v": FORMAT, "seq": cp.seq, "hash": cp.head_hash, "chain_key_id": cp.chain_key_id, "key_id": cp.key_id,
            "at": cp.at.astimezone(dt.UTC).isoformat(timespec="microseconds"), "signature": cp.signature}


def object_name(seq: int) -> str:
    return f"checkpoint-{seq:020d}.json"


class ExportUnavailable(RuntimeError):
    """The export store did not answer."""


class CheckpointExport(Protocol):
    url: str

    def put(self, seq: int, body: bytes) -> None: ...

    def load_all(self) -> list[tuple[str, bytes]]:
        """Every stored copy as (name, body); on S3 every version, those behind delete markers included."""


class FileExport:
    """Checkpoints as files 0400 in a folder 0700; an existing file is never overwritten."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"file://{root}"

    def put(self, seq: int, body: bytes) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.root / object_name(seq), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())

    def load_all(self) -> list[tuple[str, bytes]]:
        if not self.root.is_dir():
            raise ExportUnavailable(f"{self.root} is not a folder")
        return [(p.name, p.read_bytes()) for p in sorted(self.root.glob("checkpoint-*.json"))]


class S3Export:
    """Checkpoints as S3 objects under COMPLIANCE Object Lock retention (bucket created with object lock)."""

    def __init__(self, bucket: str, prefix: str, retention_days: int, **s3_options: Any) -> None:
        self.bucket, self.prefix = bucket, (prefix.strip("/") + "/" if prefix.strip("/") else "")
        self.retention_days = retention_days
        self.url = f"s3://{bucket}/{self.prefix}"
        self.client = S3Store(bucket, **s3_options).client

    def put(self, seq: int, body: bytes) -> None:
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.retention_days)
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + object_name(seq), Body=body,
                               ContentType="application/json", ObjectLockMode="COMPLIANCE",
                               ObjectLockRetainUntilDate=until,
                               ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())  # noqa: S324

    def load_all(self) -> list[tuple[str, bytes]]:
        """Every version: a delete marker hides a locked version from a listing, not from this."""
        out = []
        try:
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket,
                                                                                   Prefix=self.prefix):
                for obj in page.get("Versions", []):
                    name = obj["Key"][len(self.prefix):]
                    body = self.client.get_object(Bucket=self.bucket, Key=obj["Key"],
                                                  VersionId=obj["VersionId"])["Body"].read()
                    out.append((name, body))
        except (BotoCoreError, ClientError) as exc:
            raise ExportUnavailable(f"{self.url}: {type(exc).__name__}") from exc
        return out


def open_export(url: str, retention_days: int = 3650, **s3_options: Any) -> CheckpointExport | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        return FileExport(Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc:
        return S3Export(parts.netloc, unquote(parts.path), retention_days, **s3_options)
    raise ValueError(f"AUDIT_CHECKPOINT_URL must be file:///abs/dir or s3://bucket[/prefix], got {url!r}")


def create_checkpoint(sess: Session, keys: CheckpointKeys, export: CheckpointExport | None) -> AuditCheckpoint:
    """Append an ``audit.checkpoint`` event, sign the head it makes, store and export it (caller commits)."""
    ring = audit.keyring_of(sess)
    seq, head_hash = audit.record(sess, actor="operator", action="audit.checkpoint",
                                  details={"export": export.url if export else None})
    at = audit.utcnow()
    sig = keys.sign(payload(seq, head_hash, at, ring.key_id, keys.key_id))
    cp = AuditCheckpoint(seq=seq, head_hash=head_hash, at=at, chain_key_id=ring.key_id, key_id=keys.key_id,
                         signature=sig)
    sess.add(cp)
    sess.flush()
    if export is not None:
        export.put(seq, json.dumps(as_document(cp), sort_keys=True).encode())
    return cp


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    summary: str = ""
    broken: str | None = None  # "event N" or "checkpoint at seq N"
    reason: str | None = None


def _check_document(doc: Any, keys: CheckpointKeys) -> str | None:
    """None when ``doc`` (an exported checkpoint) is well formed and signed by a known key, else why not."""
    if not isinstance(doc, dict) or doc.get("v") != FORMAT:
        return "not a checkpoint document"
    try:
        at = dt.datetime.fromisoformat(doc["at"])
        body = payload(int(doc["seq"]), str(doc["hash"]), at, str(doc["chain_key_id"]), str(doc["key_id"]))
        sig_ok = keys.verify(str(doc["key_id"]), body, str(doc["signature"]))
    except (KeyError, TypeError, ValueError):
        return "not a checkpoint document"
    return None if sig_ok else "bad signature (edited, or signed by an unknown key)"


def verify_all(sess: Session, keys: CheckpointKeys, export: CheckpointExport | None) -> AuditReport:
    """The keyed chain, the head, every checkpoint's signature and its match with the chain, and the export."""
    rows = {cp.seq: cp for cp in sess.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars()}
    for cp in rows.values():
        if not keys.verify(cp.key_id, payload(cp.seq, cp.head_hash, cp.at, cp.chain_key_id, cp.key_id),
                           cp.signature):
            return AuditReport(False, broken=f"checkpoint at seq {cp.seq}",
                               reason="bad signature (row edited, or signed by a key not in the keyring)")
    chain, hashes = audit.verify_chain(sess, hashes_at=set(rows))
    if not chain.ok:
        return AuditReport(False, broken=f"event {chain.first_broken}", reason=chain.reason)
    last_seq = chain.head[0]
    for cp in rows.values():
        if cp.seq > last_seq:
            return AuditReport(False, broken=f"event {last_seq + 1}",
                               reason=f"events {last_seq + 1}..{cp.seq} were removed: the checkpoint at seq "
                                      f"{cp.seq} covered them (the chain now ends at {last_seq})")
        if hashes.get(cp.seq) != cp.head_hash:
            return AuditReport(False, broken=f"checkpoint at seq {cp.seq}",
                               reason="the chain's event at that seq does not have the signed hash")
    export_note = "no export configured"
    if export is not None:
        try:
            exported = export.load_all()
        except (ExportUnavailable, OSError) as exc:
            exported = None
            export_note = f"export {export.url} unreachable ({type(exc).__name__}): not compared"
        if exported is not None:
            seen: set[int] = set()
            for name, raw in sorted(exported):
                try:
                    doc = json.loads(raw)
                except ValueError:
                    doc = None
                why = _check_document(doc, keys)
                if why is None and name != object_name(int(doc["seq"])):
                    why = "stored under another seq's name"
                if why:
                    return AuditReport(False, broken=f"exported checkpoint {name}", reason=why)
                seq = int(doc["seq"])
                seen.add(seq)
                row = rows.get(seq)
                if row is None:
                    return AuditReport(False, broken=f"checkpoint at seq {seq}",
                                       reason=f"in the export ({export.url}) but not in the table (row deleted)")
                if as_document(row) != doc:
                    return AuditReport(False, broken=f"checkpoint at seq {seq}",
                                       reason="the table row differs from the exported checkpoint")
                if seq > last_seq:
                    return AuditReport(False, broken=f"event {last_seq + 1}",
                                       reason=f"events up to {seq} were removed (exported checkpoint)")
            missing = sorted(set(rows) - seen)
            if missing:
                return AuditReport(False, broken=f"checkpoint at seq {missing[0]}",
                                   reason=f"not in the export {export.url}")
            export_note = f"export {export.url}: {len(seen)} match"
    newest = f", the newest at seq {max(rows)}" if rows else ""
    keyed = f"keyed {chain.keyed} under {', '.join(chain.key_ids)}" if chain.keyed else "none keyed"
    return AuditReport(True, summary=f"audit chain intact ({chain.events} events), {keyed}; "
                                     f"{len(rows)} signed checkpoints{newest}; {export_note}")
