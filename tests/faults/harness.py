"""The real parts for the fault drills: a private PostgreSQL cluster, a private Ceph RGW, gunicorn, clients.

Nothing here touches the machine's shared services (PostgreSQL 5432, the Ceph at /tmp/wallet-ceph:7480,
Redis): every part a drill breaks is started by the drill, on free loopback ports and private folders.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python") if (BIN / "python").exists() else "python3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001, S110 - not ready yet
            pass
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


# ------------------------------------------------------------------------------------ PostgreSQL


class PrivatePostgres:
    """``pg_createcluster 15 NAME -p PORT -d DIR``, trust on 127.0.0.1, dropped at the end (never 5432's)."""

    def __init__(self, name: str = "faults", datadir: str = "/tmp/faults-pg", version: str = "15") -> None:  # noqa: S108 - the path the drill brief names
        self.name, self.datadir, self.version = name, datadir, version
        self.port = free_port()
        assert self.port != 5432

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args],
                              capture_output=True, text=True, timeout=60, check=check)

    def create(self) -> None:
        self.drop()  # debris of an interrupted run
        shutil.rmtree(self.datadir, ignore_errors=True)
        subprocess.run(["pg_createcluster", self.version, self.name, "-p", str(self.port), "-d", self.datadir,
                        "--", "--auth-local=trust", "--auth-host=trust"],
                       capture_output=True, text=True, timeout=120, check=True)
        hba = Path(f"/etc/postgresql/{self.version}/{self.name}/pg_hba.conf")
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        conf = Path(f"/etc/postgresql/{self.version}/{self.name}/conf.d/faults.conf")
        conf.write_text("listen_addresses = '127.0.0.1'\nfsync = off\nsynchronous_commit = off\n"
                        "full_page_writes = off\nmax_connections = 100\n")
        self.start()

    def ready(self) -> bool:
        return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                              timeout=10).returncode == 0

    def start(self) -> None:
        self._ctl("start")
        wait_until(self.ready, 30, "private PostgreSQL start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")
        wait_until(self.ready, 30, "private PostgreSQL restart")

    def create_database(self, db: str) -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        return self.url(db)

    def drop(self) -> None:
        if Path(f"/etc/postgresql/{self.version}/{self.name}").exists():
            subprocess.run(["pg_dropcluster", "--stop", self.version, self.name], capture_output=True, timeout=60)


# ------------------------------------------------------------------------------------ Ceph RGW


class PrivateCeph:
    """Our own one-node Ceph (scripts/s3-server.sh with a private state dir and ports); never /tmp/wallet-ceph."""

    def __init__(self, state_dir: str = "/tmp/faults-ceph") -> None:  # noqa: S108
        assert state_dir.rstrip("/") != "/tmp/wallet-ceph"  # noqa: S108 - the shared one
        self.state_dir = state_dir
        self.port = free_port()
        self.mon_port = free_port()
        assert self.port != 7480

    @property
    def env(self) -> dict[str, str]:
        return {"S3_STATE_DIR": self.state_dir, "S3_PORT": str(self.port), "S3_MON_PORT": str(self.mon_port)}

    def _script(self, action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ROOT / "scripts" / "s3-server.sh"), action], env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=180)

    def start(self) -> None:
        r = self._script("start")
        if r.returncode != 0:
            raise RuntimeError(f"private Ceph did not start: {r.stderr[-2000:]}")

    def stop_all(self) -> None:
        self._script("stop")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def s3_env(self) -> dict[str, str]:
        out = self._script("env").stdout.strip().removeprefix("export ")
        return dict(part.split("=", 1) for part in out.split())

    def rgw_pid(self) -> int | None:
        pidfile = Path(self.state_dir) / "run" / "client.rgw.a.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        if not cmdline.exists() or self.state_dir not in cmdline.read_bytes().decode(errors="replace"):
            return None
        return pid

    def answers(self) -> bool:
        try:
            requests.get(self.endpoint, timeout=2)
            return True
        except requests.RequestException:
            return False

    def kill_rgw(self) -> None:
        """SIGKILL the gateway only: the monitor and the memstore OSD (the data) keep running."""
        pid = self.rgw_pid()
        assert pid is not None, "no radosgw of ours is running"
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or not self.answers(), 10, "radosgw stop")

    def start_rgw(self) -> None:
        conf = Path(self.state_dir) / "ceph.conf"
        subprocess.run(["radosgw", "-c", str(conf), "-n", "client.rgw.a"], check=True, timeout=60,
                       capture_output=True, pass_fds=())
        wait_until(self.answers, 60, "radosgw restart")


