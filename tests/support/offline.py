"""Offline verification fixtures made by code: a P-256 platform key, its JWK set, COSE_Sign1 QR payloads (made
with the outside `cwt` library, as PRODUCT.md's "Offline verification" describes them) and statuslist+jwt lists.

``serve_on(app, platform)`` puts the key set and the lists on the app's real paths for a live server: when the app
already defines a path, its view is swapped for the fixture's (so these tests keep their own signing key).
"""
from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cwt import COSE, COSEKey
from flask import Response, abort

KEYS_PATH = "/.well-known/wallet-keys.json"
LISTS_PATH = "/api/v1/status-lists"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Platform:
    """One signing key, a base URL and status lists (list id -> bytearray of bits, LSB first)."""

    base: str = "http://127.0.0.1"
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    lists: dict[str, bytearray] = field(default_factory=lambda: {"1": bytearray(16)})
    ttl: int = 300

    @property
    def kid(self) -> str:
        spki = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return b64u(hashlib.sha256(spki).digest())[:16]

    def jwk(self, private: bool = False) -> dict[str, Any]:
        nums = self.key.private_numbers()
        out = {"kty": "EC", "crv": "P-256", "x": b64u(nums.public_numbers.x.to_bytes(32, "big")),
               "y": b64u(nums.public_numbers.y.to_bytes(32, "big")), "kid": self.kid, "alg": "ES256", "use": "sig"}
        if private:
            out["d"] = b64u(nums.private_value.to_bytes(32, "big"))
        return out

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def list_uri(self, list_id: str = "1") -> str:
        return f"{self.base}{LISTS_PATH}/{list_id}"

    def claims(self, idx: int = 3, exp_in: int = 86400, list_id: str = "1", **doc: Any) -> dict[Any, Any]:
        now = int(time.time())
        body = {"typ": "criminal_record", "agc": "MJ", "hnm": "Amina El Fassi", "hid": "AB123456",
                "isd": "2026-11-02", "exd": None, "sha": hashlib.sha256(b"original").digest()}
        body.update(doc)
        return {1: self.base, 4: now + exp_in, 6: now, "doc": body,
                65535: {"status_list": {"idx": idx, "uri": self.list_uri(list_id)}}}

    def sign(self, claims: dict[Any, Any]) -> bytes:
        key = COSEKey.from_jwk(self.jwk(private=True))
        return bytes(COSE.new().encode_and_sign(cbor2.dumps(claims), key,
                                                protected={1: -7, 4: self.kid.encode()}))

    def qr(self, claims: dict[Any, Any] | None = None, token: str = "tok123") -> str:  # noqa: S107 - a URL token, not a secret
        return f"{self.base}/v/{token}#{b64u(self.sign(claims or self.claims()))}"

    def revoke(self, idx: int, list_id: str = "1") -> None:
        self.lists[list_id][idx // 8] |= 1 << (idx % 8)

    def status_list_jwt(self, list_id: str = "1", iat: int | None = None) -> str:
        iat = int(time.time()) if iat is None else iat
        header = {"alg": "ES256", "kid": self.kid, "typ": "statuslist+jwt"}
        body = {"sub": self.list_uri(list_id), "iat": iat, "exp": iat + 86400, "ttl": self.ttl,
                "status_list": {"bits": 1, "lst": b64u(zlib.compress(bytes(self.lists[list_id])))}}
        signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(body).encode())}"
        r, s = utils.decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def serve_on(app: Any, platform: Platform) -> None:
    """The key set, the list index and the lists of ``platform`` on the app's real paths (before it serves)."""
    def keys() -> Response:
        resp = Response(json.dumps(platform.jwks()), mimetype="application/json")
        resp.headers.update({"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})
        return resp

    def index() -> Response:
        body = {"lists": [platform.list_uri(i) for i in platform.lists]}
        return Response(json.dumps(body), mimetype="application/json", headers={"Cache-Control": "no-cache"})

    def one(**kwargs: Any) -> Response:
        list_id = str(next(iter(kwargs.values()), ""))
        if list_id not in platform.lists:
            abort(404)
        return Response(platform.status_list_jwt(list_id), mimetype="application/statuslist+jwt",
                        headers={"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"})

    existing = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    for path, endpoint, view in ((KEYS_PATH, "offline_fixture_keys", keys), (LISTS_PATH, "offline_fixture_index", index),
                                 (LISTS_PATH + "/<list_id>", "offline_fixture_list", one)):
        match = next((e for r, e in existing.items() if r == path or (r.startswith(LISTS_PATH + "/<")
                                                                      and path.endswith("<list_id>"))), None)
        if match:
            app.view_functions[match] = view
        else:
            app.add_url_rule(path, endpoint, view)
