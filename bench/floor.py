"""The floor of a counted look: what this stack serves when a request does nothing but the one write a look needs.

A bare Flask app (no wallet code, no hooks, no logging of its own beyond gunicorn's access log), served by the
Procfile's gunicorn settings against the run's own database (SQLite or PostgreSQL) and the wallet's own tables:

- ``/healthz``: ``{"status": "ok"}``, as the wallet's;
- ``/read/{token}``: one autocommit SELECT of the share by its token hash (``shares.token_hash``): a look that
  counts nothing;
- ``/look/{token}``: that SELECT, then one autocommit INSERT of a ``share_views`` row for the share found (one row
  made durable by its one commit: one WAL flush): the least a counted, logged look can do.

SQLite connections get the wallet's own pragmas (WAL, foreign keys on, busy timeout) and SQLite's default
``synchronous`` (FULL), as ``wallet.db.make_engine`` leaves them: the floor's commit is as durable as the wallet's.

Served with ``gunicorn -c config/gunicorn.conf.py 'bench.floor:create_app()'`` (``DATABASE_URL`` set).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import subprocess
import sys
import time
from typing import Any

import requests
from flask import Flask
from sqlalchemy import DateTime, bindparam, create_engine, event, text

from bench.env import ROOT, free_port
from bench.stats import tree_cpu_seconds


def _engine(url: str) -> Any:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=10)  # the wallet's pool settings
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # the wallet's (wallet.db.make_engine)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def create_app() -> Flask:
    auto = _engine(os.environ["DATABASE_URL"]).execution_options(isolation_level="AUTOCOMMIT")
    read = text("SELECT id, citizen_id FROM shares WHERE token_hash = :h")
    write = text("INSERT INTO share_views (id, share_id, citizen_id, at, channel, result, ip_prefix, browser) "
                 "VALUES (:id, :sid, :cid, :at, 'json', 'valid', NULL, NULL)").bindparams(
                     bindparam("at", type_=DateTime(timezone=True)))
    count_pg = text("WITH used AS (UPDATE shares SET views_used = views_used + 1 WHERE token_hash = :h "
                    "RETURNING id, citizen_id) INSERT INTO share_views (id, share_id, citizen_id, at, channel, "
                    "result, ip_prefix, browser) SELECT :id, id, citizen_id, :at, 'json', 'valid', NULL, NULL "
                    "FROM used RETURNING share_id").bindparams(bindparam("at", type_=DateTime(timezone=True)))
    count_sqlite = text("UPDATE shares SET views_used = views_used + 1 WHERE token_hash = :h "
                        "RETURNING id, citizen_id")
    app = Flask(__name__)

    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/read/<token>")
    def read_look(token: str) -> Any:
        with auto.connect() as conn:
            row = conn.execute(read, {"h": digest(token)}).first()
        return ({"result": "valid"}, 200) if row else ({"result": "unknown"}, 404)

    @app.get("/look/<token>")
    def write_look(token: str) -> Any:
        with auto.connect() as conn:
            row = conn.execute(read, {"h": digest(token)}).first()
            if row is None:
                return {"result": "unknown"}, 404
            conn.execute(write, {"id": secrets.token_hex(16), "sid": row.id, "cid": row.citizen_id,
                                 "at": dt.datetime.now(dt.UTC)})
        return {"result": "valid"}

    @app.get("/count/<token>")
    def counted_look(token: str) -> Any:
        """The floor's look plus the view counter on the share row (one commit): what the one share's row lock
        costs when every look at it takes a view (not the floor itself: the counter is the wallet's design)."""
        at = dt.datetime.now(dt.UTC)
        with auto.connect() as conn:
            if conn.dialect.name == "postgresql":
                row = conn.execute(count_pg, {"h": digest(token), "id": secrets.token_hex(16), "at": at}).first()
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    row = conn.execute(count_sqlite, {"h": digest(token)}).first()
                    if row is not None:
                        conn.execute(write, {"id": secrets.token_hex(16), "sid": row.id, "cid": row.citizen_id,
                                             "at": at})
                finally:
                    conn.exec_driver_sql("COMMIT")
        return ({"result": "valid"}, 200) if row else ({"result": "unknown"}, 404)

    return app


class FloorServer:
    """The floor app under gunicorn (same config file as the wallet), for one measurement; with ``app`` and
    ``ready``, any other app under the same settings (the scale section's second wallet server)."""

    def __init__(self, env: dict[str, str], log_path: Any, *, app: str = "bench.floor:create_app()",
                 ready: str = "/healthz") -> None:
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.log_path = log_path
        self.app, self.ready = app, ready
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FloorServer:
        try:
            return self._start()
        except BaseException:
            self.__exit__()  # a server that never became ready is not left behind
            raise

    def _start(self) -> FloorServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 -- closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
             self.app], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if requests.get(f"{self.base_url}{self.ready}", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.app} did not become ready")

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        return tree_cpu_seconds(self.proc.pid)

    def log_tail(self, n: int = 8) -> str:
        try:
            lines = open(self.log_path, errors="replace").read().splitlines()  # noqa: SIM115
        except OSError:
            return "(no log)"
        return " | ".join([line for line in lines if "GET /" not in line][-n:]) or "(empty)"

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