# ------------------------------------------------------------------------------------ the service


@dataclass
class Service:
    """The app's environment (Settings.from_env) and what the drill set up in it."""

    env: dict[str, str]
    agency_key: str = ""
    citizen: dict[str, str] = field(default_factory=dict)
    pdfs: list[bytes] = field(default_factory=list)


def service_env(work: Path, pki: dict[str, Any], database_url: str, port: int,
                storage_url: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    instance = work / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "WALLET_ENV": "development", "WALLET_INSTANCE": str(instance),
        "SECRET_KEY": "faults-drill-secret-" + "x" * 40,
        "DATABASE_URL": database_url,
        "STORAGE_URL": storage_url or f"file://{instance / 'blobs'}",
        "MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "TRUST_ROOTS": pki["root"],
        "SEAL_PKCS12": pki["platform"]["seal_pkcs12"],
        "SEAL_PKCS12_PASSWORD": pki["platform"]["seal_pkcs12_password"],
        "TSA_CERT": pki["tsa"]["cert"], "TSA_KEY": pki["tsa"]["key"],
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WALLET_RATE_LIMITS": "off",
        "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4",
    }
    env.update(extra or {})
    return env


def with_app(env: dict[str, str]) -> Iterator[Any]:
    """An in-process app on the service's settings (set-up and final checks), disposed afterwards."""
    from config.settings import Settings
    from wallet import create_app

    # boto3 reads its credentials from the process environment, not from Settings
    aws = {k: v for k, v in env.items() if k.startswith("AWS_")}
    saved = {k: os.environ.get(k) for k in aws}
    os.environ.update(aws)
    app = create_app(Settings.from_env(env))
    try:
        with app.app_context():
            yield app
    finally:
        app.extensions["wallet.runtime"].db.dispose()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def prepare(env: dict[str, str], pki: dict[str, Any], pdf_count: int, s3_bucket: bool = False) -> Service:
    """Migrate, register MJ with its CA and an API key, enrol one citizen; sign ``pdf_count`` distinct PDFs."""
    import pyotp

    from tests.support.pdfgen import base_pdf, load_signer, signed
    from wallet import db
    from wallet.agencies import service as agencies
    from wallet.citizens.enrolment import create_enrolled_citizen
    from wallet.demo.agencies import DEMO_AGENCIES
    from wallet.extensions import runtime
    from wallet.migrate import upgrade

    upgrade(env["DATABASE_URL"])
    svc = Service(env)
    spec = next(a for a in DEMO_AGENCIES if a["code"] == "MJ")
    for _app in with_app(env):
        if s3_bucket:
            runtime().store.ensure_bucket()
        sess = db.session()
        agency = agencies.add_agency(sess, spec["code"], spec["name"], spec["types"], spec["names"])
        agencies.add_certificate(sess, agency, Path(pki["agencies"]["MJ"]["ca"]).read_bytes(), "ca")
        svc.agency_key = agencies.issue_key(sess, agency)
        secret = pyotp.random_base32()
        create_enrolled_citizen(sess, runtime().envelope, "AB123456", "Amina Benali", "correct horse battery 9",
                                secret)
        svc.citizen = {"national_id": "AB123456", "password": "correct horse battery 9", "totp_secret": secret}
        db.commit()
    mj = pki["agencies"]["MJ"]
    signer = load_signer(mj["pkcs12"], mj["pkcs12_password"])
    # each file carries its push metadata as the signed document.json (PRODUCT.md, signed metadata): the
    # reference a drill pushes it under is the one its agency signed
    svc.pdfs = []
    for i in range(pdf_count):
        tag = uuid.uuid4().hex[:12]
        svc.pdfs.append(signed(base_pdf(f"Extrait du casier judiciaire - drill {tag}"), signer,
                               document_json=drill_metadata(f"DRILL-{i:03d}-{tag}")))
    return svc


