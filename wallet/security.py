"""Access rules required by construction, request ids, secure headers, token redaction in logs."""
from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, g, request
from flask.sessions import SessionInterface
from werkzeug.routing import PathConverter

F = TypeVar("F", bound=Callable[..., Any])

# /v/<token>, /v/<token>/copy.pdf, /api/v1/verify/<token>: share tokens never reach a log line, nor in the
# forms the router still accepts or redirects: doubled slashes (/v//<token>, merged by a 308) and any case.
TOKEN_IN_PATH = re.compile(r"(/+v/+|/+api/+v1/+verify/+)(?!$)[^/?#\s\"]+", re.IGNORECASE)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; "
       "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: redact what is there
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        return True


def access(rule: str) -> Callable[[F], F]:
    """Mark a view with its access rule: "public", "agency", "citizen", "operator"."""

    def deco(fn: F) -> F:
        fn._wallet_access = rule  # type: ignore[attr-defined]
        return fn

    return deco


EXEMPT_ENDPOINTS = {"static", "openapi.spec", "openapi.docs", "openapi.redoc", "openapi.swagger_ui_oauth_redirect"}


def check_access_rules(app: Flask) -> None:
    """Refuse to start if a view forgot to declare who may call it."""
    missing = []
    for endpoint, fn in app.view_functions.items():
        if endpoint in EXEMPT_ENDPOINTS or endpoint.startswith("openapi."):
            continue
        target = fn
        while target is not None and not hasattr(target, "_wallet_access"):
            target = getattr(target, "__wrapped__", None)
        if target is None:
            missing.append(endpoint)
    if missing:
        raise RuntimeError("views without an access rule: " + ", ".join(sorted(missing)))


class NoCookieSession(SessionInterface):
    """Flask's signed-cookie session is not used: citizens have server-side sessions (wallet.citizens.auth).
    Every request gets Flask's null session (writing to it raises), and no cookie is read or written."""

    def open_session(self, app: Flask, request: Any) -> Any:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        return None


class AnyPathConverter(PathConverter):
    """Like ``path``, but newlines and other control characters match too: an altered share link must get
    the same "unknown" answer as any other, not the router's 404."""

    regex = "(?s:[^/].*?)"


def init_request_security(app: Flask) -> None:
    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if re.fullmatch(r"[A-Za-z0-9_.-]{8,64}", incoming) else secrets.token_hex(8)

    static = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
              ("Referrer-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin"),
              ("Cross-Origin-Resource-Policy", "same-origin"),
              ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")]
    if app.config.get("SESSION_COOKIE_SECURE"):
        static.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))

    @app.after_request
    def _headers(resp: Response) -> Response:
        h = resp.headers
        present = {k.lower() for k in h.keys()}  # one pass: werkzeug's setdefault scans the list per call
        for name, value in static:
            if name.lower() not in present:
                h.add(name, value)
        if "cache-control" not in present and request.path.startswith("/api/"):
            h["Cache-Control"] = "no-store"
        if "request_id" in g:
            h["X-Request-ID"] = g.request_id
        return resp
