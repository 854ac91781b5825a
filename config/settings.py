"""One typed settings object, read from the environment.

The embedded default (no ``DATABASE_URL``) is what ``make run`` serves: SQLite and encrypted blobs under
``instance/``, the demo PKI generated there, in-process timestamping, in-memory rate limits (one process).
Production (``WALLET_ENV=production``) refuses to start without its secrets, and, with more than one worker
(``WEB_CONCURRENCY``, gunicorn's ``workers``; 2 by default), without ``REDIS_URL``: rate limits and sign-in
failure counters must be shared by every worker, never kept in one process's memory.
"""
from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"
FRONTEND = ROOT / "frontend"  # templates, static assets, message catalogues (create_app, wallet/web/assets.py)


class SettingsError(RuntimeError):
    """The environment does not describe a service that may start."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str) -> tuple[str, ...]:
    return tuple(p for p in (s.strip() for s in value.split(",")) if p)


# the public push services of Chrome/Android (FCM), Firefox (Mozilla autopush), Edge (WNS) and Safari (Apple)
DEFAULT_WEBPUSH_HOSTS: tuple[str, ...] = ("fcm.googleapis.com", "updates.push.services.mozilla.com",
                                          "*.notify.windows.com", "web.push.apple.com")


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | test | production
    instance_path: Path = DEFAULT_INSTANCE
    secret_key: str = ""
    database_url: str = ""
    storage_url: str = ""
    s3_endpoint_url: str | None = None
    master_key: bytes = b""  # 32 bytes, wraps every per-document data key
    master_keys_previous: tuple[bytes, ...] = ()  # older master keys: they unwrap, never wrap (rotation)
    trust_roots: tuple[str, ...] = ()  # PEM files of the trust anchors for agency signatures
    seal_pkcs12: str | None = None
    seal_pkcs12_password: str | None = None
    seal_pkcs11_lib: str | None = None
    seal_pkcs11_token: str | None = None
    seal_pkcs11_pin: str | None = None
    seal_pkcs11_key_label: str | None = None
    # the seal stamp's Arabic lines (Debian fonts-noto-core); "" turns them off; missing: logged, Latin lines only
    seal_arabic_font: str = "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf"
    tsa_url: str | None = None  # HTTP RFC 3161 TSA (production)
    tsa_cert: str | None = None  # in-process TSA (embedded default)
    tsa_key: str | None = None
    public_base_url: str = "http://127.0.0.1:5000"
    rate_limits: bool = True
    proxy_hops: int = 0  # reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto are trusted
    rate_limit_storage: str = "memory://"
    rate_limit_key_prefix: str = "wallet"  # keys in the shared rate-limit storage (several services on one Redis)
    max_upload_bytes: int = 20 * 1024 * 1024
    max_signatures: int = 20
    # untrusted PDFs are validated in a pool of validator processes, each within these budgets (signing/sandbox.py)
    validator_processes: int = 2  # per web process
    validation_cpu_seconds: float = 10.0
    validation_wall_seconds: float = 15.0
    validation_memory_mb: int = 300  # above the validator's own baseline (pyHanko imported)
    validation_queue_seconds: float = 10.0  # wait for a free validator, then 503 + Retry-After
    # structural limits checked before anything is hashed (signing/limits.py)
    max_revisions: int = 64
    max_xref_entries: int = 200_000
    max_embedded_certs: int = 24
    max_same_subject_certs: int = 2
    session_idle_seconds: int = 15 * 60
    session_absolute_seconds: int = 12 * 3600
    # step-up: sharing these document types, granting a proxy, adding or removing a passkey need a sign-in, a
    # passkey or a one-time code within the last STEP_UP_SECONDS (STEP_UP_TYPES: comma-separated type codes)
    step_up_seconds: int = 300
    step_up_types: tuple[str, ...] = ("criminal_record",)
    secure_cookies: bool = False
    demo: bool = False
    # audit chain: HMAC key (32 bytes) + id, previous keys "ID:BASE64,...", Ed25519 checkpoint key (32-byte seed),
    # previous checkpoint public keys, the write-once export; empty = embedded default under instance/ (not prod)
    audit_key: bytes = b""
    audit_key_id: str = ""
    audit_keys_previous: str = ""
    audit_checkpoint_key: bytes = b""
    audit_checkpoint_keys_previous: str = ""
    audit_checkpoint_url: str = ""
    audit_checkpoint_retention_days: int = 3650
    audit_checkpoint_endpoint_url: str | None = None  # S3 endpoint of the export (default: S3_ENDPOINT_URL)
    # offline verification: the platform's P-256 key signing QR payloads and status lists (a PKCS#8 PEM file) and
    # the previous public keys still published (PEM files); empty = embedded default under instance/ (not prod)
    verify_key_pem: str | None = None
    verify_keys_previous: tuple[str, ...] = ()
    # background jobs (wallet/jobs.py): celery (production) | thread (embedded default) | eager (tests)
    jobs_backend: str = "eager"
    broker_url: str = ""  # CELERY_BROKER_URL, else REDIS_URL
    jobs_threads: int = 2  # the thread backend's pool, per web process
    jobs_queue: str = "wallet"
    jobs_visibility_seconds: int = 600  # a job taken by a worker that died is delivered again after this
    # agencies' webhooks (wallet/webhooks): the only hosts ("host" or "host:port", lower case) a webhook URL may
    # name; an entry without a port allows the scheme's default port only. http only for loopback entries
    webhook_allowed_hosts: tuple[str, ...] = ()
    # Web Push (wallet/push): the VAPID P-256 key (a PKCS#8 PEM file; empty = instance/vapid_key.pem made once,
    # not in production), the JWT's ``sub`` (mailto: or https:; default PUBLIC_BASE_URL), and the push services
    # a browser's subscription may name (host, host:port or *.domain; see wallet/push/endpoints.py)
    vapid_private_key_pem: str | None = None
    vapid_subject: str = ""
    webpush_allowed_hosts: tuple[str, ...] = DEFAULT_WEBPUSH_HOSTS
    log_format: str = "text"  # text | json (LOG_FORMAT; wallet/logs.py: one JSON object a line, with the request id)
    # batch issuance (POST /api/v1/batches): documents and bytes of one upload (each file within max_upload_bytes)
    batch_max_documents: int = 1000
    batch_max_bytes: int = 200 * 1024 * 1024
    extra: Mapping[str, Any] = field(default_factory=dict)
    # the service's official identity in the header: its name per page language and its emblem (a file under
    # frontend/static/, SVG or PNG); SERVICE_NAME_AR / _FR / _EN and SERVICE_EMBLEM
    service_name: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SERVICE_NAME))
    service_emblem: str = "icons/emblem.svg"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def pki_dir(self) -> Path:
        return self.instance_path / "pki"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("WALLET_ENV", "development")
        instance = Path(env.get("WALLET_INSTANCE", str(DEFAULT_INSTANCE))).resolve()
        production = mode == "production"

        values: dict[str, Any] = {"env": mode, "instance_path": instance}
        if production:
            missing = [k for k in ("SECRET_KEY", "DATABASE_URL", "STORAGE_URL", "MASTER_KEY", "TRUST_ROOTS",
                                   "PUBLIC_BASE_URL", "AUDIT_KEY", "AUDIT_CHECKPOINT_KEY") if not env.get(k)]
            if not (env.get("TSA_URL") or (env.get("TSA_CERT") and env.get("TSA_KEY"))):
                missing.append("TSA_URL")
            if not (env.get("SEAL_PKCS12") or env.get("SEAL_PKCS11_LIB")):
                missing.append("SEAL_PKCS12 or SEAL_PKCS11_LIB")
            if missing:
                raise SettingsError("production refuses to start without: " + ", ".join(missing))
            workers = production_workers(env)
            if workers > 1 and not shared_rate_limit_storage(env):
                raise SettingsError(f"production with {workers} workers refuses to start without REDIS_URL: "
                                    "rate limits and sign-in failure counters must be shared by every worker "
                                    "(set REDIS_URL, or WEB_CONCURRENCY=1 for a single worker)")
            if len(env["SECRET_KEY"]) < 32:
                raise SettingsError("SECRET_KEY must be at least 32 characters")
        values["secret_key"] = env.get("SECRET_KEY") or _instance_secret(instance, "secret_key", 48)
        values["database_url"] = env.get("DATABASE_URL") or f"sqlite:///{instance / 'wallet.sqlite3'}"
        if values["database_url"].startswith("postgres://"):
            values["database_url"] = "postgresql+psycopg://" + values["database_url"][len("postgres://"):]
        elif values["database_url"].startswith("postgresql://"):
            values["database_url"] = "postgresql+psycopg://" + values["database_url"][len("postgresql://"):]
        values["storage_url"] = env.get("STORAGE_URL") or f"file://{instance / 'blobs'}"
        values["s3_endpoint_url"] = env.get("S3_ENDPOINT_URL") or None
        if env.get("MASTER_KEY"):
            values["master_key"] = decode_master_key(env["MASTER_KEY"], "MASTER_KEY")
            values["master_keys_previous"] = tuple(decode_master_key(k, "MASTER_KEYS_PREVIOUS")
                                                   for k in _list(env.get("MASTER_KEYS_PREVIOUS", "")))
        else:  # embedded default: the keyring under instance/ (keys rotate-master --new-key rotates it there)
            values["master_key"], values["master_keys_previous"] = instance_keyring(instance)
        pki = instance / "pki"
        values["trust_roots"] = _list(env.get("TRUST_ROOTS", "")) or (str(pki / "root.pem"),)
        values["seal_pkcs12"] = env.get("SEAL_PKCS12") or (None if production else str(pki / "platform" / "seal.p12"))
        values["seal_pkcs12_password"] = env.get("SEAL_PKCS12_PASSWORD")
        values["seal_pkcs11_lib"] = env.get("SEAL_PKCS11_LIB")
        values["seal_pkcs11_token"] = env.get("SEAL_PKCS11_TOKEN")
        values["seal_pkcs11_pin"] = env.get("SEAL_PKCS11_PIN")
        values["seal_pkcs11_key_label"] = env.get("SEAL_PKCS11_KEY_LABEL")
        if "SEAL_ARABIC_FONT" in env:
            values["seal_arabic_font"] = env["SEAL_ARABIC_FONT"].strip()
        values["tsa_url"] = env.get("TSA_URL")
        values["tsa_cert"] = env.get("TSA_CERT") or (None if production else str(pki / "tsa" / "tsa.pem"))
        values["tsa_key"] = env.get("TSA_KEY") or (None if production else str(pki / "tsa" / "tsa.key.pem"))
        port = env.get("PORT", "5000")
        values["public_base_url"] = (env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/")
        values["rate_limits"] = env.get("WALLET_RATE_LIMITS", "on").lower() not in {"off", "0", "false", "no"}
        values["rate_limit_storage"] = env.get("RATE_LIMIT_STORAGE") or env.get("REDIS_URL") or "memory://"
        values["rate_limit_key_prefix"] = env.get("RATE_LIMIT_KEY_PREFIX") or "wallet"
        hops = env.get("PROXY_HOPS", "0").strip() or "0"
        if not hops.isdigit() or int(hops) > 5:
            raise SettingsError("PROXY_HOPS must be the number of reverse proxies in front of the service (0-5)")
        values["proxy_hops"] = int(hops)
        if "MAX_UPLOAD_BYTES" in env:
            values["max_upload_bytes"] = int(env["MAX_UPLOAD_BYTES"])
        for key, name, conv in _VALIDATION_ENV:
            if env.get(name, "").strip():
                try:
                    values[key] = conv(env[name])
                except ValueError as exc:
                    raise SettingsError(f"{name} must be a number") from exc
                if values[key] <= 0:
                    raise SettingsError(f"{name} must be positive")
        for name in ("AUDIT_KEY", "AUDIT_CHECKPOINT_KEY"):
            if env.get(name):
                values[name.lower()] = decode_master_key(env[name], name)
        values["audit_key_id"] = env.get("AUDIT_KEY_ID", "").strip()
        values["audit_keys_previous"] = env.get("AUDIT_KEYS_PREVIOUS", "")
        values["audit_checkpoint_keys_previous"] = env.get("AUDIT_CHECKPOINT_KEYS_PREVIOUS", "")
        values["audit_checkpoint_url"] = env.get("AUDIT_CHECKPOINT_URL", "").strip()
        values["audit_checkpoint_endpoint_url"] = env.get("AUDIT_CHECKPOINT_S3_ENDPOINT_URL") or None
        values["verify_key_pem"] = (env.get("VERIFY_KEY_PEM") or "").strip() or None
        values["verify_keys_previous"] = _list(env.get("VERIFY_KEYS_PREVIOUS", ""))
        days = env.get("AUDIT_CHECKPOINT_RETENTION_DAYS", "3650").strip()
        if not days.isdigit() or not 1 <= int(days) <= 36500:
            raise SettingsError("AUDIT_CHECKPOINT_RETENTION_DAYS must be a number of days (1-36500)")
        values["audit_checkpoint_retention_days"] = int(days)
        up = env.get("STEP_UP_SECONDS", "300").strip() or "300"
        if not up.isdigit() or not 1 <= int(up) <= 86400:
            raise SettingsError("STEP_UP_SECONDS must be a number of seconds (1-86400)")
        values["step_up_seconds"] = int(up)
        if "STEP_UP_TYPES" in env:
            values["step_up_types"] = _list(env["STEP_UP_TYPES"])
        values["broker_url"] = (env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or "").strip()
        # production runs Celery workers (Procfile worker:) on its broker; a single-process production without
        # REDIS_URL (WEB_CONCURRENCY=1) keeps the thread backend, as the embedded default does
        backend = (env.get("JOBS_BACKEND") or "").strip().lower() or (
            "celery" if production and values["broker_url"] else "thread")
        if backend not in {"celery", "thread", "eager"}:
            raise SettingsError("JOBS_BACKEND must be celery, thread or eager")
        if backend == "celery" and not values["broker_url"]:
            raise SettingsError("JOBS_BACKEND=celery needs CELERY_BROKER_URL or REDIS_URL")
        values["jobs_backend"] = backend
        for key, name, low, high in (("jobs_threads", "JOBS_THREADS", 1, 64),
                                     ("jobs_visibility_seconds", "JOBS_VISIBILITY_SECONDS", 5, 86400),
                                     ("batch_max_documents", "BATCH_MAX_DOCUMENTS", 1, 10000),
                                     ("batch_max_bytes", "BATCH_MAX_BYTES", 1024, 4 * 1024 ** 3)):
            raw = (env.get(name) or "").strip()
            if raw:
                if not raw.isdigit() or not low <= int(raw) <= high:
                    raise SettingsError(f"{name} must be a whole number from {low} to {high}")
                values[key] = int(raw)
        values["jobs_queue"] = (env.get("JOBS_QUEUE") or "").strip() or "wallet"
        values["webhook_allowed_hosts"] = allowed_hosts(env.get("WEBHOOK_ALLOWED_HOSTS", ""), "WEBHOOK_ALLOWED_HOSTS")
        values["vapid_private_key_pem"] = (env.get("VAPID_PRIVATE_KEY_PEM") or "").strip() or None
        subject = (env.get("VAPID_SUBJECT") or "").strip()
        if subject and not subject.startswith(("mailto:", "https://")):
            raise SettingsError("VAPID_SUBJECT must be a mailto: or https:// URL (RFC 8292)")
        values["vapid_subject"] = subject
        if "WEBPUSH_ALLOWED_HOSTS" in env:
            values["webpush_allowed_hosts"] = parse_host_list(env["WEBPUSH_ALLOWED_HOSTS"], "WEBPUSH_ALLOWED_HOSTS")
        values["secure_cookies"] = secure_cookies(production, values["public_base_url"],
                                                  _bool(env.get("SECURE_COOKIES", "0")))
        log_format = (env.get("LOG_FORMAT") or "text").strip().lower()
        if log_format not in {"text", "json"}:
            raise SettingsError("LOG_FORMAT must be text or json")
        values["log_format"] = log_format
        values["demo"] = _bool(env.get("WALLET_DEMO", "0"))
        values["service_name"] = {code: (env.get(f"SERVICE_NAME_{code.upper()}") or "").strip() or default
                                  for code, default in DEFAULT_SERVICE_NAME.items()}
        emblem = (env.get("SERVICE_EMBLEM") or "").strip().lstrip("/")
        if emblem and (".." in emblem.split("/") or not emblem.lower().endswith((".svg", ".png"))):
            raise SettingsError("SERVICE_EMBLEM must be an SVG or PNG file under frontend/static/ (e.g. "
                                "icons/emblem.svg)")
        values["service_emblem"] = emblem or "icons/emblem.svg"
        return cls(**values)


_HOST_ENTRY = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*"
                         r"(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$")


def parse_host_list(value: str, setting: str) -> tuple[str, ...]:
    """A comma-separated list of host, host:port, [IPv6]:port or *.domain entries, lower-cased."""
    hosts = tuple(h.lower() for h in _list(value))
    for host in hosts:
        if not _HOST_ENTRY.match(host) or host.startswith("*.") and host.count(".") < 2:
            raise SettingsError(f"{setting}: {host!r} is not a host, host:port or *.domain (two labels at least)")
        port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else None
        if port is not None and "]" not in port and not 0 < int(port) < 65536:
            raise SettingsError(f"{setting}: {host!r} has no valid port")
    return hosts


DEFAULT_SERVICE_NAME: Mapping[str, str] = {"ar": "محفظة المواطن الإلكترونية",
                                            "fr": "Portefeuille électronique du citoyen",
                                            "en": "Citizen e-wallet"}


def allowed_hosts(raw: str, name: str) -> tuple[str, ...]:
    """A comma-separated list of ``host`` or ``host:port`` (an IPv6 address in brackets), lower-cased."""
    out = []
    for entry in _list(raw.lower()):
        host, port = entry, ""
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            if rest and not rest.startswith(":"):
                raise SettingsError(f"{name}: {entry!r} is not host[:port]")
            port = rest[1:]
            host = f"[{host}]"
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        elif ":" in entry:
            raise SettingsError(f"{name}: write an IPv6 address in brackets ([::1]:8443), not {entry!r}")
        if not host or any(c in host for c in "/@?#% ") or (port and not (port.isdigit() and 0 < int(port) < 65536)):
            raise SettingsError(f"{name}: {entry!r} is not host[:port]")
        out.append(f"{host}:{port}" if port else host)
    return tuple(dict.fromkeys(out))
def http_loopback(url: str) -> bool:
    """``http://`` to this machine's own loopback (127.0.0.0/8, ::1, localhost): nobody else can see the traffic."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    host = parts.hostname.lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_cookies(production: bool, public_base_url: str, asked: bool) -> bool:
    """Cookies are ``Secure`` (and ``__Host-`` named) in production, whatever SECURE_COOKIES says, except when the
    public base URL is plain http on loopback (``make cluster`` on one machine: a browser would never send a Secure
    cookie back over http). Elsewhere SECURE_COOKIES decides (off by default: ``make run`` is http)."""
    if production:
        return asked or not http_loopback(public_base_url)
    return asked


