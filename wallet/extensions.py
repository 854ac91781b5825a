"""Flask extensions and the per-process runtime (database, blob store, keys), built once in create_app."""
from __future__ import annotations

import json
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app, g
from flask_babel import Babel, get_translations
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from config.settings import Settings, SettingsError, instance_key, instance_keyring
from signing.keys import open_custody
from signing.limits import Limits
from signing.offline import OfflineSigner, new_private_pem
from signing.sandbox import Budget, shared_pool
from signing.seal import Sealer
from signing.sealconfig import SealConfig, SealConfigError
from signing.timestamps import http_timestamper, in_process_timestamper
from signing.trust import TrustStore, load_certificates
from wallet.audit import SESSION_INFO_KEY, AuditKeyring, parse_previous_keys
from wallet.audit_checkpoints import CheckpointExport, CheckpointKeys, open_export, parse_public_keys
from wallet.crypto import Envelope
from wallet.db import Database
from wallet.private_files import instance_key_file
from wallet.push.gate import NoticeGate
from wallet.storage import BlobStore, open_store
from wallet.throttle import LoginThrottle, shared_storage

if TYPE_CHECKING:
    from signing import TrustStore

babel = Babel()


def install_request_gettext(app: Any) -> None:
    """Templates resolve the request's catalogue once, not at every string: flask-babel's own callables walk
    its context and locale per call (26 lookups render the verification page; they were half its CPU)."""
    def translations() -> Any:
        try:
            return g._wallet_translations
        except AttributeError:
            g._wallet_translations = get_translations()
            return g._wallet_translations

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


class Runtime:
    """Long-lived parts shared by every request of a process: parsed once, reused (no per-request loading)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        options: dict[str, Any] = {}
        if settings.s3_endpoint_url and settings.storage_url.lower().startswith("s3:"):
            # S3_ENDPOINT_URL may be set for another bucket (audit checkpoints) while blobs stay local
            options["endpoint_url"] = settings.s3_endpoint_url
        self.store: BlobStore = open_store(settings.storage_url, **options)
        reload = None
        if (not settings.production and (settings.instance_path / "master_key").exists()
                and settings.master_key == instance_keyring(settings.instance_path)[0]):
            # the embedded keyring: a rotation by the CLI is picked up without a restart
            def reload() -> tuple[bytes, tuple[bytes, ...]]:
                return instance_keyring(settings.instance_path)
        self.envelope = Envelope(settings.master_key, settings.master_keys_previous, reload=reload)
        self.audit_keyring = _audit_keyring(settings)
        # every session of this runtime carries the keyring: audit.record finds it with one dict lookup
        self.db.sessionmaker.configure(info={SESSION_INFO_KEY: self.audit_keyring})
        self.offline = _offline_signer(settings)  # the QR payloads' and status lists' key (refuses a bad one now)
        # status list id -> (fingerprint of its revoked set, built at, signed JWT)
        self.status_cache: dict[int, tuple[int, float, str]] = {}
        self._lock = threading.Lock()
        self._trust: TrustStore | None = None
        self._trust_key: tuple[Any, ...] | None = None
        # the rate-limit storage (Redis in production: shared by every worker and node) holds the sign-in
        # budgets and the windows of "your share was viewed" notices
        self.shared_store = shared_storage(settings.rate_limit_storage, settings.rate_limit_key_prefix)
        self.login_throttle = LoginThrottle(self.shared_store, settings.secret_key)
        self.view_notices = NoticeGate(self.shared_store)

    @property
    def sign_in_throttle(self) -> LoginThrottle | None:
        """The sign-in throttle, or None when rate limits are off (``WALLET_RATE_LIMITS=off``)."""
        return self.login_throttle if self.settings.rate_limits else None

    def trust(self, extra_intermediates: tuple[str, ...] = ()) -> TrustStore:
        """Trust anchors (configured roots) + registered agency CAs as intermediates; rebuilt when those change."""
        key = (self.settings.trust_roots, extra_intermediates)
        with self._lock:
            if self._trust is None or self._trust_key != key:
                roots = tuple(c for p in self.settings.trust_roots for c in load_certificates(Path(p).read_bytes()))
                extra = tuple(c for pem in extra_intermediates for c in load_certificates(pem.encode()))
                self._trust = TrustStore(roots=roots, intermediates=extra)
                self._trust_key = key
            return self._trust

    @cached_property
    def validator(self) -> Any:
        """The process's pool of validator processes (shared by every app of the process; started on first use)."""
        s = self.settings
        budget = Budget(cpu_seconds=s.validation_cpu_seconds, wall_seconds=s.validation_wall_seconds,
                        memory_bytes=s.validation_memory_mb * 1024 * 1024, queue_seconds=s.validation_queue_seconds)
        limits = Limits(max_revisions=s.max_revisions, max_xref_entries=s.max_xref_entries,
                        max_embedded_certs=s.max_embedded_certs, max_same_subject=s.max_same_subject_certs)
        return shared_pool(s.validator_processes, budget, limits)

    @cached_property
    def checkpoint_keys(self) -> CheckpointKeys:
        s = self.settings
        seed = _key_or_instance_key(s, s.audit_checkpoint_key, "AUDIT_CHECKPOINT_KEY", "audit_checkpoint_key")
        try:
            return CheckpointKeys(seed, parse_public_keys(s.audit_checkpoint_keys_previous))
        except ValueError as exc:
            raise SettingsError(f"AUDIT_CHECKPOINT_KEY / AUDIT_CHECKPOINT_KEYS_PREVIOUS: {exc}") from exc

    @cached_property
    def checkpoint_export(self) -> CheckpointExport | None:
        s = self.settings
        url = s.audit_checkpoint_url or ("" if s.production else f"file://{s.instance_path / 'audit-checkpoints'}")
        endpoint = s.audit_checkpoint_endpoint_url or s.s3_endpoint_url
        options = {"endpoint_url": endpoint} if endpoint and url.startswith("s3:") else {}
        return open_export(url, s.audit_checkpoint_retention_days, **options)

    @cached_property
    def sealer(self) -> Any:
        s = self.settings
        password = s.seal_pkcs12_password
        manifest = s.pki_dir / "pki.json"
        if password is None and not s.seal_pkcs11_lib and not s.production and manifest.exists():
            # embedded default: the demo PKI's generated password (demo material under instance/)

            password = json.loads(manifest.read_text())["platform"]["seal_pkcs12_password"]
        try:
            config = SealConfig.from_options(pkcs12=s.seal_pkcs12, pkcs12_password=password,
                                             pkcs11_lib=s.seal_pkcs11_lib, pkcs11_token=s.seal_pkcs11_token,
                                             pkcs11_pin=s.seal_pkcs11_pin, pkcs11_key_label=s.seal_pkcs11_key_label)
        except SealConfigError as exc:  # named as the operator sets it: SEAL_PKCS11_TOKEN, ...
            raise SettingsError(f"SEAL_{exc.field.upper()}: {exc}") from exc
        custody = open_custody(config)
        if s.tsa_url:
            tsa = http_timestamper(s.tsa_url)
        else:
            tsa = in_process_timestamper(_needed(s.tsa_cert, "TSA_CERT"), _needed(s.tsa_key, "TSA_KEY"))
        return Sealer(custody, tsa, arabic_font=s.seal_arabic_font)


