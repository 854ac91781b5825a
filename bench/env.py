"""The production-shaped instance the benchmarks run against.

A temp dir holds the demo PKI, the local blob store and the server log; PostgreSQL gets its own database
(created here, dropped at the end); the Procfile's `release:` step migrates it and `wallet.demo.prepare`
registers the demo agencies and the demo citizen; the Procfile's gunicorn command serves it
(``WEB_CONCURRENCY=2``, ``WALLET_RATE_LIMITS=off``).
"""
from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

from bench.stats import children, proc_rss_bytes, tree_cpu_seconds
from config.settings import Settings
from signing.demo_pki import generate_demo_pki
from signing.offline import new_private_pem
from wallet.demo.agencies import PKI_AGENCIES
from wallet.demo.prepare import prepare
from wallet.private_files import write_private

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name: str, template: str | None = None) -> None:
    """A new, empty database (or a copy of ``template``, which must have no other session), replacing any."""
    drop_database(name)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def pg_reachable() -> bool:
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001
        return False


@dataclass
class BenchEnv:
    """One benchmark instance. ``db="postgresql"`` (production shape) or ``"sqlite"`` (smoke test)."""

    db: str = "postgresql"
    db_name: str = "wallet_bench"
    workers: int = 2
    keep: bool = False
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wallet-bench-")))
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    pki: dict[str, Any] = field(default_factory=dict)
    demo: dict[str, Any] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    _log: Any = None

    # ------------------------------------------------------------------ setup

    @property
    def instance(self) -> Path:
        return self.tmp / "instance"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        if self.db == "sqlite":
            return f"sqlite:///{self.tmp / 'wallet.sqlite3'}"
        return f"{PG_URL}/{self.db_name}"

    def setup(self) -> BenchEnv:
        self.instance.mkdir(parents=True, exist_ok=True)
        self.pki = generate_demo_pki(self.instance / "pki", PKI_AGENCIES)
        if self.db == "postgresql":
            self._create_database()
        self.env = self._environment()
        # the Procfile's release step
        subprocess.run([sys.executable, "-m", "wallet.release"], env=self.env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)

        self.demo = {"base_url": self.base_url, **prepare(self.settings())}
        return self

    def _environment(self) -> dict[str, str]:
        blobs = self.tmp / "blobs"
        blobs.mkdir(exist_ok=True)
        verify_key = self.tmp / "verify_key.pem"  # the platform's verification key (issue 15): a throwaway one
        write_private(verify_key, new_private_pem())
        vapid_key = self.tmp / "vapid_key.pem"  # Web Push (issue 16): production requires it; a throwaway one
        write_private(vapid_key, new_private_pem())
        env = dict(os.environ)
        env.update({
            "WALLET_ENV": os.environ.get("BENCH_WALLET_ENV", "production"),
            "WALLET_INSTANCE": str(self.instance),
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": self.database_url,
            "STORAGE_URL": f"file://{blobs}",
            "MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
            # production's other required keys (issue 11): throwaway ones, like the master key
            "AUDIT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
            "AUDIT_CHECKPOINT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
            "VERIFY_KEY_PEM": str(verify_key),
            "VAPID_PRIVATE_KEY_PEM": str(vapid_key),
            # several workers in production share their limits and sign-in counters: the machine's Redis, under
            # a prefix of this run's own
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "RATE_LIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
            # the jobs (batch items) of this run on a queue of its own: other workers on the machine's Redis
            # never take them
            "JOBS_QUEUE": f"bench-{secrets.token_hex(4)}",
            "TRUST_ROOTS": str(self.pki["root"]),
            "SEAL_PKCS12": str(self.pki["platform"]["seal_pkcs12"]),
            "SEAL_PKCS12_PASSWORD": str(self.pki["platform"]["seal_pkcs12_password"]),
            "TSA_CERT": str(self.pki["tsa"]["cert"]),
            "TSA_KEY": str(self.pki["tsa"]["key"]),
            "PUBLIC_BASE_URL": self.base_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WALLET_RATE_LIMITS": "off",
            "WEB_CONCURRENCY": str(self.workers),
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        env.pop("TSA_URL", None)
        env.pop("SEAL_PKCS11_LIB", None)
        return env

    def settings(self) -> Any:
        return Settings.from_env(self.env)

    def _create_database(self) -> None:
        create_database(self.db_name)

    def pg_dsn(self, db_name: str | None = None) -> str:
        return f"{PG_ADMIN.replace('dbname=postgres', '')} dbname={db_name or self.db_name}".strip()

    # ------------------------------------------------------------------ the server

    def start_server(self, timeout: float = 90) -> None:
        self._log = open(self.tmp / "server.log", "ab")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"), "wallet:create_app()"],
            env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.server.returncode}; see {self.tmp / 'server.log'}")
            try:
                if requests.get(f"{self.base_url}/readyz", timeout=2).status_code == 200 and \
                        len(self.worker_pids()) >= self.workers:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("the server did not become ready")

    def worker_pids(self) -> list[int]:
        return children(self.server.pid) if self.server else []

    def server_cpu(self) -> float:
        assert self.server is not None
        return tree_cpu_seconds(self.server.pid)

    def worker_rss(self) -> list[int]:
        return [proc_rss_bytes(p) for p in self.worker_pids()]

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None
        if self._log:
            self._log.close()
            self._log = None

    def server_log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join((self.tmp / "server.log").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # ------------------------------------------------------------------ teardown

    def teardown(self) -> None:
        self.stop_server()
        if self.db == "postgresql" and not self.keep:
            try:
                drop_database(self.db_name)
            except Exception as exc:  # noqa: BLE001
                print(f"warning: could not drop {self.db_name}: {exc}", file=sys.stderr)
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
