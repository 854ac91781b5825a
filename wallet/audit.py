"""Append-only, keyed hash-chained audit log.

Each event's hash covers its content and the previous event's hash, so altering, removing or reordering a
row breaks the chain from that point. Events are written in the same transaction as the change they record.
Never store document content or tokens here.

Chain formats (``audit_events.chain_format``):

1. legacy: ``SHA-256`` of the event (before migration 0005). Anyone who can write to the database can
   recompute it, so it only ever verifies as a prefix of the chain.
2. keyed: ``HMAC-SHA256`` under the audit key (``AUDIT_KEY``, outside the database), the key's id stored
   in ``key_id`` and covered by the MAC. The first keyed event's ``prev_hash`` is the last legacy event's
   hash, so the legacy prefix is pinned by the first MAC. After a keyed event, an unkeyed one is a break,
   and a non-empty chain must end with a keyed event (otherwise a rewrite to format 1 would pass).

Rotation: a new ``AUDIT_KEY`` chains new events under its id; ``AUDIT_KEYS_PREVIOUS`` keeps the old keys
for verification. Truncation of the newest events (head moved back) is caught by signed checkpoints
(``wallet.audit_checkpoints``).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from flask import current_app, has_app_context
from sqlalchemy import JSON, BigInteger, Integer, SmallInteger, String, Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from wallet.db import Base, utcnow

GENESIS = "0" * 64
LEGACY, KEYED = 1, 2


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(80))  # "agency:MJ", "citizen:<id>", "operator", "public"
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    chain_format: Mapped[int] = mapped_column(SmallInteger, default=KEYED, server_default=str(LEGACY))
    key_id: Mapped[str | None] = mapped_column(String(40))


class AuditHead(Base):
    """A single row locked while appending, so concurrent writers extend the chain one at a time."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class AuditKeyError(ValueError):
    """An audit key setting that cannot be used."""


def derive_key_id(key: bytes) -> str:
    """A short public name for a key (a truncated hash of it: says nothing usable about the key)."""
    return "k" + hashlib.sha256(b"wallet-audit-key-id\x00" + key).hexdigest()[:15]


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError as exc:
        raise AuditKeyError("audit key must be base64 (32 bytes)") from exc
    if len(key) != 32:
        raise AuditKeyError("audit key must decode to 32 bytes")
    return key


class AuditKeyring:
    """The current chaining key (parsed once, its HMAC state prepared) and the previous keys, by id."""

    def __init__(self, key: bytes, key_id: str | None = None, previous: Mapping[str, bytes] | None = None) -> None:
        if len(key) != 32:
            raise AuditKeyError("audit key must be 32 bytes")
        self.key_id = key_id or derive_key_id(key)
        if not (0 < len(self.key_id) <= 40) or ":" in self.key_id or "," in self.key_id:
            raise AuditKeyError("audit key id must be 1-40 characters without ':' or ','")
        self._macs = {kid: hmac.new(k, digestmod=hashlib.sha256) for kid, k in (previous or {}).items()}
        if self._macs.get(self.key_id) is not None and previous and previous[self.key_id] != key:
            raise AuditKeyError(f"audit key id {self.key_id} names two different keys")
        self._macs[self.key_id] = hmac.new(key, digestmod=hashlib.sha256)
        self._current = self._macs[self.key_id]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._macs)

    def mac(self, body: bytes, key_id: str | None = None) -> str | None:
        """HMAC-SHA256 hex of ``body`` under ``key_id`` (the current key by default); None for an unknown id."""
        base = self._current if key_id is None else self._macs.get(key_id)
        if base is None:
            return None
        h = base.copy()
        h.update(body)
        return h.hexdigest()


def parse_previous_keys(text: str) -> dict[str, bytes]:
    """``AUDIT_KEYS_PREVIOUS``: comma-separated ``KEYID:BASE64`` (or bare ``BASE64``: id derived from the key)."""
    out: dict[str, bytes] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        kid, _, raw = item.rpartition(":")
        key = parse_key(raw)
        out[kid or derive_key_id(key)] = key
    return out


def _body(fmt: int, key_id: str | None, prev_hash: str, seq: int, at: dt.datetime, actor: str, action: str,
          target: str | None, outcome: str, request_id: str | None, details: dict[str, Any]) -> bytes:
    fields: list[Any] = [prev_hash, seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), actor,
                         action, target, outcome, request_id, details]
    if fmt != LEGACY:
        fields = [fmt, key_id, *fields]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _legacy_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# a declarative class's __table__ is typed FromClause; insert()/update() want the Table it is
_HEAD = cast(Table, AuditHead.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)
# built once: the append runs on every push and share (statement construction cost more than the round trips)
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_NEW_HEAD = insert(_HEAD)
# PostgreSQL: two first appends on an empty chain both miss the head; the loser waits, inserts nothing, re-locks
_NEW_HEAD_PG = pg_insert(_HEAD).on_conflict_do_nothing(index_elements=[_HEAD.c.id])
_APPEND = insert(_EVENTS)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
# PostgreSQL: the append and the head's move in one statement (a data-modifying CTE): one round trip less
_APPENDED = insert(_EVENTS).values({c.name: bindparam(c.name, type_=c.type) for c in _EVENTS.columns}) \
    .returning(_EVENTS.c.seq, _EVENTS.c.hash).cte("appended")
