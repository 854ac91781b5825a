"""Notifications to citizens' browsers: event listeners that enqueue, jobs that fan out and send.

``document.accepted`` (kind ``document.arrived``, or ``document.replaced`` when it replaces one),
``document.revoked`` and ``share.viewed`` each enqueue ONE job (``push.document`` / ``push.share_viewed``: a
share's views at most once per share per five minutes, ``wallet.push.gate``) that finds the browsers to tell
after the commit, in a worker; that job enqueues one ``push.send`` per browser, so each is retried on its own.
Nothing is read or written in the publisher's unit of work (the QR look and the push are hot paths).

The payload (JSON, encrypted for the browser, RFC 8291 ``aes128gcm``; VAPID JWT, RFC 8292) carries no national
ID, name or document content: ``{"kind", "type" (a document type code), "url" (a path of the PWA), "lang"}``
and ``"as": "guardian"`` for a minor's document. The service worker shows it in ``lang`` (its own texts).

Answers: 2xx kept (``last_sent_at``); 404/410 (the browser unsubscribed) the subscription is deleted; 429 and
5xx and network faults retried with back-off (``Retry-After`` honoured, at most an hour); other 4xx dropped
with a warning. A subscription whose endpoint is no longer allowed is deleted.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import certifi
import urllib3
from flask import current_app
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, update

from wallet import db, events, jobs, metrics
from wallet.db import utcnow
from wallet.documents.models import Document
from wallet.push import endpoints, service
from wallet.push.keys import VapidKey, b64u
from wallet.push.models import PushSubscription

log = logging.getLogger(__name__)

KINDS = ("document.arrived", "document.replaced", "document.revoked", "share.viewed")
TTL = {"document.arrived": 7 * 86400, "document.replaced": 7 * 86400, "document.revoked": 7 * 86400,
       "share.viewed": 86400}  # seconds a push service keeps a message for a browser that is offline
CONNECT_SECONDS, READ_SECONDS = 5.0, 10.0
MAX_ANSWER = 64 * 1024
MAX_RETRY_AFTER = 3600.0


def vapid() -> VapidKey:
    return current_app.extensions["wallet.vapid"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------- listeners

@events.listen("document.accepted")
def _accepted(_sess: Any, *, document: Any, replaced: Any = None, **_: Any) -> None:
    jobs.enqueue("push.document", document.id, "document.replaced" if replaced is not None else "document.arrived")


@events.listen("document.revoked")
def _revoked(_sess: Any, *, document: Any, **_: Any) -> None:
    jobs.enqueue("push.document", document.id, "document.revoked")


@events.listen("share.viewed")
def _viewed(_sess: Any, *, share_id: str, holder_id: str, document_types: list[str] | tuple[str, ...],
            **_: Any) -> None:
    if not current_app.extensions["wallet.runtime"].view_notices.first(share_id):
        return  # told of this share's views a moment ago (wallet.push.gate)
    jobs.enqueue("push.share_viewed", share_id, holder_id, document_types[0] if document_types else "")


@events.listen("sessions.ended")
def _signed_out(sess: Any, *, citizen_id: str, session_ids: list[str] | None, successor: str | None = None,
                **_: Any) -> None:
    """Signing out stops the notifications turned on in that session (everywhere, or a reset: all of them); the
    same citizen signing in again on that device keeps them (moved to the new session)."""
    service.signed_out(sess, citizen_id, session_ids, successor)


# ------------------------------------------------------------------------------------------- fan-out jobs

def payload(kind: str, type_code: str, url: str, recipient: service.Recipient) -> str:
    body: dict[str, str] = {"kind": kind, "type": type_code, "url": url, "lang": recipient.lang}
    if recipient.held_as:
        body["as"] = recipient.held_as
    return json.dumps(body, separators=(",", ":"))


@jobs.task("push.document", max_retries=5, backoff=5.0, backoff_max=300.0)
def notify_document(document_id: str, kind: str) -> None:
    with db.transaction() as sess:
        doc = sess.get(Document, document_id)
        if doc is None or kind not in KINDS:
            return
        for r in service.document_recipients(sess, doc.holder_id):
            jobs.enqueue("push.send", r.subscription_id, kind, payload(kind, doc.type, f"/documents/{doc.id}", r))


@jobs.task("push.share_viewed", max_retries=5, backoff=5.0, backoff_max=300.0)
def notify_share_viewed(_share_id: str, citizen_id: str, type_code: str) -> None:
    with db.transaction() as sess:
        for r in service.citizen_recipients(sess, citizen_id):
            jobs.enqueue("push.send", r.subscription_id, "share.viewed", payload("share.viewed", type_code,
                                                                                 "/activity", r))


# ------------------------------------------------------------------------------------------- one send

@dataclass
class Answer:
    """What pywebpush reads of a ``requests.Response``."""

    status_code: int
    reason: str
    text: str
    headers: Any


class PinnedConnection:
    """pywebpush's "requests session": POSTs to the address checked for the endpoint's host (TLS still checks
    the host's certificate and sends its name), never following a redirect, reading at most 64 kB."""

    def __init__(self, target: endpoints.Target, address: endpoints.IPAddress) -> None:
        self.target, self.address = target, address

    def post(self, _endpoint: str, *, data: bytes | None = None, headers: Any = None, timeout: Any = None) -> Answer:
        t = self.target
        common: dict[str, Any] = {"timeout": urllib3.Timeout(connect=CONNECT_SECONDS, read=READ_SECONDS),
                                  "retries": False, "maxsize": 1}
        pool: urllib3.HTTPConnectionPool
        if t.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(str(self.address), t.port, cert_reqs="CERT_REQUIRED",
                                               ca_certs=certifi.where(), server_hostname=t.host,
                                               assert_hostname=t.host, **common)
        else:
            pool = urllib3.HTTPConnectionPool(str(self.address), t.port, **common)
        sent = {str(k): str(v) for k, v in dict(headers or {}).items()}
        sent["Host"] = t.netloc
        try:
            resp = pool.urlopen("POST", t.path, body=data, headers=sent, redirect=False, preload_content=False,
                                retries=False)
            try:
                text = resp.read(MAX_ANSWER, decode_content=False).decode("utf-8", "replace")
            finally:
                resp.release_conn()
            return Answer(resp.status, resp.reason or "", text, resp.headers)
        finally:
            pool.close()


def _retry_after(headers: Any) -> float | None:
    value = (headers or {}).get("Retry-After") if headers is not None else None
    if value and str(value).strip().isascii() and str(value).strip().isdigit():
        return min(MAX_RETRY_AFTER, float(str(value).strip()))
    return None


def _drop(subscription_id: str) -> None:
    with db.transaction() as sess:
        sess.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id),
                     execution_options={"synchronize_session": False})


