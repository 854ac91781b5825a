"""The VAPID key (RFC 8292): a P-256 key whose public half the browser binds its subscription to
(``applicationServerKey``), and which signs the JWT every push carries.

``VAPID_PRIVATE_KEY_PEM`` (a PKCS#8 or SEC1 PEM file) in production, where it is required; the embedded default
makes ``instance/vapid_key.pem`` (0600) once, at the first start. PKCS#11 custody is not offered for this key:
it signs one short JWT per push, and a leak lets someone push encrypted-to-nobody messages to our subscribers
only through the push services' per-key quotas (rotate by replacing the file: browsers re-subscribe).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from config.settings import Settings, SettingsError
from signing.offline import new_private_pem
from wallet.private_files import instance_key_file

__all__ = ["VapidKey", "load_vapid", "b64u"]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class VapidKey:
    signer: Any  # py_vapid.Vapid02 (signs the JWT; pywebpush takes it as is)
    public_key: str  # base64url of the uncompressed point: the browser's applicationServerKey
    subject: str  # the JWT's "sub"


def load_vapid(settings: Settings) -> VapidKey:
    path = instance_key_file(settings.vapid_private_key_pem, None if settings.production else settings.instance_path,
                             "vapid_key.pem", new_private_pem)
    if path is None:
        raise SettingsError("production refuses to start without: VAPID_PRIVATE_KEY_PEM (the Web Push key)")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SettingsError(f"VAPID_PRIVATE_KEY_PEM: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SettingsError("VAPID_PRIVATE_KEY_PEM: not a P-256 (prime256v1) EC private key")
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKey(Vapid02(private_key=key), b64u(point), settings.vapid_subject or default_subject(settings))


def default_subject(settings: Settings) -> str:
    """PUBLIC_BASE_URL's origin when it is https without a port (what py_vapid accepts), else a mailto: address."""
    url = urlsplit(settings.public_base_url)
    if url.scheme == "https" and url.hostname and url.port is None:
        return f"https://{url.hostname}"
    return "mailto:webpush@localhost"
