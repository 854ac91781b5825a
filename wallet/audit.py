"""Append-only, hash-chained audit log.

Each event's hash covers its content and the previous event's hash, so altering, removing or reordering a
row breaks the chain from that point. Events are written in the same transaction as the change they record.
Never store document content or tokens here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, bindparam, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from wallet.db import Base, utcnow

GENESIS = "0" * 64


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


class AuditHead(Base):
    """A single row locked while appending, so concurrent writers extend the chain one at a time."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


def _digest(prev_hash: str, seq: int, at: dt.datetime, actor: str, action: str, target: str | None,
            outcome: str, request_id: str | None, details: dict[str, Any]) -> str:
    body = json.dumps([prev_hash, seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), actor,
                       action, target, outcome, request_id, details], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


_HEAD = AuditHead.__table__
_EVENTS = AuditEvent.__table__
# built once: the append runs on every push and share (statement construction cost more than the round trips)
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_NEW_HEAD = insert(_HEAD)
_APPEND = insert(_EVENTS)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
# PostgreSQL: the append and the head's move in one statement (a data-modifying CTE): one round trip less
_APPENDED = insert(_EVENTS).values({c.name: bindparam(c.name, type_=c.type) for c in _EVENTS.columns}) \
    .returning(_EVENTS.c.seq, _EVENTS.c.hash).cte("appended")
_APPEND_AND_MOVE = update(_HEAD).where(_HEAD.c.id == 1).values(
    seq=select(_APPENDED.c.seq).scalar_subquery(), hash=select(_APPENDED.c.hash).scalar_subquery()).add_cte(_APPENDED)


def record(sess: Session, *, actor: str, action: str, outcome: str = "ok", target: str | None = None,
           request_id: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Append one event in the caller's transaction (locks the chain head until commit).

    Prebuilt Core statements on the session's connection (no ORM unit of work): lock and read the head, then
    append and move it (one statement on PostgreSQL, two elsewhere)."""
    details = details or {}
    conn = sess.connection()
    head = conn.execute(_LOCK_HEAD).first()
    if head is None:
        conn.execute(_NEW_HEAD, {"id": 1, "seq": 0, "hash": GENESIS})
        prev_seq, prev_hash = 0, GENESIS
    else:
        prev_seq, prev_hash = head.seq, head.hash
    seq = prev_seq + 1
    at = utcnow()
    digest = _digest(prev_hash, seq, at, actor, action, target, outcome, request_id, details)
    event = {"seq": seq, "at": at, "actor": actor, "action": action, "target": target, "outcome": outcome,
             "request_id": request_id, "details": details, "prev_hash": prev_hash, "hash": digest}
    if conn.dialect.name == "postgresql":
        conn.execute(_APPEND_AND_MOVE, event)
        return
    conn.execute(_APPEND, event)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_broken: int | None = None
    reason: str | None = None


def iter_events(sess: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = sess.execute(select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq)
                            .limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(sess: Session) -> ChainCheck:
    prev, expected_seq, count = GENESIS, 1, 0
    for ev in iter_events(sess):
        count += 1
        if ev.seq != expected_seq:
            return ChainCheck(False, count, expected_seq, f"event {expected_seq} is missing (found {ev.seq})")
        if ev.prev_hash != prev:
            return ChainCheck(False, count, ev.seq, "does not follow the previous event (removed or reordered)")
        digest = _digest(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.target, ev.outcome, ev.request_id,
                         ev.details or {})
        if digest != ev.hash:
            return ChainCheck(False, count, ev.seq, "content altered")
        prev, expected_seq = ev.hash, ev.seq + 1
    head = sess.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return ChainCheck(False, count, expected_seq - 1 if count else None,
                          "the newest events were removed (chain head does not match)")
    return ChainCheck(True, count)
