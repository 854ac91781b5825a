"""Sign-in throttling: no lock-out by national ID alone, no oracle of which IDs are enrolled.

Three budgets, all kept in the rate-limit storage (``REDIS_URL`` in production, shared by every worker and
every node; never a dictionary of this process), all as moving windows on the app's clock:

- per client address (``LOGIN_IP_LIMIT``): every attempt counts, whatever the ID (spraying many IDs);
- per (normalised national ID, client address) (``LOGIN_PAIR_LIMIT``): only FAILURES count. An address that
  keeps guessing waits longer and longer (the ladder of windows), while the owner of the ID, from any other
  address, still signs in with the right password and code;
- per national ID across all addresses (``LOGIN_ID_CEILING``): only failures count; far above what one address
  may spend (a distributed attack is needed to reach it). Once reached, the ID is blocked for everyone until the
  window frees, or until the operator runs ``flask --app wallet citizen unlock NATIONAL_ID`` (audited), or the
  citizen completes a fresh enrolment (``citizen invite``): both start a new generation of counters for the ID.

The client address is the one the app sees (``request.remote_addr``, after ``PROXY_HOPS`` trusted proxies);
IPv6 addresses are bucketed by /64 (one subscriber's prefix). State is keyed by the normalised ID *string*
(HMAC-ed with the secret key, so the storage holds no national ID), never by an account row: an unknown ID
gets exactly the same delays, statuses, bodies and ``Retry-After`` as an enrolled one.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from typing import cast

from flask import has_request_context, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from wallet.errors import RateLimited, Unavailable

LOGIN_IP_LIMIT = "30/minute;300/hour"  # every attempt, per client address
LOGIN_PAIR_LIMIT = "5/minute;10/10 minutes;20/hour;50/day"  # failures per (ID, address): the growing delay
LOGIN_ID_CEILING = "100/hour;500/day"  # failures per ID, all addresses (> twice what one address may spend)
ENROL_LIMIT = "10/minute;60/hour"
GENERATION_TTL = 7 * 86400  # an unlock outlives every failure window



def client_bucket(address: str | None = None) -> str:
    """The client address as the app sees it; IPv6 by /64, IPv4-mapped IPv6 as the IPv4 address."""
    if address is None:
        address = request.remote_addr if has_request_context() else None
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def too_many(seconds: float) -> RateLimited:
    wait = max(1, math.ceil(seconds - 0.01))  # Redis keeps timestamps to ~0.1 ms: no 61 for a 60 s window
    return RateLimited("Too many requests: slow down and try again later.", code="rate_limited",
                       headers={"Retry-After": str(wait)}, extra={"retry_after": wait})


class LoginThrottle:
    """The three sign-in budgets on one storage (one instance per app; shared state lives in the storage)."""

    def __init__(self, storage: Storage, secret: str) -> None:
        self.storage = storage
        self.windows = MovingWindowRateLimiter(self.storage)
        self.prefix = "login"
        self._secret = secret.encode()
        self.per_address = parse_many(LOGIN_IP_LIMIT)
        self.per_pair = parse_many(LOGIN_PAIR_LIMIT)
        self.per_id = parse_many(LOGIN_ID_CEILING)

    # ---------------------------------------------------------------------------------------- keys
    def _id_token(self, nid: str) -> str:
        return hmac.new(self._secret, b"login-id:" + nid.encode(), hashlib.sha256).hexdigest()[:32]

    def _generation_key(self, token: str) -> str:
        return f"{self.prefix}/gen/{token}"

    def _ids(self, nid: str) -> tuple[str, str]:
        token = self._id_token(nid)
        return token, f"{token}.{self.storage.get(self._generation_key(token))}"

    # ---------------------------------------------------------------------------------------- budgets
    def _blocked_for(self, items: list[RateLimitItem], *identifiers: str) -> float | None:
        """Seconds until every exhausted window has a free slot again, or None when none is exhausted."""
        waits = [self.windows.get_window_stats(i, *identifiers).reset_time - time.time()
                 for i in items if not self.windows.test(i, *identifiers)]
        return max(waits) if waits else None

    def attempt(self, bucket: str) -> None:
        """Every sign-in attempt from an address: refused (429) past ``LOGIN_IP_LIMIT``."""
        ids = (self.prefix, "ip", bucket.replace("/", "_"))
        try:
            wait = self._blocked_for(self.per_address, *ids)
            if wait is None:
                for item in self.per_address:
                    self.windows.hit(item, *ids)
        except StorageError as exc:
            raise _storage_down() from exc
        if wait is not None:
            raise too_many(wait)

    def check(self, nid: str, bucket: str) -> None:
        """Before the password is checked: 429 when this ID's ceiling or this (ID, address) ladder is spent."""
        try:
            _, gen = self._ids(nid)
            waits = [w for w in (self._blocked_for(self.per_id, self.prefix, "id", gen),
                                 self._blocked_for(self.per_pair, self.prefix, "pair", gen,
                                                   bucket.replace("/", "_"))) if w is not None]
        except StorageError as exc:
            raise _storage_down() from exc
        if waits:
            raise too_many(max(waits))

    def failed(self, nid: str, bucket: str) -> bool:
        """Count one failure; True when it used the ID's last slot under its ceiling."""
        try:
            _, gen = self._ids(nid)
            for item in self.per_pair:
                self.windows.hit(item, self.prefix, "pair", gen, bucket.replace("/", "_"))
            for item in self.per_id:
                self.windows.hit(item, self.prefix, "id", gen)
            return self._blocked_for(self.per_id, self.prefix, "id", gen) is not None
        except StorageError as exc:
            raise _storage_down() from exc

    def succeeded(self, nid: str, bucket: str) -> None:
        """The right credentials: this address's failures for the ID are forgotten (a success costs nothing)."""
        try:
            _, gen = self._ids(nid)
            for item in self.per_pair:
                self.windows.clear(item, self.prefix, "pair", gen, bucket.replace("/", "_"))
        except StorageError as exc:
            raise _storage_down() from exc

    def unlock(self, nid: str) -> None:
        """A new generation of counters for the ID: its ceiling and every address's failures start from zero."""
        try:
            self.storage.incr(self._generation_key(self._id_token(nid)), GENERATION_TTL)
        except StorageError as exc:
            raise _storage_down() from exc


def shared_storage(storage_uri: str, prefix: str) -> Storage:
    """The rate-limit storage (``memory://`` or Redis) under the service's prefix; its errors as ``StorageError``."""
    return cast(Storage, storage_from_string(storage_uri, wrap_exceptions=True, **storage_options(storage_uri, prefix)))


def storage_options(storage_uri: str, prefix: str) -> dict[str, str]:
    """Redis keys under the service's own prefix (several services or test runs may share one Redis)."""
    return {"key_prefix": prefix} if storage_uri.startswith("redis") and prefix else {}


def _storage_down() -> Unavailable:
    return Unavailable("Sign-in is unavailable for a moment: try again shortly.", code="unavailable",
                       headers={"Retry-After": "5"})