def drill_metadata(reference: str) -> dict[str, Any]:
    return {"holder_id": "AB123456", "type": "criminal_record", "reference": reference,
            "issued_at": dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC).isoformat()}


def signed_reference(pdf: bytes) -> str:
    """The reference in the file's signed document.json."""
    from signing.metadata import peek_metadata

    values = peek_metadata(pdf).values
    assert values is not None, "drill files carry a document.json"
    return str(values["reference"])


class Gunicorn:
    """``gunicorn -c config/gunicorn.conf.py 'wallet:create_app()'`` with 2 workers on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log_path = env, log
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "wallet:create_app()"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # our own session: the master and its workers only
            self.proc.wait(10)
        self._log.close()

    def workers(self) -> list[int]:
        assert self.proc is not None
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def healthy(self) -> bool:
        return requests.get(self.base + "/healthz", timeout=5).status_code == 200

    def wait_ready(self, timeout: float = 90) -> None:
        assert self.proc is not None

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}): {self.log_tail()}")
            return len(self.workers()) == 2 and self.healthy()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except RuntimeError:
                raise
            except Exception:  # noqa: BLE001, S110 - still booting
                pass
            time.sleep(0.3)
        raise TimeoutError(f"gunicorn not ready within {timeout:.0f} s: {self.log_tail()}")

    def wait_workers_booted(self, timeout: float = 60) -> None:
        """After a kill: the master forked a replacement; give it time to load the app."""
        wait_until(lambda: len(self.workers()) == 2, timeout, "worker respawn")
        time.sleep(1.5)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def server_errors(self) -> list[str]:
        """Access-log lines with a 5xx other than 503, and tracebacks."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        bad = [ln for ln in lines if '" 50' in ln and '" 503 ' not in ln]
        bad += [ln for ln in lines if ln.startswith("Traceback")]
        return bad


# ------------------------------------------------------------------------------------ clients


@dataclass
class Outcome:
    kind: str  # "ok" | "connection_error" | "unavailable" | "bad"
    status: int | None = None
    body: Any = None
    detail: str = ""


def classify(call: Callable[[], requests.Response], ok: tuple[int, ...]) -> Outcome:
    try:
        r = call()
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        return Outcome("connection_error", detail=type(exc).__name__)
    except requests.Timeout as exc:
        return Outcome("bad", detail=f"timeout: {exc}")
    body: Any
    try:
        body = r.json()
    except ValueError:
        body = r.text[:300]
    if r.status_code in ok:
        return Outcome("ok", r.status_code, body)
    if (r.status_code == 503 and r.headers.get("Retry-After", "").isdigit()
            and r.headers.get("Content-Type", "").startswith("application/problem+json")
            and isinstance(body, dict) and body.get("status") == 503 and body.get("code")):
        return Outcome("unavailable", 503, body)
    return Outcome("bad", r.status_code, body, f"headers={dict(r.headers)}")


def push(base: str, key: str, pdf: bytes, reference: str, timeout: float = 60) -> Outcome:
    meta = drill_metadata(reference)
    return classify(lambda: requests.post(
        base + "/api/v1/documents", headers={"Authorization": f"Bearer {key}"}, timeout=timeout,
        files={"file": ("doc.pdf", pdf, "application/pdf")}, data={"metadata": json.dumps(meta)}), (200, 201))


