"""Row 7 — the cluster (``make cluster``): verification req/s through nginx with 2 app nodes against 1 node, and the
errors while a node's gunicorn master is killed with SIGKILL mid-run.

The cluster is started by ``python -m wallet.demo.cluster up`` on a free port with its folder in a temporary
CLUSTER_HOME (rate limits off: the row measures throughput), each node with one gunicorn worker (4 threads), so
that "2 nodes" is twice the processes of "1 node". The 1-node figure is the same cluster with nginx's upstream
reduced to the first node (configuration reloaded, no restart); the two are measured in alternation.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import requests

from bench import wrk
from bench.env import ROOT
from bench.report import TITLES, Section
from bench.stats import fmt_ms


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BenchCluster:
    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
        self.port = _free_port()
        self.env = dict(os.environ, CLUSTER_HOME=str(self.home), CLUSTER_PORT=str(self.port), CLUSTER_NODES="2",
                        CLUSTER_WORKERS="1", CLUSTER_RATE_LIMITS="off", CLUSTER_REDIS_DB="13")
        self.desc: dict[str, Any] = {}

    def _cli(self, command: str, timeout: float) -> None:
        out = subprocess.run([sys.executable, "-m", "wallet.demo.cluster", command], env=self.env, cwd=ROOT,
                             capture_output=True, text=True, timeout=timeout, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"cluster {command} failed: {(out.stdout + out.stderr)[-1500:]}")

    def __enter__(self) -> BenchCluster:
        self._cli("up", 600)
        self.desc = json.loads((self.home / "cluster.json").read_text())
        self.conf = self.home / "cluster" / "nginx.conf"
        self.full_conf = self.conf.read_text()
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self._cli("down", 180)
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def nginx_pid(self) -> int:
        return int(json.loads((self.home / "cluster" / "state.json").read_text())["processes"]["nginx"])

    def upstreams(self, n: int) -> None:
        """nginx's upstream reduced to the first ``n`` nodes (graceful reload: new workers, old ones finish)."""
        lines = self.full_conf.splitlines()
        servers = [i for i, line in enumerate(lines) if re.match(r"\s+server 127\.0\.0\.1:\d+ max_fails", line)]
        keep = set(servers[:n])
        self.conf.write_text("\n".join(x for i, x in enumerate(lines) if i not in servers or i in keep) + "\n")
        os.kill(self.nginx_pid(), signal.SIGHUP)
        time.sleep(1.5)  # the old workers finish their requests; the new ones take the new upstream

    def share_token(self) -> str:
        demo = json.loads(Path(self.desc["demo"]).read_text())
        cit = demo["citizens"][0]
        base = self.desc["base_url"]
        s = requests.Session()
        while time.time() % 30 > 27:
            time.sleep(0.5)
        r = s.post(f"{base}/api/v1/auth/login", json={"national_id": cit["national_id"], "password": cit["password"],
                                                      "otp": pyotp.TOTP(cit["totp_secret"]).now()}, timeout=30)
        r.raise_for_status()
        s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        doc = s.get(f"{base}/api/v1/me/documents", timeout=30).json()["documents"][0]
        r = s.post(f"{base}/api/v1/me/shares", json={"document_ids": [doc["id"]], "expires_in": 30 * 86400},
                   timeout=60)
        r.raise_for_status()
        return str(r.json()["token"])


def run(*, runs: int, duration: float, log: Callable[[str], None]) -> Section:
    sec = Section("cluster", TITLES["cluster"])
    with BenchCluster() as c:
        base = c.desc["base_url"]
        token = c.share_token()
        paths = [f"/api/v1/verify/{token}"]
        figures: dict[int, list[wrk.WrkResult]] = {1: [], 2: []}
        for _ in range(runs):
            for n in (2, 1):
                c.upstreams(n)
                figures[n].append(wrk.run(base, paths, duration=duration))
                log(f"cluster: {n} node(s): {figures[n][-1].rps:.0f} req/s")
        c.upstreams(2)
        two, one = wrk.summarize(figures[2]), wrk.summarize(figures[1])
        sec.add("JSON `/api/v1/verify/{token}` through nginx, 2 nodes: req/s", f"{two['rps']:.0f}/s")
        sec.add("… latency, 2 nodes", fmt_ms(two["p50"]), fmt_ms(two["p99"]))
        sec.add("JSON `/api/v1/verify/{token}` through nginx, 1 node: req/s", f"{one['rps']:.0f}/s")
        sec.add("… latency, 1 node", fmt_ms(one["p50"]), fmt_ms(one["p99"]))
        ratio = sorted(a.rps / b.rps for a, b in zip(figures[2], figures[1]))[len(figures[1]) // 2]
        sec.add("2 nodes / 1 node", f"{ratio:.2f}×")
        errors = int(two["errors"] + one["errors"])
        if errors:
            sec.notes.append(f"{errors} error responses in the steady runs: the figures are not valid")

        # a node killed mid-run: its gunicorn master gets SIGKILL halfway through a wrk run
        victim = int(c.desc["nodes"][0]["pid"])
        timer = threading.Timer(duration / 2, os.kill, (victim, signal.SIGKILL))
        timer.start()
        try:
            killed = wrk.run(base, paths, duration=duration)
        finally:
            timer.cancel()
        sec.add("node killed (SIGKILL) mid-run: failed requests", f"{killed.errors} of {killed.requests}",
                target="0", met=killed.errors == 0)
        sec.add("… req/s over that run", f"{killed.rps:.0f}/s")
        sec.raw["2 nodes"] = [r.__dict__ | {"raw": ""} for r in figures[2]]
        sec.raw["1 node"] = [r.__dict__ | {"raw": ""} for r in figures[1]]
        sec.raw["node killed"] = [killed.__dict__ | {"raw": ""}]
    sec.notes.append(f"`make cluster` shape: nginx (2 workers) → app nodes, each gunicorn with 1 worker × 4 threads, "
                     f"WALLET_ENV=production, rate limits off, PostgreSQL, Redis, a one-node Ceph RGW; wrk -t2 -c16 "
                     f"-d{duration:g}s on one valid share, {runs} alternating runs per configuration (medians). "
                     "The 1-node figure is the same cluster with nginx's upstream reduced to one node: one worker process "
                     "against two. wrk, nginx, both nodes, PostgreSQL and the RGW share this machine's 2 cores, so "
                     "the ratio is how the work spreads over them, not what a node on a machine of its own adds.")
    sec.notes.append("Node killed: nginx retries an idempotent request on the next node after a connect error or a "
                     "reset (proxy_next_upstream error timeout; a POST is never sent twice) and marks the node down "
                     "for 5 s (max_fails=1); errors = wrk's non-2xx/3xx answers and socket errors.")
    return sec
