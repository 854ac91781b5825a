"""Envelope encryption: AES-256-GCM per blob under its own data key, wrapped by the master key.

The associated data binds a ciphertext to its record ("document:<id>:original"): a blob copied onto
another record fails to decrypt. Format: ``version(1) || nonce(12) || ciphertext+tag``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"


class DecryptionError(Exception):
    """The blob or its wrapped key does not belong to this record (or was altered)."""


@dataclass(frozen=True)
class Sealed:
    wrapped_key: bytes
    ciphertext: bytes


class Envelope:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        self._master = AESGCM(master_key)

    def encrypt(self, plaintext: bytes, aad: str) -> Sealed:
        data_key = AESGCM.generate_key(bit_length=256)
        ad = aad.encode()
        nonce = os.urandom(12)
        ciphertext = VERSION + nonce + AESGCM(data_key).encrypt(nonce, plaintext, ad)
        key_nonce = os.urandom(12)
        wrapped = VERSION + key_nonce + self._master.encrypt(key_nonce, data_key, b"key|" + ad)
        return Sealed(wrapped, ciphertext)

    def decrypt(self, sealed: Sealed, aad: str) -> bytes:
        ad = aad.encode()
        w, c = sealed.wrapped_key, sealed.ciphertext
        if w[:1] != VERSION or c[:1] != VERSION:
            raise DecryptionError("unknown format")
        try:
            data_key = self._master.decrypt(w[1:13], w[13:], b"key|" + ad)
            return AESGCM(data_key).decrypt(c[1:13], c[13:], ad)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("authentication failed") from exc

    def encrypt_small(self, plaintext: bytes, aad: str) -> bytes:
        """Small secrets kept in a column (TOTP seeds): directly under the master key."""
        nonce = os.urandom(12)
        return VERSION + nonce + self._master.encrypt(nonce, plaintext, b"col|" + aad.encode())

    def decrypt_small(self, blob: bytes, aad: str) -> bytes:
        try:
            return self._master.decrypt(blob[1:13], blob[13:], b"col|" + aad.encode())
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("authentication failed") from exc
