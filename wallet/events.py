"""What happened, for whoever must be told: agencies by webhook, citizens by Web Push (issue 16).

Services publish an event inside their unit of work; each listener runs there and then, on the same session,
and only records what must be sent (an outbox row) and enqueues the job that sends it (``wallet.jobs.enqueue``,
handed over after the commit): a rolled-back change tells nobody, and a slow receiver never holds a request.

Events and their keyword arguments:
- ``document.accepted``: ``document`` (the stored ``Document``), ``replaced`` (the ``Document`` it replaces or
  None), ``batch_id`` (None for a single push)
- ``document.rejected``: ``agency_id``, ``reference``, ``code``, ``detail``, ``batch_id`` (a batch's item; a single
  push's rejection is answered to the agency at once)
- ``document.revoked``: ``document``, ``reason``
- ``batch.completed``: ``batch`` (its row: id, agency_id, totals)
- ``share.viewed``: ``share_id``, ``holder_id``, ``document_types``
- ``sessions.ended``: ``citizen_id``, ``session_ids`` (the sessions signed out; None: every one of the citizen's),
  ``successor`` (the citizen's new session on the same device, when they signed in again there; else None)
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

EVENTS = ("document.accepted", "document.rejected", "document.revoked", "batch.completed", "share.viewed",
          "sessions.ended")

Listener = Callable[..., None]
_LISTENERS: dict[str, list[Listener]] = {name: [] for name in EVENTS}


def listen(event: str) -> Callable[[Listener], Listener]:
    """Register ``fn(sess, **data)`` for ``event`` (at import time of the listener's module)."""
    if event not in _LISTENERS:
        raise KeyError(f"no event named {event}")

    def register(fn: Listener) -> Listener:
        if fn not in _LISTENERS[event]:
            _LISTENERS[event].append(fn)
        return fn

    return register


def publish(sess: Session, event: str, **data: Any) -> None:
    """Call every listener of ``event`` in the caller's unit of work (a listener's error fails it: nothing is
    promised that was not recorded)."""
    for fn in _LISTENERS[event]:
        fn(sess, **data)
