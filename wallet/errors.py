"""One error family, one translation point: problem+json under /api, a friendly localised page elsewhere.

- ``WalletError`` and its subclasses are every refusal a service or view raises (status, stable ``code``,
  ``detail``, extension members in ``extra``); ``BY_STATUS`` names the class a bare HTTP status stands for.
- ``respond()`` is the one mapping: ``problem()`` (RFC 9457 ``application/problem+json``) for the API, the
  readiness probes and JSON clients, ``page()`` (``error.html``, localised) for a browser. The handlers of
  ``register_error_handlers`` send werkzeug's and apiflask's errors and unexpected exceptions through it.
- ``Problem`` is that body's schema for the OpenAPI document (``wallet.present.problem_responses`` documents
  the answers of a view with it).
"""
from __future__ import annotations

import logging
from typing import Any

from apiflask import APIFlask, HTTPError, Schema, fields
from flask import Response, g, json, render_template, request
from flask_babel import gettext
from jinja2 import TemplateNotFound
from markupsafe import escape
from marshmallow import INCLUDE
from sqlalchemy import exc as sa
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from wallet import db
from wallet.storage import StorageUnavailable

log = logging.getLogger("wallet")

PROBLEM = "application/problem+json"


class WalletError(Exception):
    """An answer the client gets. It always rolls the request back; what must outlive that (the audit event of
    the rejection) was handed to ``wallet.db.record_rejection`` before raising."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, code: str | None = None, status: int | None = None,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(WalletError):
    status, code, title = 400, "bad_request", "Bad request"


class BadMetadata(WalletError):
    status, code, title = 400, "bad_metadata", "Invalid metadata"


class Unauthorized(WalletError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(WalletError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(WalletError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(WalletError):
    status, code, title = 409, "conflict", "Conflict"


class TooLarge(WalletError):
    status, code, title = 413, "too_large", "Upload too large"


class UnsupportedMedia(WalletError):
    status, code, title = 415, "not_a_pdf", "Not a PDF"


class Unprocessable(WalletError):
    status, code, title = 422, "unprocessable", "Unprocessable document"


class RateLimited(WalletError):
    status, code, title = 429, "rate_limited", "Too many requests"


class Unavailable(WalletError):
    status, code, title = 503, "unavailable", "Service unavailable"


class MethodNotAllowed(WalletError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class InternalError(WalletError):
    status, code, title = 500, "internal_error", "Internal error"


# the family member a bare HTTP status stands for (werkzeug's and apiflask's errors are answered with its code)
BY_STATUS: dict[int, type[WalletError]] = {cls.status: cls for cls in (
    BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict, TooLarge, UnsupportedMedia,
    Unprocessable, RateLimited, InternalError, Unavailable)}


class Problem(Schema):
    """RFC 9457 problem details; extension members may follow (RFC 9457 section 3.2), those below are ours."""

    class Meta:
        unknown = INCLUDE  # documented as additionalProperties: true, as the RFC allows extension members

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String()
    detail = fields.String()
    request_id = fields.String(metadata={"description": "the X-Request-ID of the answer, to quote to support"})
    errors = fields.Raw(metadata={"description": "per-field messages of a request that failed validation"})
    retry_after = fields.Integer(metadata={"description": "seconds to wait (also in the Retry-After header)"})
    reason = fields.String(metadata={"description": "why a password was refused (weak_password)"})
    result = fields.String(metadata={"description": "the verification result (verification answers)"})
    field = fields.String(metadata={"description": "metadata_mismatch: the field that differs (or document.json)"})
    document_id = fields.String(metadata={"description": "document_not_shareable: the document refused"})
    document_status = fields.String(metadata={"description": "document_not_shareable: its status (revoked, "
                                                             "expired or replaced)"})


# A part we depend on is down or busy (database restarting, blob store unreachable, SQLite writer lock held too
# long): the request did not happen; the client may retry the same call after this many seconds (pushes are
# idempotent, so a retry is at worst an identical replay).
RETRY_AFTER_SECONDS = 5


def is_transient(exc: BaseException) -> bool:
    """A failure of a backing service, not of this request: 503 + Retry-After instead of 500.

    - the blob store said it is unreachable (:class:`wallet.storage.StorageUnavailable`);
    - SQLAlchemy lost or could not get a connection (``connection_invalidated``, pool timeout,
      ``DisconnectionError``), or the driver reported a connection-level ``OperationalError`` (PostgreSQL
      refusing connections, shutting down or restarting: SQLSTATE classes 08 and 57P);
    - SQLite's writer lock or busy timeout ("database is locked"). Other SQLite ``OperationalError``s
      ("no such table", syntax) are bugs and stay 500.
    """

    if isinstance(exc, StorageUnavailable):
        return True
    if isinstance(exc, (sa.TimeoutError, sa.DisconnectionError)):
        return True
    if isinstance(exc, sa.DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        sqlstate = str(getattr(orig, "sqlstate", "") or "")
        if sqlstate[:2] == "08" or sqlstate[:3] == "57P":
            return True
        module = type(orig).__module__ if orig is not None else ""
        if module.startswith("psycopg") and isinstance(exc, (sa.OperationalError, sa.InterfaceError)):
            return True  # connection refused / closed / lost: psycopg raises these without a SQLSTATE
        if module.startswith("sqlite3") and isinstance(exc, sa.OperationalError):
            text = str(orig).lower()
            return "database is locked" in text or "database is busy" in text
    return False


STATUS_CODES = {status: cls.code for status, cls in BY_STATUS.items()}


def wants_problem() -> bool:
    return (request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")
            or request.accept_mimetypes.best == "application/json")


def problem(status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"type": f"about:blank#{code}" if status != 500 else "about:blank",
                            "title": title, "status": status, "code": code, "detail": detail}
    rid = g.get("request_id")
    if rid:
        body["request_id"] = rid
    if extra:
        body.update(extra)

    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def page(status: int, code: str, title: str, detail: str) -> Response:
    """The friendly page. Title and detail are translated here, as plain strings the template escapes (in the
    template, ``_(detail)`` would come back as Markup and be inserted unescaped)."""
    try:
        html = render_template("error.html", status=status, code=code, title=gettext(title) if title else "",
                               detail=gettext(detail) if detail else "")
    except TemplateNotFound:
        html = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(detail)}</p>"
    return Response(html, status=status, mimetype="text/html")


def respond(status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    if wants_problem():
        return problem(status, code, title, detail, extra, headers)
    resp = page(status, code, title, detail)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def register_error_handlers(app: APIFlask) -> None:
    @app.errorhandler(WalletError)
    def _wallet_error(err: WalletError) -> Response:
        try:
            db.rollback()  # then the rejection's own writes (record_rejection), in their own transaction
        except Exception as exc:  # noqa: BLE001 - keeping the rejection's audit event failed: not a 4xx any more
            return _unexpected(exc)
        headers = err.headers
        if err.status == 503 and "Retry-After" not in headers:
            headers = {**headers, "Retry-After": str(RETRY_AFTER_SECONDS)}  # not ready, sealing failed ...
        return respond(err.status, err.code, err.title, err.detail, err.extra, headers)

    @app.error_processor
    def _apiflask_error(err: HTTPError) -> Response:
        # validation errors from the request schemas, and abort() inside apiflask views
        status = err.status_code
        code = STATUS_CODES.get(status, "error")
        extra = {}
        detail = err.message or "Invalid request"
        if err.detail:
            extra["errors"] = err.detail
            detail = "Invalid request: see errors"
            code = "bad_request" if status == 400 else code
        return problem(status, code, err.message or "Error", detail, extra, dict(Headers(err.headers)))

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        code = STATUS_CODES.get(status, "error")
        detail = err.description or err.name
        if status == 429:
            detail = "Too many requests: slow down and try again later."
        resp = respond(status, code, err.name, detail)
        if status == 405 and err.get_response().headers.get("Allow"):
            resp.headers["Allow"] = err.get_response().headers["Allow"]
        if status == 429:
            resp.headers["Retry-After"] = "60"
        return resp

    app.register_error_handler(Exception, _unexpected)


def _unexpected(err: Exception) -> Response:
    """Anything else, a failed commit included (``wallet.db.finish`` raises before any response exists)."""
    if is_transient(err):
        try:
            db.rollback()  # the connection may be dead: SQLAlchemy discards it; blob compensations still run
        except Exception as exc:  # noqa: BLE001 - nothing more to undo on a dead connection
            log.warning("rollback after a backing-service failure failed: %s", type(exc).__name__)
        log.warning("backing service unavailable (request %s): %s", g.get("request_id"), type(err).__name__)
        return respond(503, "unavailable", "Service unavailable",
                       "A service we depend on is briefly unavailable. Try again in a few seconds.",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    db.rollback()
    log.exception("unhandled error (request %s)", g.get("request_id"))
    return respond(500, "internal_error", "Internal error",
                   "Something went wrong on our side. Try again later.")
