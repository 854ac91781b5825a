"""The floor under row 2: what this stack serves when a request does nothing but the one write a look needs.

A bare Flask app (no wallet code, no hooks), served by the Procfile's gunicorn settings against the run's
PostgreSQL database, with three endpoints measured side by side by wrk like the wallet's:

- ``/healthz``: ``{"status": "ok"}``, as the wallet's;
- ``/read/{token}``: one autocommit round trip that reads a row by its token hash (a look that counts nothing);
- ``/look/{token}``: one autocommit INSERT by token hash (the least a counted, logged look can write: one row
  made durable by its commit, i.e. one WAL flush).

If ``/look`` already falls short of half of ``/healthz`` here, no wallet code can reach the row's 0.5× target
while every look is counted durably before its answer.

Served with ``gunicorn -c config/gunicorn.conf.py 'bench.floor:create_app()'`` (``DATABASE_URL`` set).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from typing import Any

import requests
from flask import Flask
from sqlalchemy import create_engine, text

from bench.env import ROOT, free_port
from bench.stats import tree_cpu_seconds

TABLE = "bench_floor_views"


def create_app() -> Flask:
    url = os.environ["DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, pool_size=10, max_overflow=10)  # the wallet's pool settings
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, "
                          "at timestamptz NOT NULL DEFAULT now(), token_hash char(64) NOT NULL)"))
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {TABLE}_token ON {TABLE} (token_hash)"))
    read = text(f"SELECT id FROM {TABLE} WHERE token_hash = :h LIMIT 1")
    write = text(f"INSERT INTO {TABLE} (token_hash) VALUES (:h)")
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/read/<token>")
    def read_look(token: str) -> Any:
        with auto.connect() as conn:
            conn.execute(read, {"h": hashlib.sha256(token.encode()).hexdigest()}).first()
        return {"result": "valid"}

    @app.get("/look/<token>")
    def write_look(token: str) -> Any:
        with auto.connect() as conn:
            conn.execute(write, {"h": hashlib.sha256(token.encode()).hexdigest()})
        return {"result": "valid"}

    return app


class FloorServer:
    """The floor app under gunicorn (same config file as the wallet), for one measurement; with ``app`` and
    ``ready``, any other app under the same settings (the scale section's second wallet server)."""

    def __init__(self, env: dict[str, str], log_path: Any, *, app: str = "bench.floor:create_app()",
                 ready: str = "/look/warm-up") -> None:
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
