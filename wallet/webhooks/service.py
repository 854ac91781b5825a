"""Agencies' webhooks: the endpoint and its secret, the outbox rows events leave, their delivery and listing.

- ``set_webhook``: the URL (checked against ``WEBHOOK_ALLOWED_HOSTS``) and, the first time or on ``rotate``, a
  new secret, returned once. Rotation replaces the secret at once: every POST after it, retries of events
  recorded before it included, is signed with the new secret (the old one verifies nothing any more).
- Listeners of ``wallet.events``: for an agency with a webhook, one ``WebhookDelivery`` row holding the exact
  body, and the job ``webhooks.deliver`` enqueued (handed over after the commit). The body names only the
  agency's own reference, document and batch ids and the outcome: never a holder's ID, a name or any content.
- ``deliver`` (the job): claims the row (a lease, so two runners never send it at once), POSTs it signed
  ``Wallet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, and records the answer. 2xx is
  delivered; anything else retries after ``backoff(attempts)`` (or the answer's Retry-After, within
  [back-off, MAX_DELAY]) until ``WINDOW`` after the event, then the row is failed.
- ``resend_due``: the sweeper, for jobs lost with a stopped process (the thread backend keeps none).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from wallet import audit, db, events, jobs, metrics
from wallet.agencies.models import Agency
from wallet.crypto import Envelope
from wallet.documents.models import Document
from wallet.errors import BadRequest
from wallet.extensions import runtime
from wallet.webhooks import destinations, sender
from wallet.webhooks.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every generated secret, not a secret
BACKOFF_FIRST = 30.0  # seconds before the first retry, doubled at each one
MAX_DELAY = 3600.0  # never more than an hour between two attempts (Retry-After included)
WINDOW = dt.timedelta(hours=24)  # retries stop this long after the event: the delivery is failed
LEASE = dt.timedelta(seconds=120)  # a claimed attempt holds the row this long (more than its timeouts)
DUE_SLACK = dt.timedelta(seconds=2)  # a runner's timer may fire a little early (clocks, rounding)
MAX_ADDRESSES = 3  # addresses of one host tried per attempt
JOB = "webhooks.deliver"


def secret_aad(agency_id: str) -> str:
    return f"webhook:{agency_id}:secret"


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: 30, 60, 120 … capped at an hour."""
    return float(min(MAX_DELAY, BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------------------------- the endpoint

@dataclass(frozen=True)
class WebhookSet:
    url: str
    secret: str | None  # the new secret (shown once), None when the existing one was kept
    created: bool


def set_webhook(sess: Session, envelope: Envelope, agency: Agency, url: str, allowed: Sequence[str], *,
                rotate: bool = False) -> WebhookSet:
    """Set the agency's webhook URL (``destinations.Refused`` when not allowed); a secret is made when there was
    none or ``rotate`` asks for one."""
    destinations.check_url(url, allowed)
    endpoint = sess.get(WebhookEndpoint, agency.id)
    secret = None
    if endpoint is None or rotate:
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    created = endpoint is None
    now = _now()
    if endpoint is None:
        endpoint = WebhookEndpoint(agency_id=agency.id, created_at=now)
        sess.add(endpoint)
    endpoint.url = url
    if secret is not None:
        endpoint.secret_enc = envelope.encrypt_small(secret.encode(), secret_aad(agency.id))
        endpoint.secret_created_at = now
    sess.flush()
    audit.record(sess, actor="operator", action="agency.set_webhook", target=f"agency:{agency.code}",
                 details={"host": destinations.check_url(url, allowed).host_header, "created": created,
                          "new_secret": secret is not None})
    return WebhookSet(url, secret, created)


def remove_webhook(sess: Session, agency: Agency) -> bool:
    """Remove the agency's webhook: pending deliveries fail at their next attempt."""
    endpoint = sess.get(WebhookEndpoint, agency.id)
    if endpoint is None:
        return False
    sess.delete(endpoint)
    sess.flush()
    audit.record(sess, actor="operator", action="agency.remove_webhook", target=f"agency:{agency.code}")
    return True


# --------------------------------------------------------------------------------------------- the outbox

def record(sess: Session, agency_id: str, event_type: str, data: dict[str, Any]) -> WebhookDelivery | None:
    """One outbox row for ``agency_id``'s webhook (None without one) and its job, sent after the commit."""
    if sess.get(WebhookEndpoint, agency_id) is None:
        return None
    now = _now()
    event_id = uuid.uuid4().hex
    body = json.dumps({"id": event_id, "type": event_type,
                       "created_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"), "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode()
    row = WebhookDelivery(agency_id=agency_id, event_id=event_id, type=event_type, body=body, status="pending",
                          attempts=0, next_attempt_at=now, created_at=now, updated_at=now)
    sess.add(row)
    sess.flush()
    jobs.enqueue(JOB, row.id)
    return row


@events.listen("document.accepted")
def _accepted(sess: Session, *, document: Document, replaced: Document | None = None,
              batch_id: str | None = None, **_: Any) -> None:
    record(sess, document.agency_id, "document.accepted",
           {"reference": document.reference, "document_id": document.id, "status": "accepted",
            "replaces": replaced.id if replaced is not None else None, "batch_id": batch_id})


@events.listen("document.rejected")
def _rejected(sess: Session, *, agency_id: str, reference: str | None, code: str,
              batch_id: str | None = None, **_: Any) -> None:
    # the problem's ``detail`` stays out: it may quote the metadata (GET /api/v1/batches/{id} has it)
    record(sess, agency_id, "document.rejected",
           {"reference": reference, "document_id": None, "status": "rejected", "code": code, "batch_id": batch_id})


@events.listen("document.revoked")
def _revoked(sess: Session, *, document: Document, **_: Any) -> None:
    # the reason is the agency's free text (it may name someone): it stays out
    record(sess, document.agency_id, "document.revoked",
           {"reference": document.reference, "document_id": document.id, "status": "revoked"})


@events.listen("batch.completed")
def _batch_completed(sess: Session, *, batch: Any, **_: Any) -> None:
    record(sess, batch.agency_id, "batch.completed",
           {"batch_id": batch.id, "status": "done", "total": batch.total, "accepted": batch.accepted,
            "rejected": batch.rejected})


# --------------------------------------------------------------------------------------------- delivery

def _claim(sess: Session, delivery_id: str, now: dt.datetime) -> bool:
    """Take the row for one attempt if it is pending and due (its lease moves the due time on)."""
    result = sess.execute(update(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
        or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now + DUE_SLACK))
        .values(next_attempt_at=now + LEASE, updated_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


@jobs.task(JOB, max_retries=64, backoff=BACKOFF_FIRST, backoff_max=MAX_DELAY,
           on_give_up=lambda delivery_id: give_up(delivery_id))
def deliver(delivery_id: str) -> None:
    """One attempt; raises ``jobs.TryLater`` with the delay until the next one."""
    rt = runtime()
    allowed = rt.settings.webhook_allowed_hosts
    now = _now()
    with db.transaction() as sess:
        if not _claim(sess, delivery_id, now):
            return  # delivered, failed, not due (a retry is scheduled) or another runner has it
        row = sess.get(WebhookDelivery, delivery_id)
        assert row is not None
        endpoint = sess.get(WebhookEndpoint, row.agency_id)
        body, created = row.body, row.created_at
        url = endpoint.url if endpoint is not None else None
        secret = rt.envelope.decrypt_small(endpoint.secret_enc, secret_aad(row.agency_id)).decode() \
            if endpoint is not None else None
    outcome = _attempt(url, secret, body, allowed)
    log.info("webhook delivery %s attempt: %s", delivery_id,
             "delivered" if outcome.delivered else f"not delivered ({outcome.error})")
    now = _now()
    with db.transaction() as sess:
        row = sess.get(WebhookDelivery, delivery_id)
        assert row is not None
        row.attempts += 1
        row.last_status, row.last_error = outcome.status, (outcome.error or None) and outcome.error[:300]
        row.updated_at = now
        if outcome.delivered:
            row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
            metrics.WEBHOOK_DELIVERIES.labels("delivered").inc()
            return
        delay = backoff(row.attempts)
        if outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, MAX_DELAY))
        deadline = created + WINDOW
        if url is None or now >= deadline:
            row.status, row.next_attempt_at = "failed", None
            metrics.WEBHOOK_DELIVERIES.labels("failed").inc()
            return
        metrics.WEBHOOK_DELIVERIES.labels("retry").inc()
        row.next_attempt_at = min(now + dt.timedelta(seconds=delay), deadline)
        wait = (row.next_attempt_at - now).total_seconds()
    raise jobs.TryLater(f"webhook delivery {delivery_id}: {outcome.error}", after=wait)


def _attempt(url: str | None, secret: str | None, body: bytes, allowed: Sequence[str]) -> sender.Outcome:
    if url is None or secret is None:
        return sender.Outcome(None, "the agency has no webhook any more")
    try:
        dest = destinations.check_url(url, allowed)  # the setting may have changed since set-webhook
        addresses = destinations.resolve(dest, allowed)[:MAX_ADDRESSES]
    except destinations.Refused as exc:
        return sender.Outcome(None, f"refused ({exc.code}): {exc}")
    stamp = int(time.time())
    return sender.post(dest, addresses, body, {"Wallet-Signature": sender.signature(secret, body, stamp)})


def give_up(delivery_id: str) -> None:
    """The runner stopped retrying (its own limit): the row is failed, unless delivered meanwhile."""
    with db.transaction() as sess:
        sess.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                   WebhookDelivery.status == "pending")
                     .values(status="failed", next_attempt_at=None, updated_at=_now()))