def _needed(value: str | None, setting: str) -> str:
    """A seal setting the chosen custody cannot do without: name it rather than fail inside pyHanko on None.

    The seal key itself is checked by :class:`signing.sealconfig.SealConfig`; this is for the TSA."""
    if value is None:
        raise SettingsError(f"{setting} is not set")
    return value



def _key_or_instance_key(s: Settings, configured: bytes | None, setting: str, file_name: str) -> bytes:
    """The configured key; in the embedded default, one generated once under instance/ (0600)."""
    if configured:
        return configured
    if s.production:
        raise SettingsError(f"production refuses to start without: {setting}")
    return instance_key(s.instance_path, file_name)


def _offline_signer(s: Settings) -> OfflineSigner:
    """VERIFY_KEY_PEM (+ VERIFY_KEYS_PREVIOUS); in the embedded default, instance/verify_key.pem made once."""
    pem = instance_key_file(s.verify_key_pem, None if s.production else s.instance_path, "verify_key.pem",
                            new_private_pem)
    if pem is None:
        raise SettingsError("production refuses to start without: VERIFY_KEY_PEM")
    try:
        return OfflineSigner(pem.read_bytes(), [Path(p).read_bytes() for p in s.verify_keys_previous])
    except (OSError, ValueError, TypeError) as exc:
        raise SettingsError(f"VERIFY_KEY_PEM / VERIFY_KEYS_PREVIOUS: {exc}") from exc


def _audit_keyring(s: Settings) -> AuditKeyring:
    key = _key_or_instance_key(s, s.audit_key, "AUDIT_KEY", "audit_key")
    try:
        return AuditKeyring(key, s.audit_key_id or None, parse_previous_keys(s.audit_keys_previous))
    except ValueError as exc:
        raise SettingsError(f"AUDIT_KEY / AUDIT_KEY_ID / AUDIT_KEYS_PREVIOUS: {exc}") from exc


def runtime() -> Runtime:
    return current_app.extensions["wallet.runtime"]  # type: ignore[no-any-return]
