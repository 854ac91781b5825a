"""Fault drills with the real parts: gunicorn (config/gunicorn.conf.py, 2 workers), PostgreSQL, Ceph RGW.

Each drill breaks one part while clients push (or share), then checks what issue 11 promises:
- while the part is down, clients get 503 + Retry-After (problem+json) or a connection error, never a 500
  (the gunicorn log is checked for 5xx other than 503 and for tracebacks too);
- after recovery every push retried with the same reference and file is answered: 201, or an identical replay
  (200, the same id) when an earlier attempt had been answered or had in fact committed;
- every document row has its blob and it decrypts to the pushed file; `flask --app wallet fsck` is clean.

Every part broken here is our own: a private PostgreSQL cluster (``pg_createcluster 15 faults``) and a private
Ceph (``S3_STATE_DIR=/tmp/faults-ceph``), on free loopback ports. Run with ``make test-faults``.
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests

from tests.faults.harness import (
    Gunicorn,
    Outcome,
    PrivateCeph,
    PrivatePostgres,
    PushLoad,
    assert_no_bad,
    check_documents,
    classify,
    free_port,
    fsck,
    prepare,
    service_env,
    settle_pushes,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.faults]


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    cluster.create()
    try:
        yield cluster
    finally:
        cluster.drop()


@pytest.fixture
def database(pg: PrivatePostgres) -> str:
    if not pg.ready():
        pg.start()
    return pg.create_database(f"drill_{uuid.uuid4().hex[:8]}")


def assert_fsck_clean(env: dict[str, str], allow_orphan_blobs: bool) -> None:
    """fsck clean (``--grace 0``: nothing is in flight any more). After a kill -9 between the blob write and the
    commit, an orphan blob (or the temp file of a cut write) is the one acceptable leftover: nothing can delete
    it in a dead process; `fsck --repair` removes it, and then fsck is clean. A row without its blob, or one that
    does not decrypt, is never acceptable."""
    first = fsck(env, "--grace", "0")
    problems = [ln for ln in first.stdout.splitlines() if ln.strip()]
    if first.returncode == 0:
        return
    assert first.returncode == 1, first.stdout + first.stderr
    leftovers = ("orphan_blob ", "temp_file ")  # a write cut by the kill: blob without row, temp file
    others = [ln for ln in problems if not (allow_orphan_blobs and ln.startswith(leftovers))]
    assert not others, f"fsck found more than a killed write's leftovers: {others}"
    repaired = fsck(env, "--repair", "--grace", "0")
    assert repaired.returncode in (0, 1), repaired.stdout + repaired.stderr
    again = fsck(env, "--grace", "0")
    assert again.returncode == 0, again.stdout + again.stderr


def assert_log_clean(g: Gunicorn) -> None:
    errors = g.server_errors()
    assert not errors, "gunicorn logged server errors:\n" + "\n".join(errors[:10]) + "\n" + g.log_tail(3000)


def kill_workers_while_busy(g: Gunicorn, busy: Any, cut: Any, gate: threading.Event,
                            max_kills: int = 6) -> int:
    """SIGKILL a worker while requests are in flight, until two requests were cut (or ``max_kills``); the
    clients pause (``gate``) while the master respawns it, so the load lasts across every kill."""
    kills = 0
    while kills < max_kills and cut() < 2:
        wait_until(lambda: busy() >= 2, 60, f"requests in flight (log: {g.log_path})")
        time.sleep(random.uniform(0.05, 0.3))  # noqa: S311 - somewhere inside validation, sealing or the write
        workers = g.workers()
        assert len(workers) == 2, workers
        os.kill(random.choice(workers), signal.SIGKILL)  # noqa: S311
        kills += 1
        gate.clear()
        g.wait_workers_booted()
        gate.set()
    return kills


# ------------------------------------------------------------------------------------ kill -9 a worker


def test_kill_worker_during_pushes(pki: dict[str, Any], database: str, tmp_path: Path) -> None:
    env = service_env(tmp_path, pki, database, free_port())
    svc = prepare(env, pki, pdf_count=60)
    with Gunicorn(env, tmp_path / "gunicorn.log") as g:
        load = PushLoad(g.base, svc.agency_key, svc.pdfs, threads=3).start()
        kills = kill_workers_while_busy(g, lambda: load.in_flight, lambda: load.count("connection_error"),
                                        load.gate)
        load.stop()
        assert load.count("connection_error") >= 1, f"{kills} kills cut no push in flight"
        assert_no_bad(load.all(), "pushes while workers were killed")
        ids = settle_pushes(g.base, svc.agency_key, load)
        assert_log_clean(g)
    assert len(ids) >= 5
    check_documents(env, ids)
    assert_fsck_clean(env, allow_orphan_blobs=True)


def _login(base: str, citizen: dict[str, str]) -> tuple[requests.Session, str]:
    s = requests.Session()
    r = s.post(base + "/api/v1/auth/login", timeout=30, json={
        "national_id": citizen["national_id"], "password": citizen["password"],
        "otp": pyotp.TOTP(citizen["totp_secret"]).now()})
    assert r.status_code == 200, r.text
    return s, r.json()["csrf_token"]


def test_kill_worker_during_share_creation(pki: dict[str, Any], database: str, tmp_path: Path) -> None:
    env = service_env(tmp_path, pki, database, free_port())
    svc = prepare(env, pki, pdf_count=2)
    with Gunicorn(env, tmp_path / "gunicorn.log") as g:
        load = PushLoad(g.base, svc.agency_key, svc.pdfs, threads=1, replay=False).start()
        load._threads[0].join(60)
        load.stop()
        doc_ids = list(settle_pushes(g.base, svc.agency_key, load).values())
        session, csrf = _login(g.base, svc.citizen)

        outcomes: list[Outcome] = []
        in_flight = [0]
        lock = threading.Lock()
        stop = threading.Event()
        gate = threading.Event()
        gate.set()

        def create() -> Outcome:
            return classify(lambda: session.post(
                g.base + "/api/v1/me/shares", headers={"X-CSRF-Token": csrf}, timeout=60,
                json={"document_ids": doc_ids, "expires_in": 600, "max_views": None, "label": "Drill",
                      "allow_download": True}), (201,))

        def client() -> None:
            while not stop.is_set():
                if not gate.wait(0.2):
                    continue
                with lock:
                    in_flight[0] += 1
                try:
                    out = create()
                finally:
                    with lock:
                        in_flight[0] -= 1
                with lock:
                    outcomes.append(out)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()

        def cut() -> int:
            with lock:
                return sum(o.kind == "connection_error" for o in outcomes)

        kills = kill_workers_while_busy(g, lambda: in_flight[0], cut, gate)
        stop.set()
        for t in threads:
            t.join(90)
        assert cut() >= 1, f"{kills} kills cut no share creation in flight"
        assert_no_bad(outcomes, "share creation while workers were killed")
        # after recovery: a share can be created, and every share answered 201 works, sealed copy included
        retry = create()
        assert retry.kind == "ok", retry
        created = [o.body for o in outcomes if o.kind == "ok"] + [retry.body]
        assert len(created) >= 2
        for share in created:
            r = requests.get(f"{g.base}/api/v1/verify/{share['token']}", timeout=30)
            assert r.status_code == 200 and r.json()["result"] == "valid", r.text
            copy = requests.get(f"{g.base}/v/{share['token']}/copy.pdf", timeout=30)
            assert copy.status_code == 200 and copy.content.startswith(b"%PDF-"), copy.status_code
        listed = session.get(g.base + "/api/v1/me/shares", timeout=30)
        assert listed.status_code == 200
        listed_ids = {s["id"] for s in listed.json()["shares"]}
        assert {s["id"] for s in created} <= listed_ids
        assert_log_clean(g)
    _check_share_blobs(env)
    assert_fsck_clean(env, allow_orphan_blobs=True)


def _check_share_blobs(env: dict[str, str]) -> None:
    """Every share item row has its sealed copy, and it decrypts."""
    from sqlalchemy import select

    from tests.faults.harness import with_app
    from wallet import db
    from wallet.extensions import runtime
    from wallet.shares.models import ShareItem
    from wallet.shares.service import read_copy

    for _app in with_app(env):
        items = db.session().execute(select(ShareItem)).scalars().all()
        assert items
        for item in items:
            if item.copy_blob_key:
                assert read_copy(runtime(), item).startswith(b"%PDF-")


# ------------------------------------------------------------------------------------ Ceph RGW down


@pytest.fixture(scope="module")
def ceph() -> Iterator[PrivateCeph]:
    import shutil

    if not shutil.which("radosgw") and os.geteuid() != 0:
        pytest.skip("radosgw is not installed and we are not root to install it (scripts/s3-server.sh)")
    c = PrivateCeph()
    c.start()
    try:
        yield c
    finally:
        c.stop_all()


def test_rgw_stopped_during_pushes(pki: dict[str, Any], database: str, ceph: PrivateCeph, tmp_path: Path) -> None:
    env = service_env(tmp_path, pki, database, free_port(), storage_url=f"s3://drill-{uuid.uuid4().hex[:8]}",
                      extra=ceph.s3_env)
    svc = prepare(env, pki, pdf_count=40, s3_bucket=True)
    with Gunicorn(env, tmp_path / "gunicorn.log") as g:
        load = PushLoad(g.base, svc.agency_key, svc.pdfs, threads=2, attempts=1000).start()
        wait_until(lambda: load.count("ok") >= 3, 120, "first pushes")
        wait_until(lambda: load.in_flight >= 1, 30, "a push in flight")
        ceph.kill_rgw()
        try:
            before = load.count("unavailable")
            wait_until(lambda: load.count("unavailable") >= before + 2, 90, "503 answers while the RGW is down")
            ready = classify(lambda: requests.get(g.base + "/readyz", timeout=30), (200,))
            assert ready.kind == "unavailable", ready
        finally:
            ceph.start_rgw()
        time.sleep(2)
        load.stop()
        assert_no_bad(load.all(), "pushes while the RGW was down")
        ids = settle_pushes(g.base, svc.agency_key, load)
        assert_log_clean(g)
    check_documents(env, ids)
    # A PUT the RGW stored just as it was killed, whose answer never came back: the push answers 503 and rolls
    # back, and its compensating DELETE cannot reach the stopped RGW either. That orphan (encrypted, no row) is
    # the same leftover as a write cut by kill -9 (seen once in CI): `fsck --repair` removes it, then fsck is
    # clean; a row without its blob is still never acceptable.
    assert_fsck_clean(env, allow_orphan_blobs=True)


# ------------------------------------------------------------------------------------ PostgreSQL restart


def test_postgresql_restart_under_load(pki: dict[str, Any], pg: PrivatePostgres, database: str,
                                       tmp_path: Path) -> None:
    env = service_env(tmp_path, pki, database, free_port())
    svc = prepare(env, pki, pdf_count=60)
    with Gunicorn(env, tmp_path / "gunicorn.log") as g:
        load = PushLoad(g.base, svc.agency_key, svc.pdfs, threads=2, attempts=1000).start()
        reads: list[Outcome] = []
        stop = threading.Event()

        def reader() -> None:  # documents read back while the database comes and goes
            while not stop.is_set():
                done = [o.body["id"] for o in load.all() if o.kind == "ok"]
                if done:
                    reads.append(classify(lambda: requests.get(
                        f"{g.base}/api/v1/documents/{random.choice(done)}",  # noqa: S311
                        headers={"Authorization": f"Bearer {svc.agency_key}"}, timeout=30), (200,)))
                time.sleep(0.05)

        rt = threading.Thread(target=reader, daemon=True)
        rt.start()
        try:
            wait_until(lambda: load.count("ok") >= 3, 120, "first pushes")
            pg.restart()  # fast restart: every pooled connection dies in the middle of the load
            time.sleep(2)
            before = load.count("unavailable")
            pg.stop()
            try:
                wait_until(lambda: load.count("unavailable") >= before + 2, 60, "503 while PostgreSQL is down")
                ready = classify(lambda: requests.get(g.base + "/readyz", timeout=30), (200,))
                assert ready.kind == "unavailable", ready
            finally:
                pg.start()
            time.sleep(2)
        finally:
            stop.set()
            load.stop()
            rt.join(30)
        assert_no_bad(load.all(), "pushes across a PostgreSQL restart")
        assert_no_bad(reads, "reads across a PostgreSQL restart")
        assert any(o.kind == "unavailable" for o in reads + load.all())
        ids = settle_pushes(g.base, svc.agency_key, load)
        ok = classify(lambda: requests.get(g.base + "/readyz", timeout=30), (200,))
        assert ok.kind == "ok", ok
        assert_log_clean(g)
    check_documents(env, ids)
    assert_fsck_clean(env, allow_orphan_blobs=False)
