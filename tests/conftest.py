"""Shared fixtures: one demo PKI per run, one database per worker (SQLite or PostgreSQL), a fresh app per test.

``WALLET_TEST_DB=postgresql`` runs the suite on the machine's PostgreSQL (one database per xdist worker,
created here); the default is SQLite in a temporary folder.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

from config.settings import Settings
from wallet.demo.agencies import DEMO_AGENCIES, PKI_AGENCIES

ROOT = Path(__file__).resolve().parent.parent

PG_ADMIN = os.environ.get("WALLET_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TEST_DB = os.environ.get("WALLET_TEST_DB", "sqlite")
# rate limits and sign-in failure counters run on the real (shared) Redis, under a key prefix of their own per
# test: never a flush, keys expire by themselves
TEST_REDIS = os.environ.get("WALLET_TEST_REDIS", "redis://127.0.0.1:6379/0")


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo PKI (certomancer), generated once per worker."""
    from signing.demo_pki import generate_demo_pki

    cache = Path(os.environ.get("WALLET_TEST_PKI_CACHE", "")) if os.environ.get("WALLET_TEST_PKI_CACHE") else None
    out = (cache / worker_id()) if cache else tmp_path_factory.mktemp("pki")
    return generate_demo_pki(out, PKI_AGENCIES)


@pytest.fixture(scope="session")
def signers(pki: dict[str, Any]) -> dict[str, Any]:
    """Agency signers, parsed once (code -> pyHanko signer); "ROGUE" signs from an unknown root."""
    from tests.support.pdfgen import load_signer

    out = {code: load_signer(a["pkcs12"], a["pkcs12_password"]) for code, a in pki["agencies"].items()}
    out["ROGUE"] = load_signer(pki["rogue"]["pkcs12"], pki["rogue"]["pkcs12_password"])
    return out


@pytest.fixture(scope="session")
def timestamper(pki: dict[str, Any]) -> Any:
    from tests.support.pdfgen import load_timestamper

    return load_timestamper(pki["tsa"]["cert"], pki["tsa"]["key"])


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this worker."""
    from wallet.migrate import upgrade

    if TEST_DB.startswith("postgres"):
        name = f"wallet_test_{worker_id()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        yield url
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'wallet.sqlite3'}"
        upgrade(url)
        yield url


def _wipe(url: str) -> None:
    from wallet.models import Base

    engine = create_engine(url)
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            c.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                c.execute(table.delete())
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, pki: dict[str, Any], database_url: str) -> Settings:
    instance = tmp_path / "instance"
    instance.mkdir()
    return Settings(
        env="test", instance_path=instance, secret_key="test-secret-" + "x" * 40, database_url=database_url,
        storage_url=f"file://{instance / 'blobs'}", master_key=os.urandom(32), trust_roots=(pki["root"],),
        seal_pkcs12=pki["platform"]["seal_pkcs12"], seal_pkcs12_password=pki["platform"]["seal_pkcs12_password"],
        tsa_cert=pki["tsa"]["cert"], tsa_key=pki["tsa"]["key"], public_base_url="http://wallet.test",
        rate_limits=False, max_upload_bytes=2 * 1024 * 1024,
        rate_limit_storage=TEST_REDIS, rate_limit_key_prefix=f"wallet-test-{uuid.uuid4().hex}",
    )


@pytest.fixture(scope="session")
def _savepoint_engine(database_url: str) -> Iterator[Any]:
    """The worker's engine for savepoint-per-test connections (the app's own pragmas and BEGIN IMMEDIATE)."""
    from wallet.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


class SavepointBinding:
    """SQLAlchemy 2's "Joining a Session into an External Transaction": one connection, one outer transaction
    per test, every session of every app of the test bound to it with ``join_transaction_mode=
    "create_savepoint"`` (a commit releases a savepoint; the outer transaction is rolled back at the end, so
    nothing needs truncating). SQLite: the outer BEGIN is the app's BEGIN IMMEDIATE; PostgreSQL: a plain one.

    The PostgreSQL QR look runs on a pooled autocommit connection of its own (``look_connection``), which
    could not see the outer transaction's rows: here it runs on the test's connection instead (same SQL, inside
    the transaction). Tests of the autocommit itself, of a live threaded server or of real concurrency are
    marked ``committed_db`` and get committed data and truncation instead."""

    def __init__(self, engine: Any) -> None:
        self.connection = engine.connect()
        self.outer = self.connection.begin()

    def attach(self, app: Any) -> None:
        app.extensions["wallet.db"].sessionmaker.configure(bind=self.connection,
                                                            join_transaction_mode="create_savepoint")

    def close(self) -> None:
        try:
            if self.outer.is_active:
                self.outer.rollback()
        finally:
            self.connection.close()


# WALLET_TEST_TRUNCATE=1: every test commits and truncates, as before the savepoint fixture (to compare times,
# or to tell a savepoint artefact from a real failure)
TRUNCATE_ALL = os.environ.get("WALLET_TEST_TRUNCATE", "") == "1"


def _uses_committed_db(request: pytest.FixtureRequest) -> bool:
    return TRUNCATE_ALL or request.node.get_closest_marker("committed_db") is not None


@pytest.fixture
def make_app(settings: Settings, database_url: str, request: pytest.FixtureRequest,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    from wallet import create_app

    apps = []
    binding = None
    if not _uses_committed_db(request):
        from wallet.verification import looks

        binding = SavepointBinding(request.getfixturevalue("_savepoint_engine"))
        monkeypatch.setattr(looks, "look_connection", lambda _engine, session: (session().connection(), False))

    def factory(**overrides: Any) -> Any:
        app = create_app(settings, **overrides)
        app.config["TESTING"] = True
        if binding is not None and app.extensions["wallet.db"].url == database_url:
            binding.attach(app)  # an app on another database (a migration test's own file) commits for real
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["wallet.runtime"].db.dispose()
    if binding is not None:
        binding.close()
    else:
        _wipe(database_url)


@pytest.fixture(scope="session", autouse=True)
def _validator_processes() -> Iterator[None]:
    """The validator pool (signing/sandbox.py) is shared by every app of the process: stopped once, at the end."""
    yield
    if "signing.sandbox" in sys.modules:
        sys.modules["signing.sandbox"].close_all()


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback (quick S3 checks; it enforces nothing: the Ceph runs do)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The test app behind a real HTTP server on loopback."""
    from tests.support.livehttp import serve

    with serve(app) as base:
        yield base