class PushLoad:
    """Client threads pushing distinct (reference, file) pairs until stopped; every outcome is kept."""

    def __init__(self, base: str, key: str, pdfs: list[bytes], threads: int = 2, attempts: int = 1,
                 replay: bool = True) -> None:
        self.base, self.key, self.attempts, self.replay = base, key, attempts, replay
        self.todo = [(signed_reference(pdf), pdf) for pdf in pdfs]
        self.outcomes: dict[str, list[Outcome]] = {}
        self.files: dict[str, bytes] = {}
        self.in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.gate = threading.Event()  # cleared: the clients pause between requests (e.g. while a worker respawns)
        self.gate.set()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _next(self) -> tuple[str, bytes] | None:
        """The next new file; when all were pushed, an identical replay of one of them (``replay``): the load
        goes on for as long as the drill needs, and every replay must give the same id."""
        with self._lock:
            if self.todo:
                return self.todo.pop(0)
            if self.replay and self.files:
                ref = random.choice(sorted(self.files))  # noqa: S311
                return ref, self.files[ref]
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.gate.wait(0.2):
                continue
            item = self._next()
            if item is None:
                return
            ref, pdf = item
            with self._lock:
                self.files[ref] = pdf
            for _attempt in range(self.attempts):  # as a client would: retry the same push (Retry-After capped)
                with self._lock:
                    self.in_flight += 1
                try:
                    out = push(self.base, self.key, pdf, ref)
                finally:
                    with self._lock:
                        self.in_flight -= 1
                with self._lock:
                    self.outcomes.setdefault(ref, []).append(out)
                if out.kind in ("ok", "bad") or self._stop.is_set():
                    break
                time.sleep(0.3)

    def start(self) -> PushLoad:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(90)

    def count(self, kind: str) -> int:
        with self._lock:
            return sum(1 for outs in self.outcomes.values() for o in outs if o.kind == kind)

    def all(self) -> list[Outcome]:
        with self._lock:
            return [o for outs in self.outcomes.values() for o in outs]


def assert_no_bad(outcomes: list[Outcome], what: str) -> None:
    bad = [o for o in outcomes if o.kind == "bad"]
    assert not bad, f"{what}: answers other than 2xx / 503+Retry-After / connection error: " + "; ".join(
        f"{o.status} {o.body!r} {o.detail[:200]}" for o in bad[:5])


def settle_pushes(base: str, key: str, load: PushLoad, timeout: float = 120) -> dict[str, str]:
    """After recovery, push every (reference, file) again until it is answered: a reference that already had a
    2xx must be an identical replay (200, same id); the others get 201 (or 200 when the cut request had in fact
    committed). Returns reference -> document id."""
    ids: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    for ref, pdf in load.files.items():
        earlier = [o.body["id"] for o in load.outcomes.get(ref, []) if o.kind == "ok"]
        assert len(set(earlier)) <= 1, f"{ref}: two documents for one reference: {earlier}"
        while True:
            out = push(base, key, pdf, ref)
            if out.kind == "ok":
                break
            assert out.kind in ("connection_error", "unavailable"), (ref, out)
            assert time.monotonic() < deadline, f"{ref}: still {out.kind} after recovery"
            time.sleep(0.5)
        if earlier:
            assert out.status == 200 and out.body["id"] == earlier[0], (ref, earlier, out)
        assert out.body["sha256"] == hashlib.sha256(pdf).hexdigest()
        ids[ref] = out.body["id"]
    return ids


def check_documents(env: dict[str, str], expected: dict[str, str]) -> None:
    """Every document row has its blob and it decrypts to the file pushed; every pushed reference has one row."""
    from sqlalchemy import select

    from wallet import db
    from wallet.documents.models import Document
    from wallet.documents.service import read_original
    from wallet.extensions import runtime

    for _app in with_app(env):
        rows = db.session().execute(select(Document)).scalars().all()
        by_ref = {d.reference: d for d in rows}
        for ref, doc_id in expected.items():
            assert ref in by_ref and by_ref[ref].id == doc_id, f"{ref}: no row, or another id"
        for doc in rows:
            data = read_original(runtime(), doc)  # raises if the blob is missing or does not decrypt
            assert hashlib.sha256(data).hexdigest() == doc.sha256, f"document {doc.id}: blob differs"


def fsck(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "flask"), "--app", "wallet", "fsck", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
