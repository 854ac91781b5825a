"""Where a webhook may go: the URL's host against ``WEBHOOK_ALLOWED_HOSTS``, and the addresses it resolves to.

Pure functions (no Flask, no database). Two checks, both run again at every send:

- ``check_url``: https, or http to a listed loopback host; no credentials or fragment; the host (and port) listed.
  An entry without a port allows the scheme's default port only (443, or 80 for http).
- ``resolve``: the host's addresses, each refused when it is not a public unicast address (private, loopback,
  link-local, shared, reserved, multicast...) unless WEBHOOK_ALLOWED_HOSTS names that very address with the
  URL's port (or the host is ``localhost`` resolving to loopback). The sender then connects to the address checked here, never resolving
  again: a DNS answer changed between the check and the connection (DNS rebinding) reaches nothing.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Destination", "Refused", "check_url", "resolve"]

MAX_URL = 2000
LOOPBACK_NAMES = frozenset({"localhost"})

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]


class Refused(ValueError):
    """The URL or the address is not allowed: ``code`` is stable, the message says what to change."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Destination:
    url: str
    scheme: str  # "https" | "http"
    host: str  # as in the URL, lower case, an IPv6 address without brackets
    port: int
    target: str  # path and query sent in the request line
    listed: str  # the WEBHOOK_ALLOWED_HOSTS entry that allows it

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _ip(text: str) -> IP | None:
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _entry(entry: str) -> tuple[str, int | None]:
    """The host and port of a ``host[:port]`` entry (IPv6 addresses are written in brackets there)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, _, port = entry.partition(":")
    return host, int(port) if port else None


def is_loopback_host(host: str) -> bool:
    addr = _ip(host)
    return host in LOOPBACK_NAMES if addr is None else addr.is_loopback


def public_address(addr: IP) -> bool:
    return addr.is_global and not addr.is_multicast


def check_url(url: str, allowed: Sequence[str]) -> Destination:
    """The URL parsed, or ``Refused`` (codes: bad_url, https_required, host_not_allowed)."""
    if not isinstance(url, str) or len(url) > MAX_URL or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Refused("bad_url", f"not a URL (at most {MAX_URL} printable characters, no spaces)")
    if not url.isascii():
        raise Refused("bad_url", "ASCII only: a host name in punycode (xn--...), a path percent-encoded")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused("bad_url", f"not a URL: {exc}") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        raise Refused("bad_url", "the URL must start with https:// and name a host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Refused("bad_url", "no user name or password in the URL: deliveries are signed with the secret")
    if parts.fragment or url.endswith("#"):
        raise Refused("bad_url", "no #fragment in the URL")
    port = port or (443 if scheme == "https" else 80)
    name = f"[{host}]" if ":" in host else host
    wanted = (f"{name}:{port}", *((name,) if port == (443 if scheme == "https" else 80) else ()))
    listed = next((e for e in allowed if e in wanted), None)
    if listed is None:
        raise Refused("host_not_allowed", f"{name}:{port} is not in WEBHOOK_ALLOWED_HOSTS (listed: "
                                          f"{', '.join(allowed) or 'none'}); the operator adds {name}:{port} there")
    if scheme == "http" and not is_loopback_host(host):
        raise Refused("https_required", f"use https:// ({name} is not a loopback host: plain http only goes to "
                                        "a listed loopback host, for tests)")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(url, scheme, host, port, target, listed)


def resolve(dest: Destination, allowed: Sequence[str], resolver: Resolver | None = None) -> list[IP]:
    """The addresses to connect to, or ``Refused`` (codes: dns_failed, address_not_allowed)."""
    default = 443 if dest.scheme == "https" else 80
    listed_ips = {addr for addr, port in ((_ip(h), p) for h, p in map(_entry, allowed))
                  if addr is not None and (port or default) == dest.port}
    literal = _ip(dest.host)
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = (resolver or socket.getaddrinfo)(dest.host, dest.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Refused("dns_failed", f"{dest.host} does not resolve ({type(exc).__name__})") from exc
        found = list(dict.fromkeys(a for a in (_ip(str(info[4][0])) for info in infos) if a is not None))
    if not found:
        raise Refused("dns_failed", f"{dest.host} has no address")
    for addr in found:
        if public_address(addr) or addr in listed_ips:
            continue
        if dest.host in LOOPBACK_NAMES and addr.is_loopback:
            continue
        raise Refused("address_not_allowed", f"{dest.host} resolves to {addr}, a private, loopback or reserved "
                                             "address: refused unless WEBHOOK_ALLOWED_HOSTS lists that address")
    return found