def resend_due(sess: Session, *, limit: int = 1000) -> int:
    """Enqueue pending deliveries that are due (oldest first), e.g. after a restart lost the thread backend's
    timers; rows past their window are failed. Returns how many were enqueued."""
    now = _now()
    sess.execute(update(WebhookDelivery).where(WebhookDelivery.status == "pending",
                                               WebhookDelivery.created_at < now - WINDOW,
                                               WebhookDelivery.next_attempt_at <= now)
                 .values(status="failed", next_attempt_at=None, updated_at=now,
                         last_error="not delivered within 24 hours"))
    ids = sess.execute(select(WebhookDelivery.id).where(
        WebhookDelivery.status == "pending",
        or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now))
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)).scalars().all()
    for delivery_id in ids:
        jobs.enqueue(JOB, delivery_id)
    return len(ids)


# --------------------------------------------------------------------------------------------- listing

class BadCursor(BadRequest):
    code = "bad_cursor"


MAX_LIMIT = 100


def _cursor(row: WebhookDelivery) -> str:
    raw = f"{row.created_at.astimezone(dt.UTC).isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, delivery_id = raw.partition("|")
        at = dt.datetime.fromisoformat(when)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise BadCursor("the cursor is not one this API gave (pass next_cursor as it is)") from exc
    if at.tzinfo is None or len(delivery_id) != 32 or not all(c in "0123456789abcdef" for c in delivery_id):
        raise BadCursor("the cursor is not one this API gave (pass next_cursor as it is)")
    return at, delivery_id


def list_deliveries(sess: Session, agency: Agency, *, limit: int = 50,
                    cursor: str | None = None) -> tuple[list[WebhookDelivery], str | None]:
    """The agency's deliveries, newest first, and the cursor of the next page (None at the end)."""
    q = select(WebhookDelivery).where(WebhookDelivery.agency_id == agency.id)
    if cursor:
        at, last_id = _parse_cursor(cursor)
        q = q.where(or_(WebhookDelivery.created_at < at,
                        and_(WebhookDelivery.created_at == at, WebhookDelivery.id < last_id)))
    rows = list(sess.execute(q.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
                             .limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_cursor(rows[-1]) if more and rows else None)


def to_resource(row: WebhookDelivery) -> dict[str, Any]:
    return {"id": row.id, "event_id": row.event_id, "type": row.type, "status": row.status,
            "attempts": row.attempts, "last_status_code": row.last_status, "last_error": row.last_error,
            "created_at": row.created_at,
            "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
            "delivered_at": row.delivered_at}
