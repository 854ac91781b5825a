"""Trust anchors used to validate signatures on documents from outside.

Certificates are parsed once, when the store is built; every call to
:meth:`TrustStore.validation_context` returns a fresh
:class:`~pyhanko_certvalidator.ValidationContext` (pyHanko contexts cache
paths and revocation data and must not be shared between signatures).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import pem, x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext

from .errors import TrustStoreError

__all__ = ["TrustStore", "load_certificates"]


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Parse one DER certificate or any number of PEM certificates."""
    try:
        if pem.detect(data):
            certs = [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
        else:
            certs = [x509.Certificate.load(data)]
        for cert in certs:
            cert.native  # noqa: B018  -- force a full parse now, not during validation
    except (ValueError, TypeError, KeyError) as exc:
        raise TrustStoreError(f"not a certificate: {exc.__class__.__name__}") from exc
    return certs


def _load_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[x509.Certificate, ...]:
    out: list[x509.Certificate] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise TrustStoreError(f"cannot read trust file {path}: {exc.strerror}") from exc
        out.extend(load_certificates(data))
    return tuple(out)


@dataclass(frozen=True)
class TrustStore:
    """Trust roots plus optional known intermediates (not trusted by themselves)."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_pem_files(
        cls,
        roots: Iterable[str | os.PathLike[str]],
        intermediates: Iterable[str | os.PathLike[str]] = (),
    ) -> TrustStore:
        return cls(roots=_load_files(roots), intermediates=_load_files(intermediates))

    @classmethod
    def from_pem_bundles(cls, roots: bytes, intermediates: bytes = b"") -> TrustStore:
        """The inverse of :meth:`pem_bundles` (how a store crosses a process boundary)."""
        return cls(roots=tuple(load_certificates(roots)) if roots else (),
                   intermediates=tuple(load_certificates(intermediates)) if intermediates else ())

    def pem_bundles(self) -> tuple[bytes, bytes]:
        """(roots, intermediates) as concatenated PEM certificates, computed once per store."""
        cached: tuple[bytes, bytes] | None = self.__dict__.get("_pem_bundles")
        if cached is None:
            cached = (b"".join(pem.armor("CERTIFICATE", c.dump()) for c in self.roots),
                      b"".join(pem.armor("CERTIFICATE", c.dump()) for c in self.intermediates))
            object.__setattr__(self, "_pem_bundles", cached)
        return cached

    @property
    def root_fingerprints(self) -> frozenset[str]:
        return frozenset(c.sha256.hex() for c in self.roots)

    def validation_context(self, moment: datetime | None = None) -> ValidationContext:
        """A fresh, offline validation context.

        ``allow_fetching`` is always ``False``: AIA / CRL / OCSP URLs inside a
        submitted document are attacker-controlled (SSRF).  Revocation is
        checked in soft-fail mode against whatever the document embeds.
        """
        return ValidationContext(
            trust_roots=list(self.roots),
            other_certs=list(self.intermediates),
            moment=moment,
            allow_fetching=False,
            revocation_mode="soft-fail",
        )

    def chain_problem(
        self, cert: x509.Certificate, others: Iterable[x509.Certificate] = (), moment: datetime | None = None
    ) -> str | None:
        """Why ``cert`` does not chain to these roots now (through ``others`` and the known intermediates),
        or None when it does. For an operator registering a certificate: a CA that chains nowhere would make
        every document the agency pushes ``untrusted_signer``."""

        context = ValidationContext(trust_roots=list(self.roots), other_certs=[*self.intermediates, *others],
                                    moment=moment, allow_fetching=False, revocation_mode="soft-fail")
        try:
            asyncio.run(CertificateValidator(cert, validation_context=context).async_validate_usage(set()))
        except Exception as exc:  # noqa: BLE001 - path building, validity, signature: every failure is a reason
            return str(exc) or exc.__class__.__name__
        return None
