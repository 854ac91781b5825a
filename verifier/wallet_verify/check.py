"""The offline check of one QR text against a cache (JWK set + status lists): no network here.

Results: ``valid`` | ``revoked`` | ``expired`` | ``invalid`` | ``unknown_key``. Anything malformed (not
base64url, not a tagged COSE_Sign1, over 600 bytes, a bad signature, an altered claim) is ``invalid``.
"""
from __future__ import annotations

import base64
import io
import json
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

MAX_QR_BYTES = 600
ES256 = -7
STATUS_CLAIM = 65535
_B64U = re.compile(r"[A-Za-z0-9_-]+")


class Malformed(ValueError):
    """Anything that makes a payload or a status list unreadable."""


@dataclass
class Outcome:
    result: str                      # valid | revoked | expired | invalid | unknown_key
    reason: str = ""
    claims: dict[Any, Any] = field(default_factory=dict)
    status_as_of: float | None = None  # when the status list used was fetched
    stale: bool = False                # that list is older than its ttl
    status_checked: bool = False       # False: no cached list for the payload's status reference

    @property
    def ok(self) -> bool:
        return self.result == "valid" and self.status_checked


def b64u_decode(text: str) -> bytes:
    if not _B64U.fullmatch(text):
        raise Malformed("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as e:  # binascii.Error
        raise Malformed("not base64url") from e


def public_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise Malformed("not a P-256 key")
    x, y = b64u_decode(str(jwk.get("x", ""))), b64u_decode(str(jwk.get("y", "")))
    if len(x) != 32 or len(y) != 32:
        raise Malformed("bad P-256 coordinates")
    try:
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()
    except ValueError as e:
        raise Malformed("point not on the curve") from e


def es256_ok(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    if len(signature) != 64:
        return False
    der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def keys_by_kid(jwks: dict[str, Any]) -> dict[str, ec.EllipticCurvePublicKey]:
    out = {}
    for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str):
            try:
                out[jwk["kid"]] = public_key(jwk)
            except Malformed:
                continue
    return out


@dataclass
class StatusList:
    uri: str
    bits: int
    data: bytes
    ttl: int | None
    exp: int | None

    def status(self, idx: int) -> int:
        i = idx * self.bits
        if idx < 0 or i // 8 >= len(self.data):
            raise Malformed("status index out of the list")
        return (self.data[i // 8] >> (i % 8)) & ((1 << self.bits) - 1)


def read_status_list(token: str, keys: dict[str, ec.EllipticCurvePublicKey]) -> StatusList:
    """A statuslist+jwt, signature checked with the cached keys."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise Malformed("not a compact JWS")
    try:
        header = json.loads(b64u_decode(parts[0]))
        body = json.loads(b64u_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as e:
        raise Malformed("unreadable JWS") from e
    if not isinstance(header, dict) or header.get("alg") != "ES256" or header.get("kid") not in keys:
        raise Malformed("status list not signed by a known key")
    if not es256_ok(keys[header["kid"]], b64u_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode()):
        raise Malformed("bad status list signature")
    lst = body.get("status_list") if isinstance(body, dict) else None
    if not isinstance(lst, dict) or lst.get("bits") not in (1, 2, 4, 8) or not isinstance(lst.get("lst"), str):
        raise Malformed("no status_list")
    try:
        data = zlib.decompressobj().decompress(b64u_decode(lst["lst"]), 16 * 1024 * 1024)
    except zlib.error as e:
        raise Malformed("bad zlib data") from e
    ttl, exp = body.get("ttl"), body.get("exp")
    return StatusList(str(body.get("sub", "")), lst["bits"], data, ttl if isinstance(ttl, int) else None,
                      exp if isinstance(exp, int) else None)


def payload_of(qr_text: str) -> bytes:
    """The COSE bytes of a QR text: ``<base>/v/<token>#<base64url>`` (or the bare base64url)."""
    if len(qr_text.encode("utf-8")) > MAX_QR_BYTES:
        raise Malformed(f"over {MAX_QR_BYTES} bytes")
    fragment = qr_text.strip().split("#", 1)[1] if "#" in qr_text else qr_text.strip()
    return b64u_decode(fragment)


def open_sign1(raw: bytes) -> tuple[str, bytes, bytes, bytes]:
    """-> (kid, protected bytes, payload bytes, signature); the structure only, no signature check."""
    stream = io.BytesIO(raw)
    try:
        obj = cbor2.CBORDecoder(stream).decode()
    except Exception as e:  # noqa: BLE001 - cbor2 raises several kinds on hostile bytes
        raise Malformed("not CBOR") from e
    if stream.tell() != len(raw):
        raise Malformed("trailing bytes after the COSE_Sign1")
    if not isinstance(obj, cbor2.CBORTag) or obj.tag != 18 or not isinstance(obj.value, list) or len(obj.value) != 4:
        raise Malformed("not a tagged COSE_Sign1")
    protected, unprotected, payload, signature = obj.value
    if not all(isinstance(v, bytes) for v in (protected, payload, signature)) or not isinstance(unprotected, dict):
        raise Malformed("bad COSE_Sign1 fields")
    try:
        header = cbor2.loads(protected)
    except Exception as e:  # noqa: BLE001
        raise Malformed("bad protected header") from e
    if not isinstance(header, dict) or header.get(1) != ES256 or not isinstance(header.get(4), bytes):
        raise Malformed("protected header is not ES256 with a kid")
    try:
        kid = header[4].decode("utf-8")
    except UnicodeDecodeError as e:
        raise Malformed("kid is not UTF-8") from e
    return kid, protected, payload, signature


def verify_qr(qr_text: str, jwks: dict[str, Any], lists: dict[str, tuple[str, float]],
              now: float | None = None) -> Outcome:
    """``lists``: status list URI -> (statuslist+jwt text, time it was fetched)."""
    now = time.time() if now is None else now
    try:
        kid, protected, payload, signature = open_sign1(payload_of(qr_text))
    except Malformed as e:
        return Outcome("invalid", str(e))
    keys = keys_by_kid(jwks)
    if kid not in keys:
        return Outcome("unknown_key", f"kid {kid!r} is not in the cached key set")
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    if not es256_ok(keys[kid], signature, sig_structure):
        return Outcome("invalid", "bad signature")
    try:
        claims = cbor2.loads(payload)
    except Exception:  # noqa: BLE001
        return Outcome("invalid", "payload is not CBOR")
    if not isinstance(claims, dict) or not isinstance(claims.get(4), int) or not isinstance(claims.get("doc"), dict):
        return Outcome("invalid", "payload is not the wallet's CWT claims")
    ref = (claims.get(STATUS_CLAIM) or {}).get("status_list") if isinstance(claims.get(STATUS_CLAIM), dict) else None
    if not isinstance(ref, dict) or not isinstance(ref.get("idx"), int) or not isinstance(ref.get("uri"), str):
        return Outcome("invalid", "no status reference", claims)
    if claims[4] < now:
        return Outcome("expired", "the share has expired", claims)
    cached = lists.get(ref["uri"]) or _same_path(lists, ref["uri"])
    if cached is None:
        return Outcome("valid", "status list not in the cache: run sync", claims)
    token, fetched = cached
    try:
        status = read_status_list(token, keys).status(ref["idx"])
    except Malformed as e:
        return Outcome("valid", f"cached status list unusable ({e}): run sync", claims)
    ttl = _ttl(token)
    stale = ttl is not None and now - fetched > ttl
    if status != 0:
        return Outcome("revoked", "the status list marks it revoked", claims, fetched, stale, True)
    return Outcome("valid", "", claims, fetched, stale, True)


def _same_path(lists: dict[str, tuple[str, float]], uri: str) -> tuple[str, float] | None:
    """The list cached under another spelling of the same service (localhost / 127.0.0.1): it is signed anyway."""
    path = urlsplit(uri).path
    return next((v for k, v in lists.items() if urlsplit(k).path == path), None)


def _ttl(token: str) -> int | None:
    try:
        ttl = json.loads(b64u_decode(token.split(".")[1])).get("ttl")
    except (ValueError, IndexError, AttributeError, Malformed):
        return None
    return ttl if isinstance(ttl, int) else None
