"""Share tokens: 128-bit CSPRNG values handed to the holder once, stored only as their SHA-256.

A token is never logged (the access log is redacted by ``wallet.security.redact``; nothing here logs it).
Lookup is by hash (an indexed equality on a value the attacker cannot choose the preimage of), then the
stored hash is compared in constant time. Malformed tokens are hashed and looked up all the same so that
altered, truncated and random tokens cost the same and get the same answer.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 16  # 128 bits
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22}")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def well_formed(token: str) -> bool:
    return _TOKEN_RE.fullmatch(token) is not None


def lookup_hash(token: str) -> str:
    """The hash to look up; a malformed token gets the hash of a value no real token can have."""
    if not well_formed(token):
        return token_hash("!malformed!" + token[:64])
    return token_hash(token)


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