def production_workers(env: Mapping[str, str], default: int = 2) -> int:
    """gunicorn's worker count as config/gunicorn.conf.py reads it (``WEB_CONCURRENCY``, default 2)."""
    raw = (env.get("WEB_CONCURRENCY") or "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError("WEB_CONCURRENCY must be a number of worker processes")
    return int(raw)


def shared_rate_limit_storage(env: Mapping[str, str]) -> bool:
    """True when the rate-limit storage is shared between processes (not ``memory://``)."""
    uri = env.get("RATE_LIMIT_STORAGE") or env.get("REDIS_URL") or ""
    return bool(uri) and not uri.startswith("memory://")


_VALIDATION_ENV: tuple[tuple[str, str, Any], ...] = (
    ("validator_processes", "VALIDATOR_PROCESSES", int),
    ("validation_cpu_seconds", "VALIDATION_CPU_SECONDS", float),
    ("validation_wall_seconds", "VALIDATION_WALL_SECONDS", float),
    ("validation_memory_mb", "VALIDATION_MEMORY_MB", int),
    ("validation_queue_seconds", "VALIDATION_QUEUE_SECONDS", float),
    ("max_revisions", "MAX_REVISIONS", int),
    ("max_xref_entries", "MAX_XREF_ENTRIES", int),
    ("max_embedded_certs", "MAX_EMBEDDED_CERTS", int),
    ("max_same_subject_certs", "MAX_SAME_SUBJECT_CERTS", int),
)
def decode_master_key(raw: str, name: str = "MASTER_KEY") -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw.strip() + "=" * (-len(raw.strip()) % 4))
    except ValueError as exc:
        raise SettingsError(f"{name} must be base64 (32 bytes)") from exc
    if len(key) != 32:
        raise SettingsError(f"{name} must decode to 32 bytes")
    return key