_APPEND_AND_MOVE = update(_HEAD).where(_HEAD.c.id == 1).values(
    seq=select(_APPENDED.c.seq).scalar_subquery(), hash=select(_APPENDED.c.hash).scalar_subquery()).add_cte(_APPENDED)

SESSION_INFO_KEY = "wallet.audit_keyring"


def keyring_of(sess: Session) -> AuditKeyring:
    """The keyring the runtime attached to its sessions (see ``Runtime``); refuse to write an unkeyed event."""
    ring = sess.info.get(SESSION_INFO_KEY)
    if ring is None:
        if has_app_context():
            ring = current_app.extensions["wallet.runtime"].audit_keyring
    if ring is None:
        raise RuntimeError("no audit keyring configured for this session")
    return ring  # type: ignore[no-any-return]


def record(sess: Session, *, actor: str, action: str, outcome: str = "ok", target: str | None = None,
           request_id: str | None = None, details: dict[str, Any] | None = None) -> tuple[int, str]:
    """Append one keyed event in the caller's transaction (locks the chain head until commit).

    Prebuilt Core statements on the session's connection (no ORM unit of work): lock and read the head, then
    append and move it (one statement on PostgreSQL, two elsewhere). Returns the new head (seq, hash)."""
    ring = keyring_of(sess)
    details = details or {}
    conn = sess.connection()
    head = conn.execute(_LOCK_HEAD).first()
    if head is None:
        postgres = conn.dialect.name == "postgresql"
        conn.execute(_NEW_HEAD_PG if postgres else _NEW_HEAD, {"id": 1, "seq": 0, "hash": GENESIS})
        head = conn.execute(_LOCK_HEAD).first() if postgres else None
    prev_seq, prev_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
    seq = prev_seq + 1
    at = utcnow()
    digest = ring.mac(_body(KEYED, ring.key_id, prev_hash, seq, at, actor, action, target, outcome, request_id,
                            details))
    event = {"seq": seq, "at": at, "actor": actor, "action": action, "target": target, "outcome": outcome,
             "request_id": request_id, "details": details, "prev_hash": prev_hash, "hash": digest,
             "chain_format": KEYED, "key_id": ring.key_id}
    if conn.dialect.name == "postgresql":
        conn.execute(_APPEND_AND_MOVE, event)
    else:
        conn.execute(_APPEND, event)
        conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
    return seq, digest  # type: ignore[return-value]


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_broken: int | None = None
    reason: str | None = None
    keyed: int = 0
    key_ids: tuple[str, ...] = ()
    head: tuple[int, str] = (0, GENESIS)


def iter_events(sess: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = sess.execute(select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq)
                            .limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def event_digest(ev: AuditEvent, ring: AuditKeyring) -> str | None:
    body = _body(ev.chain_format, ev.key_id, ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.target,
                 ev.outcome, ev.request_id, ev.details or {})
    if ev.chain_format == LEGACY:
        return _legacy_digest(body)
    return ring.mac(body, ev.key_id)


def verify_chain(sess: Session, ring: AuditKeyring | None = None,
                 hashes_at: set[int] | None = None) -> tuple[ChainCheck, dict[int, str]]:
    """Recompute every event's hash (MACs under the keyring), then compare the head.

    Returns the check and the hashes of the events whose seq is in ``hashes_at`` (the checkpoints')."""
    ring = ring or keyring_of(sess)
    wanted, found = hashes_at or set(), dict[int, str]()
    used: dict[str, None] = {}  # the key ids met, in order of first use
    prev, expected_seq, count, keyed = GENESIS, 1, 0, 0

    def broken(seq: int | None, reason: str) -> tuple[ChainCheck, dict[int, str]]:
        return ChainCheck(False, count, seq, reason, keyed, tuple(used)), found

    for ev in iter_events(sess):
        count += 1
        if ev.seq != expected_seq:
            return broken(expected_seq, f"event {expected_seq} is missing (found {ev.seq})")
        if ev.prev_hash != prev:
            return broken(ev.seq, "does not follow the previous event (removed or reordered)")
        if ev.chain_format == LEGACY:
            if keyed:
                return broken(ev.seq, "unkeyed event after the keyed chain began (re-chained without the key)")
        elif ev.chain_format == KEYED:
            if ev.key_id not in ring.key_ids:
                return broken(ev.seq, f"chained with key {ev.key_id!r}, which is not in the keyring "
                                      "(AUDIT_KEY / AUDIT_KEYS_PREVIOUS)")
            keyed += 1
            used[ev.key_id] = None
        else:
            return broken(ev.seq, f"unknown chain format {ev.chain_format!r}")
        digest = event_digest(ev, ring)
        if digest is None or not hmac.compare_digest(digest, ev.hash):
            return broken(ev.seq, "content altered")
        if ev.seq in wanted:
            found[ev.seq] = ev.hash
        prev, expected_seq = ev.hash, ev.seq + 1
    last = expected_seq - 1
    head = sess.get(AuditHead, 1)
    if head is not None and (head.seq != last or head.hash != prev):
        return broken(last if count else None, "the newest events were removed (chain head does not match)")
    if count and not keyed:
        return broken(last, "the chain has no keyed event: it could have been rewritten without the key "
                            "(a fresh upgrade: run `flask --app wallet audit checkpoint` to start the keyed chain)")
    return ChainCheck(True, count, keyed=keyed, key_ids=tuple(used), head=(last, prev)), found
