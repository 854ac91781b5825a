"""The cluster drill (``make test-cluster``): ``python -m wallet.demo.cluster up`` on a free port, its folder in a
temporary CLUSTER_HOME; a session made on one node works on the other, cookies are not Secure on the http loopback
base URL, a node killed with SIGKILL under load costs no failed GET through nginx, metrics are served on their own
port and not by nginx, a JSON log line carries the request id sent; then ``down`` stops every part."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.environ.get("WALLET_CLUSTER_DRILL") != "1",
                                reason="the cluster drill runs in `make test-cluster` (WALLET_CLUSTER_DRILL=1)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("cluster-home")
    port = free_port()
    env = dict(os.environ, CLUSTER_HOME=str(home), CLUSTER_PORT=str(port), CLUSTER_REDIS_DB="12",
               CLUSTER_WORKERS="1")
    cmd = [sys.executable, "-m", "wallet.demo.cluster"]
    up = subprocess.run([*cmd, "up"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=420, check=False)
    desc_path = home / "cluster.json"
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        desc = json.loads(desc_path.read_text())
        desc["home"], desc["env"] = home, env
        yield desc
    finally:
        state = home / "cluster" / "state.json"
        pids = list(json.loads(state.read_text())["processes"].values()) if state.exists() else []
        down = subprocess.run([*cmd, "down"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                              check=False)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not desc_path.exists()
        assert [p for p in pids if alive(p)] == [], "make cluster-down left processes behind"
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "nginx still answers after cluster-down"
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", connect_timeout=5) as conn:
            left = conn.execute("SELECT datname FROM pg_database WHERE datname = %s",
                                (f"wallet_cluster_{port}",)).fetchall()
        assert left == [], "make cluster-down left its database behind"


def login(base: str, citizen: dict[str, Any]) -> tuple[requests.Session, requests.Response]:
    s = requests.Session()
    while time.time() % 30 > 27:  # not across a TOTP step
        time.sleep(0.5)
    r = s.post(f"{base}/api/v1/auth/login", json={"national_id": citizen["national_id"],
                                                   "password": citizen["password"],
                                                   "otp": pyotp.TOTP(citizen["totp_secret"]).now()}, timeout=30)
    assert r.status_code == 200, r.text
    s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return s, r


def test_a_session_made_on_one_node_works_on_the_other_and_its_cookie_is_not_secure_on_http(
        cluster: dict[str, Any]) -> None:
    demo = json.loads(Path(cluster["demo"]).read_text())
    nodes = [n["url"] for n in cluster["nodes"]]
    assert len(nodes) >= 2 and all(alive(n["pid"]) for n in cluster["nodes"]) and alive(cluster["worker_pid"])
    s, r = login(nodes[0], demo["citizens"][0])
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("wallet_sid=") and "secure" not in cookie.lower(), cookie
    docs = s.get(f"{nodes[-1]}/api/v1/me/documents", timeout=30)
    assert docs.status_code == 200 and docs.json()["documents"], docs.text
    # a share made through nginx verifies on each node
    share = s.post(f"{cluster['base_url']}/api/v1/me/shares",
                   json={"document_ids": [docs.json()["documents"][0]["id"]], "expires_in": 3600}, timeout=60)
    assert share.status_code in (200, 201), share.text
    for url in nodes:
        v = requests.get(f"{url}/api/v1/verify/{share.json()['token']}", timeout=30)
        assert v.status_code == 200 and v.json()["result"] == "valid"


def test_metrics_are_served_on_their_own_port_and_never_by_nginx(cluster: dict[str, Any]) -> None:
    base = cluster["base_url"]
    for path in ("/metrics", "/metrics/", "/metrics?x=1"):
        assert requests.get(base + path, timeout=10).status_code == 404
    requests.get(f"{base}/healthz", timeout=10)
    text = requests.get(cluster["metrics_url"], timeout=10).text
    assert '# TYPE wallet_http_requests_total counter' in text
    assert 'route="/healthz"' in text and "wallet_queue_depth{" in text
    assert not cluster["metrics_url"].startswith(base)


def test_a_json_log_line_carries_the_request_id_sent(cluster: dict[str, Any]) -> None:
    rid = "drill-" + uuid.uuid4().hex
    r = requests.get(f"{cluster['base_url']}/readyz", headers={"X-Request-ID": rid}, timeout=10)
    assert r.status_code == 200 and r.headers["X-Request-ID"] == rid
    logs = Path(cluster["logs"])
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while not found and time.monotonic() < deadline:
        for f in logs.glob("node*.log"):
            for line in f.read_text(errors="replace").splitlines():
                if rid in line:
                    found.append(json.loads(line))  # every line with it is one JSON object
        time.sleep(0.3)
    assert found and found[0]["request_id"] == rid and found[0]["logger"] == "wallet.access"
    assert {"time", "level", "message"} <= found[0].keys()


def test_a_node_killed_under_load_costs_no_failed_get(cluster: dict[str, Any]) -> None:
    base = cluster["base_url"]
    codes: Counter[Any] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        with requests.Session() as s:
            while not stop.is_set():
                try:
                    code: Any = s.get(f"{base}/healthz", timeout=30).status_code
                except requests.RequestException as exc:
                    code = type(exc).__name__
                with lock:
                    codes[code] += 1

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    victim = cluster["nodes"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(60)
    assert sum(codes.values()) > 50, codes
    assert set(codes) == {200}, codes  # no 502, no reset: nginx sent each GET to the live node
    assert requests.get(cluster["metrics_url"], timeout=10).status_code == 200
    assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