@jobs.task("push.send", max_retries=8, backoff=30.0, backoff_max=3600.0)
def send(subscription_id: str, kind: str, body: str) -> None:
    settings = current_app.config["WALLET_SETTINGS"]
    sess = db.session()
    sub = sess.get(PushSubscription, subscription_id)
    if sub is None:
        db.rollback()
        return
    info = {"endpoint": sub.endpoint, "keys": {"p256dh": b64u(sub.p256dh), "auth": b64u(sub.auth)}}
    db.rollback()  # no transaction (SQLite: no write lock) held while the push service answers
    try:
        target = endpoints.parse(info["endpoint"], settings.webpush_allowed_hosts)  # type: ignore[arg-type]
        address = endpoints.pinned_address(target)
    except endpoints.EndpointRefused as exc:
        metrics.PUSH_DELIVERIES.labels("failed").inc()
        log.warning("push subscription %s dropped: %s (%s)", subscription_id, exc.code, exc.detail)
        _drop(subscription_id)
        return
    except (OSError, UnicodeError) as exc:
        raise jobs.TryLater(f"push service not resolved: {type(exc).__name__}") from exc
    key = vapid()
    claims: dict[str, str | int] = {"sub": key.subject, "aud": f"{target.scheme}://{target.netloc}",
                                    "exp": int(time.time()) + 12 * 3600}
    try:
        answer: Any = webpush(info, data=body, vapid_private_key=key.signer, vapid_claims=claims,
                              content_encoding="aes128gcm", ttl=TTL.get(kind, 86400),
                              headers={"Urgency": "normal"},
                              requests_session=PinnedConnection(target, address))
    except WebPushException as exc:
        answer = exc.response
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        metrics.PUSH_DELIVERIES.labels("retry").inc()
        raise jobs.TryLater(f"push service unreachable: {type(exc).__name__}") from exc
    status = int(getattr(answer, "status_code", 0) or 0)
    if 200 <= status < 300:
        metrics.PUSH_DELIVERIES.labels("sent").inc()
        with db.transaction() as s:
            s.execute(update(PushSubscription).where(PushSubscription.id == subscription_id)
                      .values(last_sent_at=utcnow()), execution_options={"synchronize_session": False})
    elif status in (404, 410):
        metrics.PUSH_DELIVERIES.labels("gone").inc()
        _drop(subscription_id)  # the browser unsubscribed (or the push service forgot it)
    elif status == 429 or status >= 500 or status == 0:
        metrics.PUSH_DELIVERIES.labels("retry").inc()
        raise jobs.TryLater(f"push service answered {status}", after=_retry_after(getattr(answer, "headers", None)))
    else:
        metrics.PUSH_DELIVERIES.labels("failed").inc()
        log.warning("push to subscription %s refused with %s: message dropped", subscription_id, status)
