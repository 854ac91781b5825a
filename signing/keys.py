"""Key custody: where the platform's seal key lives, behind one small interface.

Two implementations:

* :class:`Pkcs12Custody` — a PKCS#12 file; the key is parsed once and kept as a
  ``cryptography`` key object (pyHanko's ``SimpleSigner`` re-parses its key on
  every signature).
* :class:`Pkcs11Custody` — a PKCS#11 token (an HSM; SoftHSMv2 in tests); one
  session is opened and kept, signing operations are serialised by a lock
  because a PKCS#11 session runs one operation at a time.

Both hand out a pyHanko :class:`~pyhanko.sign.signers.Signer` that is safe to
share between threads (each thread drives it through its own ``asyncio.run``).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

from asn1crypto import keys as asn1_keys
from asn1crypto import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import Signer
from pyhanko.sign.signers.pdf_cms import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from .errors import SigningLibraryError
from .sealconfig import Custody, SealConfig

__all__ = [
    "SOFTHSM_LIB",
    "KeyCustody",
    "KeyCustodyError",
    "Pkcs11Custody",
    "Pkcs12Custody",
    "open_custody",
]

#: Where Debian's ``softhsm2`` package puts the PKCS#11 module.
SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"


class KeyCustodyError(SigningLibraryError):
    """The key material could not be loaded or the token could not be opened."""


@runtime_checkable
class KeyCustody(Protocol):
    """Something that holds the seal key and can sign with it."""

    def signer(self) -> Signer:
        """The pyHanko signer; built once and reused across calls and threads."""
        ...

    @property
    def certificate(self) -> x509.Certificate:
        """The signing certificate."""
        ...


class _ParsedKeySigner(SimpleSigner):
    """A ``SimpleSigner`` that keeps its private key parsed as a ``cryptography`` object."""

    def __init__(self, pyca_key: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pyca_key = pyca_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mech = self.get_signature_mechanism_for_digest(digest_algorithm)
        algo = mech["algorithm"].native
        key = self._pyca_key
        if isinstance(key, rsa.RSAPrivateKey):
            if algo == "rsassa_pss":
                pss_padding, hash_algo = process_pss_params(mech["parameters"])
                return key.sign(data, pss_padding, hash_algo)
            if mech.signature_algo == "rsassa_pkcs1v15":
                return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        elif isinstance(key, ec.EllipticCurvePrivateKey) and mech.signature_algo == "ecdsa":
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        # anything exotic: fall back to pyHanko's own (slower) implementation
        return super().sign_raw(data, digest_algorithm)


class Pkcs12Custody:
    """Seal key in a PKCS#12 file, parsed once at construction."""

    def __init__(self, path: str | Path, password: str | bytes | None) -> None:
        if isinstance(password, str):
            password = password.encode("utf-8")
        try:
            data = Path(path).read_bytes()
            pyca_key, pyca_cert, pyca_others = pkcs12.load_key_and_certificates(data, password)
        except (OSError, ValueError) as exc:
            raise KeyCustodyError(f"cannot load PKCS#12 file {path}") from exc
        if pyca_key is None or pyca_cert is None:
            raise KeyCustodyError(f"PKCS#12 file {path} has no private key or no certificate")
        cert = x509.Certificate.load(pyca_cert.public_bytes(serialization.Encoding.DER))
        others = [x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in pyca_others]
        key_info = asn1_keys.PrivateKeyInfo.load(
            pyca_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self._certificate = cert
        self._signer = _ParsedKeySigner(
            pyca_key,
            signing_cert=cert,
            signing_key=key_info,
            cert_registry=SimpleCertificateStore.from_certs(others),
        )

    def signer(self) -> Signer:
        return self._signer

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate


def _make_locked_pkcs11_signer(session: Any, lock: threading.Lock, **kwargs: Any) -> Any:
    # python-pkcs11 only for PKCS#11 custody: file custody (the default) never loads it
    from pyhanko.sign.pkcs11 import PKCS11Signer  # noqa: PLC0415 - optional backend, PKCS#11 custody only

    class _LockedPKCS11Signer(PKCS11Signer):
        """Signs inline (no executor thread per call) with the session lock held."""

        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
            if dry_run:
                return self.estimate_raw_signature_size_bytes() * b"0"
            await self.ensure_objects_loaded()
            assert self._key_handle is not None
            spec = self._select_pkcs11_signing_params(digest_algorithm, sign_kwargs=self.sign_kwargs(data))
            if spec.pre_sign_transform is not None:
                data = spec.pre_sign_transform(data)
            with lock:
                signature = self._key_handle.sign(data, **spec.sign_kwargs)
            if spec.post_sign_transform is not None:
                signature = spec.post_sign_transform(signature)
            return bytes(signature)

    return _LockedPKCS11Signer(session, **kwargs)


class Pkcs11Custody:
    """Seal key on a PKCS#11 token. The session stays open until :meth:`close`."""

    def __init__(
        self,
        lib_path: str | Path,
        token_label: str,
        user_pin: str,
        key_label: str,
        cert_label: str | None = None,
    ) -> None:
        try:
            # python-pkcs11 only for PKCS#11 custody: file custody (the default) never loads it
            from pyhanko.config.pkcs11 import TokenCriteria  # noqa: PLC0415 - optional backend, PKCS#11 only
            from pyhanko.sign.pkcs11 import open_pkcs11_session  # noqa: PLC0415 - optional backend, PKCS#11 only
        except ImportError as exc:  # pragma: no cover - pyhanko[pkcs11] is a dependency
            raise KeyCustodyError("python-pkcs11 is not installed (pyhanko[pkcs11])") from exc
        self._lock = threading.Lock()
        self._session: Any = None
        try:
            self._session = open_pkcs11_session(
                str(lib_path), token_criteria=TokenCriteria(label=token_label), user_pin=user_pin
            )
        except Exception as exc:  # python-pkcs11 raises many unrelated types
            raise KeyCustodyError(f"cannot open PKCS#11 token {token_label!r} with {lib_path}") from exc
        try:
            signer = _make_locked_pkcs11_signer(
                self._session,
                self._lock,
                key_label=key_label,
                cert_label=cert_label or key_label,
                other_certs_to_pull=None,  # pull the chain stored next to the key
            )
            # load key handle and certificates now, synchronously, once
            signer._load_objects()
            self._certificate: x509.Certificate = signer.signing_cert
            if self._certificate is None:
                raise KeyCustodyError(f"no certificate labelled {cert_label or key_label!r} on the token")
        except KeyCustodyError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise KeyCustodyError(f"cannot load key {key_label!r} from token {token_label!r}") from exc
        self._signer: Signer = signer

    def signer(self) -> Signer:
        return self._signer

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    def close(self) -> None:
        session, self._session = getattr(self, "_session", None), None
        if session is not None:
            with self._lock, contextlib.suppress(Exception):  # closing a dead session
                session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_custody(config: SealConfig) -> Pkcs12Custody | Pkcs11Custody:
    """The custody ``config`` describes, opened (the file parsed, or the token's session open).

    Raises :class:`KeyCustodyError` when the key cannot be loaded; ``config`` was checked when it was built.
    """
    if config.custody is Custody.PKCS11:
        return Pkcs11Custody(config.required("pkcs11_lib"), config.required("pkcs11_token"),
                             config.required("pkcs11_pin"), config.required("pkcs11_key_label"),
                             config.pkcs11_cert_label)
    return Pkcs12Custody(config.required("pkcs12"), config.pkcs12_password)
