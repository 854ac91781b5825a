"""Flask extensions and the per-process runtime (database, blob store, keys), built once in create_app."""
from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from config.settings import Settings, instance_keyring
from wallet.crypto import Envelope
from wallet.db import Database
from wallet.storage import BlobStore, open_store

if TYPE_CHECKING:
    from signing import TrustStore

LANGUAGES = ("ar", "fr", "en")


def select_locale() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(LANGUAGES) or "fr"


babel = Babel()


def install_request_gettext(app: Any) -> None:
    """Templates resolve the request's catalogue once, not at every string: flask-babel's own callables walk
    its context and locale per call (26 lookups render the verification page; they were half its CPU)."""
    from flask import g
    from flask_babel import get_translations

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
        if settings.s3_endpoint_url:
            options["endpoint_url"] = settings.s3_endpoint_url
        self.store: BlobStore = open_store(settings.storage_url, **options)
        reload = None
        if (not settings.production and (settings.instance_path / "master_key").exists()
                and settings.master_key == instance_keyring(settings.instance_path)[0]):
            # the embedded keyring: a rotation by the CLI is picked up without a restart
            def reload() -> tuple[bytes, tuple[bytes, ...]]:
                return instance_keyring(settings.instance_path)
        self.envelope = Envelope(settings.master_key, settings.master_keys_previous, reload=reload)
        self._lock = threading.Lock()
        self._trust: TrustStore | None = None
        self._trust_key: tuple[Any, ...] | None = None

    def trust(self, extra_intermediates: tuple[str, ...] = ()) -> TrustStore:
        """Trust anchors (configured roots) + registered agency CAs as intermediates; rebuilt when those change."""
        from signing.trust import TrustStore, load_certificates

        key = (self.settings.trust_roots, extra_intermediates)
        with self._lock:
            if self._trust is None or self._trust_key != key:
                roots = tuple(c for p in self.settings.trust_roots for c in load_certificates(Path(p).read_bytes()))
                extra = tuple(c for pem in extra_intermediates for c in load_certificates(pem.encode()))
                self._trust = TrustStore(roots=roots, intermediates=extra)
                self._trust_key = key
            return self._trust

    @cached_property
    def sealer(self) -> Any:
        from signing.keys import Pkcs11Custody, Pkcs12Custody
        from signing.seal import Sealer
        from signing.timestamps import http_timestamper, in_process_timestamper

        s = self.settings
        custody: Any
        if s.seal_pkcs11_lib:
            custody = Pkcs11Custody(s.seal_pkcs11_lib, s.seal_pkcs11_token, s.seal_pkcs11_pin,
                                    s.seal_pkcs11_key_label)
        else:
            password = s.seal_pkcs12_password
            manifest = s.pki_dir / "pki.json"
            if password is None and not s.production and manifest.exists():
                # embedded default: the demo PKI's generated password (demo material under instance/)
                import json

                password = json.loads(manifest.read_text())["platform"]["seal_pkcs12_password"]
            custody = Pkcs12Custody(s.seal_pkcs12, password)
        if s.tsa_url:
            tsa = http_timestamper(s.tsa_url)
        else:
            tsa = in_process_timestamper(s.tsa_cert, s.tsa_key)
        return Sealer(custody, tsa)


def runtime() -> Runtime:
    return current_app.extensions["wallet.runtime"]  # type: ignore[no-any-return]
