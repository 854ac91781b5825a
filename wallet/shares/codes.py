"""Numeric codes for counter shares (at most 30 minutes): 12 digits, the last a Luhn check digit, read aloud
over the phone or typed at a counter.

Stored only as a keyed hash (HMAC-SHA-256 with the service's secret key): a database dump does not give the
codes back, and 10^11 codes cannot be tried offline without the key. A mistyped code (wrong check digit, which
Luhn catches for every single-digit error and most adjacent swaps) is refused before any database work.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.shares.models import Share

CODE_DIGITS = 12
MAX_CODE_LIFETIME = 1800  # shares that live at most 30 minutes get a code


def luhn_digit(body: str) -> str:
    """The Luhn check digit of ``body`` (decimal digits)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: the rightmost digit of the body sits next to the check digit
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def well_formed(code: str) -> bool:
    """12 ASCII digits whose last is the Luhn check digit of the others."""
    return (len(code) == CODE_DIGITS and code.isascii() and code.isdigit()
            and luhn_digit(code[:-1]) == code[-1])


def code_hash(secret_key: str, code: str) -> str:
    return hmac.new(secret_key.encode(), b"share-code:" + code.encode(), hashlib.sha256).hexdigest()


def new_code(sess: Session, secret_key: str) -> tuple[str, str]:
    """A fresh code and its hash, unique among the shares still live (an old share may have had it)."""
    while True:
        body = "".join(str(secrets.randbelow(10)) for _ in range(CODE_DIGITS - 1))
        code = body + luhn_digit(body)
        digest = code_hash(secret_key, code)
        live = sess.execute(select(Share.id).where(Share.code_hash == digest, Share.expires_at > utcnow(),
                                                   Share.revoked_at.is_(None)).limit(1)).first()
        if live is None:
            return code, digest