def instance_key(instance: Path, name: str) -> bytes:
    """Embedded default only: a 32-byte key generated once under instance/ (file 0600)."""
    return decode_master_key(_instance_secret(instance, name, 32), name)


def instance_keyring(instance: Path) -> tuple[bytes, tuple[bytes, ...]]:
    """Embedded default: ``instance/master_key`` (current, generated once) and ``instance/master_keys_previous``
    (one older key a line, written by a rotation)."""
    current = decode_master_key(_instance_secret(instance, "master_key", 32))
    previous_file = instance / "master_keys_previous"
    lines = previous_file.read_text().split() if previous_file.exists() else []
    return current, tuple(decode_master_key(k, "instance/master_keys_previous") for k in lines)


def install_new_instance_key(instance: Path) -> bytes:
    """Embedded default: make a new current key, the old one moving to the previous keys. Both files are
    replaced atomically, the previous keys first: a crash in between leaves every key on the ring."""
    old = _instance_secret(instance, "master_key", 32)
    previous_file = instance / "master_keys_previous"
    lines = previous_file.read_text().split() if previous_file.exists() else []
    new = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    _write_private(previous_file, "\n".join([*dict.fromkeys([old, *lines])]) + "\n")
    _write_private(instance / "master_key", new)
    return decode_master_key(new)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _instance_secret(instance: Path, name: str, nbytes: int) -> str:
    """Embedded default only: a random secret generated once and kept under instance/ (never committed)."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # the instance folder holds keys: its owner's only
    value = base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("=")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
