"""A backing service down or busy is 503 + Retry-After (problem+json under /api, a page elsewhere), never a 500.

The fault drills (tests/faults, `make test-faults`) break the real parts under gunicorn; these tests pin the
mapping itself in the normal suite: a PostgreSQL nobody listens on, a blob store that says it is unreachable, a
SQLite writer lock held by another connection, and the bugs that must stay 500.
"""
from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy import exc as sa_exc

from wallet.agencies.service import KEY_PREFIX
from wallet.errors import RETRY_AFTER_SECONDS, is_transient
from wallet.storage import StorageUnavailable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nobody listens there


def _assert_unavailable(r: Any) -> None:
    assert r.status_code == 503, r.get_data(as_text=True)
    assert r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["status"] == 503 and body["code"] == "unavailable"
    assert "Traceback" not in r.get_data(as_text=True) and "psycopg" not in r.get_data(as_text=True)


@pytest.mark.nodb
def test_postgresql_refusing_connections_is_503(make_app: Callable[..., Any]) -> None:
    app = make_app(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/wallet")
    client = app.test_client()
    r = client.get("/api/v1/documents/abc", headers={"Authorization": "Bearer " + KEY_PREFIX + "x" * 40})
    _assert_unavailable(r)
    r = client.post("/api/v1/auth/login", json={"national_id": "AB123456", "password": "x" * 12, "otp": "123456"})
    _assert_unavailable(r)
    # the PWA gets the friendly page (a session cookie makes the page look the session up), same status and header
    client.set_cookie("wallet_sid", "x" * 43, domain="localhost")
    r = client.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 503 and r.mimetype == "text/html"
    assert r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "Traceback" not in r.get_data(as_text=True)


def test_blob_store_down_at_push_is_503_and_leaves_nothing(app: Any, push: Callable[..., Any],
                                                           signed_pdf: Callable[..., bytes]) -> None:
    from wallet import db
    from wallet.documents.models import Document
    store = app.extensions["wallet.runtime"].store

    def down(key: str, data: bytes) -> None:
        raise StorageUnavailable("S3 put_object failed: Could not connect to the endpoint URL")

    original_put = store.put
    store.put = down
    try:
        pdf = signed_pdf("MJ")
        reference = f"REF-{uuid.uuid4().hex[:10]}"
        _assert_unavailable(push(pdf, reference=reference))
    finally:
        store.put = original_put
    with app.app_context():
        assert db.session().execute(select(Document)).first() is None
    blobs = Path(app.config["WALLET_SETTINGS"].storage_url.removeprefix("file://"))
    assert not blobs.exists() or [p for p in blobs.rglob("*") if p.is_file()] == []
    # the retry after recovery is a normal first push
    r = push(pdf, reference=reference)
    assert r.status_code == 201, r.get_data(as_text=True)
    again = push(pdf, reference=reference)
    assert again.status_code == 200 and again.get_json()["id"] == r.get_json()["id"]


@pytest.mark.nodb
def test_blob_store_down_at_readyz_is_still_503_with_its_own_code(client: Any) -> None:
    store = client.application.extensions["wallet.runtime"].store

    def down() -> None:
        raise StorageUnavailable("unreachable")

    store.ping = down
    r = client.get("/readyz")
    assert r.status_code == 503 and r.get_json()["code"] == "not_ready"
    assert r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


def _sqlite_error(tmp_path: Path, sql: str, *, lock: bool = False) -> sa_exc.DBAPIError:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    holder = create_engine(url, connect_args={"timeout": 0})
    with holder.connect() as c:
        c.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        c.commit()
    blocker = holder.raw_connection() if lock else None
    if blocker is not None:
        blocker.isolation_level = None  # type: ignore[attr-defined]
        blocker.cursor().execute("BEGIN IMMEDIATE")
    try:
        with holder.connect() as c:
            try:
                c.exec_driver_sql(sql)
            except sa_exc.DBAPIError as exc:
                return exc
    finally:
        if blocker is not None:
            blocker.cursor().execute("ROLLBACK")
            blocker.close()
        holder.dispose()
    raise AssertionError(f"{sql!r} did not fail")


@pytest.mark.nodb
def test_sqlite_writer_lock_is_transient_but_sqlite_bugs_are_not(tmp_path: Path) -> None:
    locked = _sqlite_error(tmp_path, "INSERT INTO t VALUES (1)", lock=True)
    assert isinstance(locked, sa_exc.OperationalError) and "locked" in str(locked.orig)
    assert is_transient(locked)
    missing = _sqlite_error(tmp_path, "SELECT * FROM no_such_table")
    assert isinstance(missing, sa_exc.OperationalError)
    assert not is_transient(missing)
    syntax = _sqlite_error(tmp_path, "SELEC 1")
    assert not is_transient(syntax)


@pytest.mark.nodb
def test_real_postgresql_connection_refused_is_transient() -> None:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/x")
    try:
        with pytest.raises(sa_exc.OperationalError) as info:
            engine.connect()
    finally:
        engine.dispose()
    assert is_transient(info.value)
    assert is_transient(StorageUnavailable("down"))
    assert not is_transient(ValueError("a bug"))
    assert not is_transient(KeyError("a bug"))


@pytest.mark.nodb
def test_a_plain_bug_is_still_a_500(app: Any) -> None:
    @app.get("/api/v1/_boom_test")
    def _boom() -> Any:
        raise KeyError("a bug, not a fault")

    r = app.test_client().get("/api/v1/_boom_test")
    assert r.status_code == 500
    assert "Retry-After" not in r.headers
    assert r.get_json()["code"] == "internal_error"


@pytest.mark.postgres
def test_connection_killed_after_the_view_answered_is_not_a_500(app: Any, agencies: dict[str, Any],
                                                                 database_url: str, push: Callable[..., Any],
                                                                 signed_pdf: Callable[..., bytes]) -> None:
    """A database restart between the view's last query and the end of the request. Since the request commits
    once, after the view (wallet.db.finish), that moment is the commit: it meets a dead connection, so nothing
    is confirmed and the answer is a 503 with Retry-After (it was a bare 500 from the teardown before), and the
    dead connection must not be handed to the next request."""
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (WALLET_TEST_DB=postgresql): SQLite connections cannot be killed")
    from flask import g
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from wallet import db

    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    killed: list[int] = []
    armed: list[bool] = []

    def _kill_backend(sess: Session) -> None:  # the view has answered; the request's commit comes next
        if not armed or killed or sess is not g.get("db_session") or not sess.in_transaction():
            return
        pid = sess.connection().connection.dbapi_connection.info.backend_pid
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killed.append(pid)

    event.listen(Session, "before_commit", _kill_backend)
    created = push(signed_pdf("MJ"))
    assert created.status_code == 201, created.get_data(as_text=True)
    url = "/api/v1/documents/" + created.get_json()["id"]
    auth = {"Authorization": f"Bearer {agencies['MJ']['key']}"}
    armed.append(True)
    try:
        r = app.test_client().get(url, headers=auth)  # a read: the view answers with its transaction still open
        assert killed, "the drill did not kill the request's connection"
        assert r.status_code == 503 and r.headers.get("Retry-After"), r.get_data(as_text=True)
        assert r.get_json()["code"] == "unavailable"
        # the dead connection was invalidated, not pooled: the next request works
        again = app.test_client().get(url, headers=auth)
        assert again.status_code == 200, again.get_data(as_text=True)
    finally:
        event.remove(Session, "before_commit", _kill_backend)
        admin.dispose()
    with app.app_context():
        assert db.session().execute(text("SELECT 1")).scalar() == 1


def test_a_dead_connection_on_pool_reset_is_one_line_not_a_traceback(caplog: Any) -> None:
    """A database restart makes SQLAlchemy's pool log "Exception during reset" with a traceback for every
    connection it drops; the request already answered 503, so the log says it in one line."""
    import logging

    import psycopg

    from wallet.db import Database

    pool_logger = Database("sqlite://").engine.pool.logger
    try:
        raise psycopg.OperationalError("connection socket closed")
    except psycopg.OperationalError:
        with caplog.at_level(logging.ERROR, logger=pool_logger.name):
            pool_logger.error("Exception during reset or similar", exc_info=True)
    [record] = [r for r in caplog.records if r.name == pool_logger.name]
    assert record.exc_info is None and "already closed" in record.getMessage()
    assert "Traceback" not in caplog.text