@pytest.fixture
def agencies(app: Any, pki: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The demo agencies registered with their CA; code -> {"key", "id", "types"}."""
    from wallet import db
    from wallet.agencies import service

    out = {}
    with app.app_context():
        sess = db.session()
        for spec in DEMO_AGENCIES:
            agency = service.add_agency(sess, spec["code"], spec["name"], spec["types"], spec["names"],
                                        capabilities=spec["capabilities"])
            if spec["types"]:
                service.add_certificate(sess, agency, Path(pki["agencies"][spec["code"]]["ca"]).read_bytes(), "ca")
            key = service.issue_key(sess, agency)
            out[spec["code"]] = {"key": key, "id": agency.id, "types": spec["types"]}
        db.commit()
    return out


def default_metadata() -> dict[str, Any]:
    return {"holder_id": "AB123456", "type": "criminal_record", "reference": f"REF-{uuid.uuid4().hex[:10]}",
            "issued_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


class SignedPdf(bytes):
    """A test PDF signed with its push metadata embedded as ``document.json`` (``.meta``).

    ``remake(meta)`` signs the same content again with other metadata (cached, so a replay gets the same bytes):
    the ``push`` fixture uses it when a test overrides metadata fields, so the file still says what the push says.
    """

    meta: dict[str, Any]
    remake: Callable[[dict[str, Any]], bytes]


@pytest.fixture
def signed_pdf(signers: dict[str, Any], timestamper: Any, pki: dict[str, Any]) -> Callable[..., bytes]:
    """signed_pdf("MJ", level="B-B", text=..., **metadata) -> a freshly signed PDF (unique content each call)
    carrying the signed document.json (the defaults of the ``push`` fixture updated with ``metadata``)."""
    from tests.support.pdfgen import base_pdf, offline_validation_context, signed

    def make(code: str = "MJ", level: str = "B-B", text: str | None = None, **meta: Any) -> bytes:
        body = text or f"Extrait du casier judiciaire - Aucune condamnation - ref {uuid.uuid4().hex[:12]}"
        base = base_pdf(body)
        cache: dict[str, bytes] = {}

        def sign(m: dict[str, Any]) -> bytes:
            key = json.dumps(m, sort_keys=True)
            if key not in cache:
                cache[key] = signed(base, signers[code], level=level,  # type: ignore[arg-type]
                                    timestamper=timestamper if level != "B-B" else None,
                                    validation_context=offline_validation_context(pki["root"])
                                    if level in ("B-LT", "B-LTA") else None, document_json=m)
            return cache[key]

        first = {**default_metadata(), **meta}
        out = SignedPdf(sign(first))
        out.meta = first
        out.remake = sign
        return out

    return make


def embedded_metadata(pdf: bytes) -> dict[str, Any] | None:
    from signing.metadata import peek_metadata

    meta = getattr(pdf, "meta", None)
    return dict(meta) if meta is not None else peek_metadata(pdf).values


@pytest.fixture
def push(client: Any, agencies: dict[str, dict[str, Any]]) -> Callable[..., Any]:
    """push(pdf, agency="MJ", **metadata overrides) -> the test client's response.

    The metadata part starts from the file's own document.json (or fresh defaults) updated with the overrides;
    a ``signed_pdf`` file is signed again with that metadata so both agree. ``resign=False`` sends the overrides
    without touching the file (a mismatch); ``metadata_part=False`` leaves the part out.
    """

    def do(pdf: bytes, agency: str = "MJ", key: str | None = None, *, resign: bool = True,
           metadata_part: bool = True, **meta: Any) -> Any:
        embedded = embedded_metadata(pdf)
        body = dict(embedded) if embedded else default_metadata()
        body.update(meta)
        remake = getattr(pdf, "remake", None)
        if resign and remake is not None and body != embedded:
            try:
                pdf = remake(body)
            except (TypeError, ValueError):
                pass  # not embeddable (unknown fields...): the test is about the metadata part's schema
        headers = {"Authorization": f"Bearer {key if key is not None else agencies[agency]['key']}"}
        data: dict[str, Any] = {"file": (io.BytesIO(pdf), "doc.pdf", "application/pdf")}
        if metadata_part:
            data["metadata"] = json.dumps(body)
        return client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data", data=data)

    return do


pytest_plugins = ["tests.support.fixtures"]  # holder, other, issue, revoke, citizen

NODB_DIRS = ("signing", "sealing", "storage", "demo")


# tests that need committed rows (a live threaded server, real concurrency, a second connection): truncation
COMMITTED_DB_FIXTURES = ("live_server",)
COMMITTED_DB_TESTS = (
    "api/test_backing_services_down.py",  # a second connection holds SQLite's lock; PostgreSQL restarted
    "api/test_db_pool.py",
    "audit/test_keyed_chain.py::test_concurrent_appends_make_one_keyed_chain",  # threads, one chain
    "verification/test_abuse.py",  # concurrent looks over a live server
    "verification/test_bombs.py",  # live server
    "verification/test_browser_share.py",
    # rows made by the test are read by the app on its own connections (the PostgreSQL look), statements counted on its engine
    "verification/test_decision_sql.py",
    "verification/test_token_redaction.py",  # live server and its access log
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "committed_db: commits for real and truncates after the test (a live "
                                       "threaded server, real concurrency, a second connection), instead of "
                                       "the savepoint-per-test fixture")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in NODB_DIRS:
            item.add_marker(pytest.mark.nodb)
        node = "/".join(parts) + ("::" + item.name.split("[")[0] if "::" in item.nodeid else "")
        if parts and parts[0] in ("browser", "bench", "faults") or \
                any(node == t or node.startswith(t + "::") for t in COMMITTED_DB_TESTS) or \
                any(f in getattr(item, "fixturenames", ()) for f in COMMITTED_DB_FIXTURES):
            item.add_marker(pytest.mark.committed_db)


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis (the Celery broker of the job tests), or a skip naming what is missing."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(TEST_REDIS, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {TEST_REDIS} (.ci/run starts it): {exc}")
    return TEST_REDIS
