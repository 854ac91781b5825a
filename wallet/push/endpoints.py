"""Which push services a browser's subscription may name: an outbound request to a URL chosen by the client
is an SSRF door, so every endpoint is checked when it is stored and again, resolved and pinned, at each send.

The rules (``WEBPUSH_ALLOWED_HOSTS``, comma-separated entries; default: the public services of Chrome/Android,
Firefox, Edge and Safari, ``config.settings.DEFAULT_WEBPUSH_HOSTS``):

- An entry is ``host``, ``host:port``, ``[IPv6]:port`` or ``*.domain``. Without a port, an entry matches the
  scheme's default port only (443); with one, exactly that port. ``*.notify.windows.com`` matches any name
  ending in ``.notify.windows.com`` (one label or more), never ``notify.windows.com`` itself, never an IP address.
- https is required, except for a host listed exactly (not by a wildcard) that is an IP address or
  ``localhost`` (a loopback receiver in the tests, a relay on the operator's own network).
- Private, loopback, link-local, shared, reserved, multicast and unspecified addresses are refused
  (``push_endpoint_private``) unless the endpoint's host (name or address) is listed exactly. For a name, the
  addresses it resolves to are checked: at subscription (when it resolves within two seconds; if not, it is
  taken and the send decides) and at every send, which then connects to the very address it checked (no second
  lookup for DNS rebinding to change).
- No user name or password, no fragment, at most 1,024 characters (``push_endpoint_invalid``); a host not
  listed is ``push_endpoint_not_allowed``; plain http to a host that may not have it is ``push_endpoint_not_https``.
"""
from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

from wallet.errors import BadRequest

__all__ = ["Target", "EndpointRefused", "check", "pinned_address", "resolve"]

MAX_ENDPOINT = 1024
RESOLVE_SECONDS = 2.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EndpointRefused(BadRequest):
    code = "push_endpoint_invalid"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case; an IPv6 address without brackets
    port: int
    path: str  # path and query, as sent
    exact: bool  # listed exactly (not by a wildcard): may be http / a non-public address
    literal: IPAddress | None  # the host is an IP address

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if self.literal is not None and self.literal.version == 6 else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _address(text: str) -> IPAddress | None:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def public(addr: IPAddress) -> bool:
    return addr.is_global and not addr.is_multicast


def _match(host: str, port: int, default_port: int, entries: tuple[str, ...]) -> str | None:
    """"exact", "wildcard" or None: how ``host:port`` is listed."""
    found = None
    for entry in entries:
        if entry.startswith("["):
            name, _, rest = entry[1:].partition("]")
            entry_port = int(rest[1:]) if rest.startswith(":") else default_port
        elif ":" in entry:
            name, _, p = entry.rpartition(":")
            entry_port = int(p)
        else:
            name, entry_port = entry, default_port
        if entry_port != port:
            continue
        if name.startswith("*."):
            if _address(host) is None and host.endswith(name[1:]) and len(host) > len(name) - 1:
                found = found or "wildcard"
        elif name == host or (_address(name) is not None and _address(name) == _address(host)):
            return "exact"
    return found


def parse(endpoint: str, allowed: tuple[str, ...]) -> Target:
    """The endpoint as a target, or EndpointRefused: every rule but the lookup of a name's addresses."""
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= MAX_ENDPOINT or any(c in endpoint for c in "\r\n\t "):
        raise EndpointRefused("the endpoint must be a URL of at most 1024 characters")
    try:
        url = urlsplit(endpoint)
        port = url.port
    except ValueError as exc:
        raise EndpointRefused("the endpoint is not a valid URL") from exc
    if url.scheme not in ("https", "http") or not url.hostname or url.username is not None \
            or url.password is not None or url.fragment:
        raise EndpointRefused("the endpoint must be an https URL without credentials or fragment")
    host = url.hostname.lower().rstrip(".")
    default = 443 if url.scheme == "https" else 80
    port = port or default
    literal = _address(host)
    how = _match(host, port, default, allowed)
    if literal is not None and not public(literal) and how != "exact":
        raise EndpointRefused("push endpoints on private, loopback or link-local addresses are refused",
                              code="push_endpoint_private")
    if how is None:
        raise EndpointRefused("this push service is not allowed (WEBPUSH_ALLOWED_HOSTS)",
                              code="push_endpoint_not_allowed")
    exact = how == "exact"
    if url.scheme == "http" and not (exact and (literal is not None or host == "localhost")):
        raise EndpointRefused("the endpoint must use https", code="push_endpoint_not_https")
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    return Target(url.scheme, host, port, path, exact, literal)


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host`` (tests replace this function)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[IPAddress] = []
    for info in infos:
        addr = _address(str(info[4][0]).split("%", 1)[0])
        if addr is not None and addr not in out:
            out.append(addr)
    return out


_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wallet-push-dns")


def _acceptable(target: Target, addresses: list[IPAddress]) -> list[IPAddress]:
    if not target.exact and any(not public(a) for a in addresses):
        raise EndpointRefused("the push service's name resolves to a private, loopback or link-local address",
                              code="push_endpoint_private")
    return addresses


def check(endpoint: str, allowed: tuple[str, ...]) -> Target:
    """At subscription: ``parse``, then a name's addresses if they are found within RESOLVE_SECONDS."""
    target = parse(endpoint, allowed)
    if target.literal is None:
        future = _LOOKUPS.submit(resolve, target.host, target.port)
        try:
            addresses = future.result(timeout=RESOLVE_SECONDS)
        except (OSError, UnicodeError, FutureTimeout):
            return target  # not found now: each send looks it up and checks again
        _acceptable(target, addresses)
    return target


def pinned_address(target: Target) -> IPAddress:
    """At each send: the address to connect to, checked. OSError when the name does not resolve."""
    if target.literal is not None:
        return target.literal
    addresses = _acceptable(target, resolve(target.host, target.port))
    if not addresses:
        raise OSError(f"{target.host} has no address")
    return addresses[0]
