"""Envelope encryption: AES-256-GCM per blob under its own data key, wrapped by the master key.

The associated data binds a ciphertext to its record ("document:<id>:original"): a blob copied onto
another record fails to decrypt. Blob format: ``version(1) || nonce(12) || ciphertext+tag``.

Values under the master key (wrapped data keys, small column secrets) name the master key that made them:
``0x02 || key id(8) || nonce(12) || ciphertext+tag``, the key id being the first 8 bytes of
SHA-256("wallet-master-key-id" || key). A keyring holds the current key (used for every new value) and
previous keys (read only), so ``keys rotate-master`` can re-wrap values batch by batch while everything stays
readable. Values of the first format (``0x01 || nonce || ...``, no key id) are tried under every key.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
KEYED = b"\x02"  # a value under the master key that names its key


def key_id(master_key: bytes) -> bytes:
    return hashlib.sha256(b"wallet-master-key-id" + master_key).digest()[:8]


class DecryptionError(Exception):
    """The blob or its wrapped key does not belong to this record (or was altered)."""


@dataclass(frozen=True)
class Sealed:
    wrapped_key: bytes
    ciphertext: bytes


class Envelope:
    """The keyring: ``master_key`` wraps every new value; ``previous`` keys only unwrap.

    ``reload`` (embedded default) returns a fresh (current, previous) pair when a value names a key this
    process does not know: a rotation run by the CLI is then picked up by a running server."""

    def __init__(self, master_key: bytes, previous: Sequence[bytes] = (),
                 reload: Callable[[], tuple[bytes, Sequence[bytes]]] | None = None) -> None:
        self._reload = reload
        self._load(master_key, previous)

    def _load(self, master_key: bytes, previous: Sequence[bytes]) -> None:
        for k in (master_key, *previous):
            if len(k) != 32:
                raise ValueError("master key must be 32 bytes")
        current_id, master = key_id(master_key), AESGCM(master_key)
        keys = {key_id(k): AESGCM(k) for k in previous}
        keys[current_id] = master
        order = [master, *(v for k, v in keys.items() if k != current_id)]
        # one assignment: a thread never pairs one key's id with another key (a reload may run concurrently)
        self._state = (current_id, master, keys, order)

    @property
    def current_id(self) -> bytes:
        return self._state[0]

    @property
    def reloadable(self) -> bool:
        return self._reload is not None

    def load(self, master_key: bytes, previous: Sequence[bytes] = ()) -> None:
        """Switch this keyring to another current key and previous keys."""
        self._load(master_key, previous)

    @property
    def key_ids(self) -> list[str]:
        return [k.hex() for k in self._state[2]]

    def _seal(self, plaintext: bytes, ad: bytes) -> bytes:
        current_id, master, _, _ = self._state
        nonce = os.urandom(12)
        return KEYED + current_id + nonce + master.encrypt(nonce, plaintext, ad)

    def _open(self, value: bytes, ad: bytes) -> bytes:
        if value[:1] == KEYED and len(value) > 21:
            kid = value[1:9]
            if kid not in self._state[2] and self._reload is not None:
                self._load(*self._reload())
            key = self._state[2].get(kid)
            if key is None:
                raise DecryptionError("wrapped under a master key this keyring does not hold")
            try:
                return key.decrypt(value[9:21], value[21:], ad)
            except (InvalidTag, ValueError) as exc:
                raise DecryptionError("authentication failed") from exc
        if value[:1] != VERSION:
            raise DecryptionError("unknown format")
        for key in self._state[3]:  # the first format names no key
            try:
                return key.decrypt(value[1:13], value[13:], ad)
            except (InvalidTag, ValueError):
                continue
        raise DecryptionError("authentication failed")

    def is_current(self, value: bytes | None) -> bool:
        """Whether ``value`` is wrapped under the current master key (rotation skips it)."""
        return value is not None and value[:1] == KEYED and value[1:9] == self.current_id

    def encrypt(self, plaintext: bytes, aad: str) -> Sealed:
        data_key = AESGCM.generate_key(bit_length=256)
        ad = aad.encode()
        nonce = os.urandom(12)
        ciphertext = VERSION + nonce + AESGCM(data_key).encrypt(nonce, plaintext, ad)
        return Sealed(self._seal(data_key, b"key|" + ad), ciphertext)

    def decrypt(self, sealed: Sealed, aad: str) -> bytes:
        ad = aad.encode()
        c = sealed.ciphertext
        if c[:1] != VERSION:
            raise DecryptionError("unknown format")
        data_key = self._open(sealed.wrapped_key, b"key|" + ad)
        try:
            return AESGCM(data_key).decrypt(c[1:13], c[13:], ad)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("authentication failed") from exc

    def rewrap(self, wrapped_key: bytes, aad: str) -> bytes:
        """The same data key wrapped under the current master key (the blob is not touched)."""
        ad = b"key|" + aad.encode()
        return self._seal(self._open(wrapped_key, ad), ad)

    def encrypt_small(self, plaintext: bytes, aad: str) -> bytes:
        """Small secrets kept in a column (TOTP seeds): directly under the master key."""
        return self._seal(plaintext, b"col|" + aad.encode())

    def decrypt_small(self, blob: bytes, aad: str) -> bytes:
        return self._open(blob, b"col|" + aad.encode())

    def rewrap_small(self, blob: bytes, aad: str) -> bytes:
        ad = b"col|" + aad.encode()
        return self._seal(self._open(blob, ad), ad)
