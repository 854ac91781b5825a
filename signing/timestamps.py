"""RFC 3161 timestamping for seals: an in-process TSA (demo, tests) or a real one over HTTP."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import cms, core, keys, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

__all__ = ["TimeStamper", "http_timestamper", "in_process_timestamper"]


class _ParsedKeyTimeStamper(DummyTimeStamper):
    """pyHanko's ``DummyTimeStamper`` with the TSA key parsed once instead of on every token."""

    def __init__(self, tsa_cert: x509.Certificate, tsa_key: keys.PrivateKeyInfo, **kwargs: Any) -> None:
        super().__init__(tsa_cert=tsa_cert, tsa_key=tsa_key, **kwargs)
        pyca_key = serialization.load_der_private_key(tsa_key.dump(), password=None)
        if not isinstance(pyca_key, RSAPrivateKey):
            raise TypeError("the in-process TSA needs an RSA key")
        self._pyca_key = pyca_key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime) -> tuple[bytes, cms.CMSAttributes]:
        hash_algo = get_pyca_cryptography_hash(md_algorithm)

        md = hashes.Hash(hash_algo)
        md.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", md.finalize()),
            ]
        )
        signature = self._pyca_key.sign(signed_attrs.dump(), PKCS1v15(), hash_algo)
        return signature, signed_attrs


def in_process_timestamper(
    tsa_cert_path: str | Path,
    tsa_key_path: str | Path,
    *,
    key_password: bytes | None = None,
    chain: list[x509.Certificate] | None = None,
) -> TimeStamper:
    """A TSA running inside this process (demo / tests): key and certificate loaded once.

    ``tsa_cert_path`` and ``tsa_key_path`` are PEM or DER files; the key must be RSA.
    ``chain`` lists extra certificates (the TSA's CA) to embed in every token.
    """
    cert = load_cert_from_pemder(str(tsa_cert_path))
    key = load_private_key_from_pemder(str(tsa_key_path), passphrase=key_password)
    return _ParsedKeyTimeStamper(cert, key, certs_to_embed=chain or None)


def http_timestamper(url: str, timeout: float = 10) -> TimeStamper:
    """An RFC 3161 TSA reached over HTTP(S) (pyHanko's ``HTTPTimeStamper``)."""
    return HTTPTimeStamper(url, timeout=timeout)
