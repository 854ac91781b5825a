"""A software WebAuthn authenticator for the API tests: attestation "none" and assertions, made with
``cryptography`` EC keys (the browser tests use Chromium's virtual authenticator instead).

``make_credential(options)`` answers PublicKeyCredentialCreationOptions (JSON, base64url) as a browser would
(``PublicKeyCredential.toJSON()``); ``get_assertion(options)`` answers request options. Every knob a hostile
client could turn is a keyword: origin, RP ID, flags (no UV), counter, user handle.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData

UP, UV, BE, BS = AuthenticatorData.FLAG.UP, AuthenticatorData.FLAG.UV, AuthenticatorData.FLAG.BE, \
    AuthenticatorData.FLAG.BS


@dataclass
class SoftAuthenticator:
    origin: str = "http://wallet.test"
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    user_handle: bytes = b""
    counter: int = 0
    step: int = 1  # how much the counter moves at each assertion (0: a synced passkey's constant 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def make_credential(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
                        flags: int = UP | UV, counter: int | None = None) -> dict[str, Any]:
        self.user_handle = websafe_decode(options["user"]["id"])
        rp = rp_id or options["rp"]["id"]
        cred = AttestedCredentialData.create(b"\0" * 16, self.credential_id,
                                             ES256.from_cryptography_key(self.key.public_key()))
        auth = AuthenticatorData.create(hashlib.sha256(rp.encode()).digest(),
                                        AuthenticatorData.FLAG(flags | AuthenticatorData.FLAG.AT),
                                        self.counter if counter is None else counter, bytes(cred))
        att = AttestationObject.create("none", auth, {})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        cid = websafe_encode(self.credential_id)
        return {"id": cid, "rawId": cid, "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": websafe_encode(client_data), "attestationObject": websafe_encode(att)}}

    def get_assertion(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
                      flags: int = UP | UV, counter: int | None = None, user_handle: bytes | None = None,
                      client_data: bytes | None = None) -> dict[str, Any]:
        if counter is None:
            self.counter += self.step
            counter = self.counter
        rp = rp_id or options["rpId"]
        auth = bytes(AuthenticatorData.create(hashlib.sha256(rp.encode()).digest(), AuthenticatorData.FLAG(flags),
                                              counter))
        data = client_data or self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth + hashlib.sha256(data).digest(), ec.ECDSA(hashes.SHA256()))
        cid = websafe_encode(self.credential_id)
        handle = self.user_handle if user_handle is None else user_handle
        return {"id": cid, "rawId": cid, "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": websafe_encode(data), "authenticatorData": websafe_encode(auth),
                             "signature": websafe_encode(signature), "userHandle": websafe_encode(handle)}}
