"""Validation of PDFs from outside, in the validator pool (signing/sandbox.py), for the upload and push paths.

The work is bounded by the pool's budgets and stops when the HTTP client goes away: while the validator runs,
the request's socket is watched, and a peer that closed its side of the connection gets its validator killed.
"""
from __future__ import annotations

import select
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request

from signing.errors import SigningLibraryError
from signing.sandbox import ValidationCancelled, ValidatorBusy
from wallet.errors import Unavailable
from wallet.metrics import VALIDATION_SECONDS, timed

if TYPE_CHECKING:
    from signing import TrustStore, ValidationReport
    from wallet.extensions import Runtime

RETRY_AFTER = "5"


def client_gone(environ: dict[str, Any]) -> Callable[[], bool] | None:
    """A check that is true once the client closed the connection (gunicorn and werkzeug expose the socket)."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return None

    def gone() -> bool:
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            # readable with no data: the peer closed (a pipelined next request would show bytes)
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True

    return gone


def validate_pdf(rt: Runtime, data: bytes, trust: TrustStore, *, max_size: int | None = None) -> ValidationReport:
    cancelled = client_gone(request.environ) if has_request_context() else None
    try:
        with timed(VALIDATION_SECONDS) as outcome:
            try:
                return rt.validator.validate(data, trust, max_signatures=rt.settings.max_signatures,  # type: ignore[no-any-return]
                                             max_size=max_size or rt.settings.max_upload_bytes, cancelled=cancelled)
            except ValidatorBusy:
                outcome["outcome"] = "busy"
                raise
    except ValidatorBusy as exc:
        raise Unavailable("every document checker is busy; try again in a few seconds",
                          headers={"Retry-After": RETRY_AFTER}) from exc
    except ValidationCancelled as exc:
        raise Unavailable("the request ended before the document was checked") from exc
    except SigningLibraryError as exc:
        raise Unavailable("the document checker is not available", headers={"Retry-After": RETRY_AFTER}) from exc
