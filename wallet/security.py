"""Request ids, secure headers, token redaction in logs (access rules: ``wallet.rules``)."""
from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from flask import Flask, Response, g, request
from flask.sessions import SessionInterface
from werkzeug.routing import PathConverter

# /v/<token>, /v/<token>/copy.pdf, /api/v1/verify/<token>: share tokens never reach a log line, whatever the
# spelling that reaches the router or the access log: percent-encoding of any character (the slash included,
# and encoded again), doubled slashes (/v//<token>, merged by a 308) and any case. The match is made on the
# decoded text; everything from the prefix to the first terminator written as such (not percent-encoded) goes.
TOKEN_PREFIX = re.compile(r"/+v/+|/+api/+v1/+verify/+", re.IGNORECASE)
KEPT_SUFFIX = re.compile(r"/+(?:copy|original)\.pdf$", re.IGNORECASE)
TERMINATORS = frozenset("?#\"'<> \t\r\n\f\v")
REDACTED = "[redacted]"
_HEX = re.compile(r"%([0-9A-Fa-f]{2})")
_MAX_ROUNDS = 8
OVER_ENCODED = "[redacted: encoded more than 8 times]"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; "
       "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _decode(text: str) -> tuple[str, list[bool]] | None:
    """Percent-decode ``text`` to a fixed point; for each output character, whether it was written as itself
    in ``text`` (True) or came out of an encoding (False). None when still encoded after a few rounds."""
    chars = list(text)
    plain = [True] * len(chars)
    for _round in range(_MAX_ROUNDS + 1):
        out: list[str] = []
        out_plain: list[bool] = []
        i, n, changed = 0, len(chars), False
        while i < n:
            if chars[i] == "%" and i + 2 < n and _HEX.fullmatch("".join(chars[i:i + 3])):
                raw = bytearray()
                while i + 2 < n and chars[i] == "%" and _HEX.fullmatch("".join(chars[i:i + 3])):
                    raw.append(int(chars[i + 1] + chars[i + 2], 16))
                    i += 3
                decoded = raw.decode("utf-8", errors="replace")
                out.extend(decoded)
                out_plain.extend([False] * len(decoded))
                changed = True
            else:
                out.append(chars[i])
                out_plain.append(plain[i])
                i += 1
        chars, plain = out, out_plain
        if not changed:
            return "".join(chars), plain
    return None


def _printable(text: str) -> str:
    """Control and other unprintable characters as %XX, so a decoded log line stays one honest line."""
    return "".join(c if c.isprintable() else "".join(f"%{b:02X}" for b in c.encode("utf-8", "replace"))
                   for c in text)


def redact(text: str, *, path: bool = False) -> str:
    """``text`` with every share token in it replaced by "[redacted]". ``path``: ``text`` is a decoded path
    (PATH_INFO): every character after the prefix belongs to the token, "?" and spaces included."""
    if "%" not in text and not TOKEN_PREFIX.search(text):
        return text
    terminators = frozenset() if path else TERMINATORS
    result = _decode(text)
    if result is None:
        return OVER_ENCODED
    decoded, plain = result
    pieces: list[str] = []
    pos = 0
    for m in TOKEN_PREFIX.finditer(decoded):
        if m.start() < pos:
            continue
        end = m.end()
        while end < len(decoded) and not (plain[end] and decoded[end] in terminators):
            end += 1
        if end == m.end():
            continue
        pieces += [decoded[pos:m.end()], REDACTED, _kept(decoded[m.end():end])]
        pos = end
    if not pieces:
        return text
    pieces.append(decoded[pos:])
    return _printable("".join(pieces))


def _kept(token_part: str) -> str:
    """The route's own suffix (/copy.pdf, /original.pdf) stays readable in the log."""
    m = KEPT_SUFFIX.search(token_part)
    return m.group(0) if m and m.start() > 0 else ""


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed record: redact what is there
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact(message), None


_RECORD_FACTORY_MARK = "_wallet_redacts"


def install_log_redaction() -> None:
    """Every log record made in this process, from any logger (children of a filtered logger skip its filters,
    libraries log on their own), is redacted when it is made. Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _RECORD_FACTORY_MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    setattr(factory, _RECORD_FACTORY_MARK, True)
    logging.setLogRecordFactory(factory)


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
