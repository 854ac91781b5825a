"""One HTTP POST of a signed event to a checked address: no redirects, short timeouts, a capped response.

Pure (no Flask, no database). ``http.client`` follows no redirect and reads no proxy settings; the connection
goes to the address ``destinations.resolve`` checked (TLS still verifies the certificate for the URL's host
name, sent as SNI and ``Host``).
"""
from __future__ import annotations

import email.utils
import hashlib
import hmac
import http.client
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from wallet.webhooks.destinations import IP, Destination

__all__ = ["Outcome", "post", "retry_after", "signature"]

CONNECT_TIMEOUT = 5.0  # seconds to open the connection (each address)
READ_TIMEOUT = 5.0  # seconds for any one read of the answer
TOTAL_READ = 10.0  # seconds for the whole answer's body
MAX_RESPONSE = 16 * 1024  # bytes of the answer's body read (the rest is dropped with the connection)
USER_AGENT = "citizen-wallet-webhooks/1"


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Wallet-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, the key being
    the secret's UTF-8 bytes."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None when no answer came
    error: str | None  # why it did not count as delivered (short, for the delivery's row)
    retry_after: float | None = None  # the answer's Retry-After in seconds, unbounded

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed address, the certificate checked for the URL's host name."""

    def __init__(self, addr: str, hostname: str, port: int, context: ssl.SSLContext) -> None:
        super().__init__(addr, port, timeout=CONNECT_TIMEOUT, context=context)
        self._hostname = hostname
        self._ctx = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), CONNECT_TIMEOUT)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self._hostname)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (a number of seconds or an HTTP date), None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value[:9]))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def post(dest: Destination, addresses: Sequence[IP], body: bytes, headers: dict[str, str],
         context: ssl.SSLContext | None = None) -> Outcome:
    """POST ``body`` to the first address that answers; never raises for a network fault."""
    last_error = "no address"
    for addr in addresses:
        conn: http.client.HTTPConnection
        if dest.scheme == "https":
            conn = _PinnedHTTPS(str(addr), dest.host, dest.port, context or ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(str(addr), dest.port, timeout=CONNECT_TIMEOUT)
        try:
            try:
                conn.connect()
            except (OSError, ssl.SSLError) as exc:
                last_error = _why("connect", exc)
                continue
            assert conn.sock is not None
            conn.sock.settimeout(READ_TIMEOUT)
            conn.putrequest("POST", dest.target, skip_host=True, skip_accept_encoding=True)
            for name, value in {"Host": dest.host_header, "User-Agent": USER_AGENT,
                                "Content-Type": "application/json", "Content-Length": str(len(body)),
                                "Connection": "close", **headers}.items():
                conn.putheader(name, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            _drain(resp)
            return Outcome(resp.status, None if 200 <= resp.status < 300 else f"HTTP {resp.status}",
                           retry_after(resp.getheader("Retry-After")))
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            return Outcome(None, _why("send", exc))
        finally:
            conn.close()
    return Outcome(None, last_error)


def _drain(resp: http.client.HTTPResponse) -> None:
    """Read at most MAX_RESPONSE bytes of the answer within TOTAL_READ seconds (the body itself is not kept)."""
    deadline, left = time.monotonic() + TOTAL_READ, MAX_RESPONSE
    while left > 0 and time.monotonic() < deadline:
        chunk = resp.read1(min(left, 4096))
        if not chunk:
            break
        left -= len(chunk)


def _why(step: str, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{step}: timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{step}: TLS certificate not valid for the host ({exc.verify_message})"
    return f"{step}: {type(exc).__name__}"
