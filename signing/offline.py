"""Offline verification: the platform's verification key, the QR's signed payload and the Token Status List.

Formats (OFFLINE-FORMAT / PRODUCT.md "Offline verification"), built on public standards that outside verifiers
read with well-kept libraries:

- the QR payload is a tagged COSE_Sign1 (RFC 9052, ES256, ``kid`` in the protected header), not wrapped in the
  CWT tag, over CWT claims (RFC 8392), produced with the ``cwt`` library;
- the status list is an IETF OAuth Token Status List, a compact ES256 JWS (``statuslist+jwt``), 1 bit per entry.

A pure library: no Flask, no database.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cwt import COSE, COSEKey

__all__ = ["OfflineSigner", "PublicKeyInfo", "fit_payload", "key_id", "new_private_pem", "qr_text", "status_bit", "MAX_QR_BYTES"]

MAX_QR_BYTES = 600
#: CWT claim keys (RFC 8392) and the Token Status List claim (IETF draft, CWT key 65535)
ISS, EXP, IAT, STATUS = 1, 4, 6, 65535
STATUS_TTL = 300


def new_private_pem() -> bytes:
    """A new P-256 verification key, PKCS#8 PEM (the embedded default's; production brings its own)."""
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """First 16 characters of base64url(SHA-256 of the DER SubjectPublicKeyInfo)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64u(hashlib.sha256(der).digest())[:16]


@dataclass(frozen=True)
class PublicKeyInfo:
    kid: str
    key: ec.EllipticCurvePublicKey

    def jwk(self) -> dict[str, str]:
        n = self.key.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big")),
                "kid": self.kid, "alg": "ES256", "use": "sig"}


def _p256_public(key: Any, what: str) -> ec.EllipticCurvePublicKey:
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{what} is not a P-256 key")
    return key


class OfflineSigner:
    """The platform verification key (current, PKCS#8 P-256) and the previous public keys still published."""

    def __init__(self, private_pem: bytes, previous_public_pems: Sequence[bytes] = ()) -> None:
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("the verification key is not a P-256 private key")
        self._key = key
        self.current = PublicKeyInfo(key_id(key.public_key()), key.public_key())
        previous = [_p256_public(serialization.load_pem_public_key(p), "a previous verification key")
                    for p in previous_public_pems]
        self.previous = tuple(PublicKeyInfo(key_id(p), p) for p in previous)
        self._cose_key = COSEKey.from_pem(private_pem, alg="ES256")
        self._cose = COSE.new()

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK set: the current key first, then the previous ones (rotation with overlap)."""
        seen: set[str] = set()
        keys = []
        for info in (self.current, *self.previous):
            if info.kid not in seen:
                seen.add(info.kid)
                keys.append(info.jwk())
        return {"keys": keys}

    def sign_claims(self, claims: Mapping[Any, Any]) -> bytes:
        """A tagged COSE_Sign1 over the CBOR claims: protected ``{1: -7, 4: kid}``, unprotected ``{}``."""
        return bytes(self._cose.encode_and_sign(cbor2.dumps(dict(claims)), self._cose_key,
                                                protected={1: -7, 4: self.current.kid.encode()}))

    def sign_jws(self, header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
        """A compact ES256 JWS; the signature is raw r||s (64 bytes)."""
        signing_input = (b64u(json.dumps(dict(header), separators=(",", ":")).encode()) + "."
                         + b64u(json.dumps(dict(payload), separators=(",", ":")).encode()))
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        return signing_input + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def status_list_jwt(self, uri: str, bits: bytes, now: dt.datetime, lifetime: int = 3600,
                        ttl: int = STATUS_TTL) -> str:
        iat = int(now.timestamp())
        return self.sign_jws({"alg": "ES256", "kid": self.current.kid, "typ": "statuslist+jwt"},
                             {"sub": uri, "iat": iat, "exp": iat + lifetime, "ttl": ttl,
                              "status_list": {"bits": 1, "lst": b64u(zlib.compress(bits, 9))}})


def status_bits(size: int, revoked: Iterable[int]) -> bytes:
    """``size`` one-bit entries; bit i is ``(byte[i // 8] >> (i % 8)) & 1`` (least significant bit first)."""
    out = bytearray((size + 7) // 8)
    for i in revoked:
        if 0 <= i < size:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def status_bit(bits: bytes, idx: int) -> int:
    return (bits[idx // 8] >> (idx % 8)) & 1


def qr_text(url: str, cose: bytes) -> str:
    """The QR content: the online link, the signed payload in the fragment (never sent to the server)."""
    return f"{url}#{b64u(cose)}"


def _cut(name: str, nbytes: int) -> str:
    """``name`` shortened by at least ``nbytes`` UTF-8 bytes (whole characters)."""
    raw = name.encode("utf-8")
    keep = max(0, len(raw) - nbytes)
    return raw[:keep].decode("utf-8", errors="ignore").rstrip()


def fit_payload(signer: OfflineSigner, url: str, claims: dict[Any, Any],
                limit: int = MAX_QR_BYTES) -> tuple[str, dict[Any, Any]]:
    """Sign ``claims`` and make the QR text; when over ``limit`` bytes, the holder's name (``doc.hnm``), then the
    representative's (``pby.name``), is cut until it fits. Returns the QR text and the claims signed."""
    while True:
        text = qr_text(url, signer.sign_claims(claims))
        over = len(text.encode("utf-8")) - limit
        if over <= 0:
            return text, claims
        need = (over * 3 + 3) // 4 + 1  # base64 carries 3 bytes in 4 characters
        doc = dict(claims["doc"])
        pby = claims.get("pby")
        if doc.get("hnm"):
            doc["hnm"] = _cut(doc["hnm"], need)
            claims = {**claims, "doc": doc}
        elif isinstance(pby, dict) and pby.get("name"):
            claims = {**claims, "pby": {**pby, "name": _cut(pby["name"], need)}}
        else:
            raise ValueError(f"the QR payload does not fit in {limit} bytes")
