"""``make cluster`` / ``make cluster-down``: the service as several nodes on this machine, as production runs it.

nginx (Debian package) on ``127.0.0.1:$CLUSTER_PORT`` (8080) in front of ``CLUSTER_NODES`` (2) gunicorn app nodes,
each on a loopback port of its own, and one Celery worker (``JOBS_BACKEND=celery``); they share PostgreSQL (a
database and role of their own, made afresh at each start, dropped by ``down``), Redis (rate limits, sign-in budgets, the job queue:
database number ``CLUSTER_REDIS_DB``, 11) and a one-node Ceph RGW of their own (blobs; scripts/s3-server.sh).
Metrics of every process (Prometheus multiprocess mode) are served by ``python -m wallet.metrics_server`` on a loopback
port of its own, never by nginx. Everything runs with ``WALLET_ENV=production`` and ``LOG_FORMAT=json``; its
secrets are generated once under ``instance/cluster/`` (demo material: never commit it).

``up`` installs what the machine lacks (apt), stops a previous cluster of this checkout, starts every part, waits
until each is ready (``/readyz`` of each node covers the database, the blob store and the broker; the worker's
"ready"; nginx answering), seeds the demo like ``make run`` and writes ``instance/cluster.json``. ``down`` stops
what ``up`` started, found by the marker in each process's environment, and drops its database (and empties its
Redis database number): nothing else.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
# CLUSTER_HOME (default instance/): where cluster.json and the cluster's folder go (the drill uses a folder of its own)
HOME = Path(os.environ.get("CLUSTER_HOME") or ROOT / "instance").resolve()
INSTANCE = HOME / "cluster"
CLUSTER_JSON = HOME / "cluster.json"
STATE = INSTANCE / "state.json"
LOGS = INSTANCE / "logs"
MARKER = "WALLET_CLUSTER"  # in every process's environment: the checkout's cluster folder
APT_NEEDS = {"nginx": "nginx", "redis-server": "redis-server", "redis-cli": "redis-tools", "psql": "postgresql",
             "pg_ctlcluster": "postgresql"}


def say(*args: Any) -> None:
    print("cluster:", *args, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001, S110 - not ready yet
            pass
        time.sleep(0.3)
    raise SystemExit(f"cluster: {what} not ready within {timeout:.0f} s (logs: {LOGS})")


def run_dir(port: int) -> Path:
    """Short paths for sockets, nginx's temporary files and the Ceph state (Unix socket paths are limited)."""
    return Path(f"/tmp/wallet-cluster-{port}")  # noqa: S108 - per port, made 0755 for nginx's workers only


# ---------------------------------------------------------------------------- the machine's parts

def apt_install(packages: list[str]) -> None:
    if not packages:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"cluster: missing {' '.join(packages)} and not root: install them (apt-get install ...)")
    say("installing", " ".join(packages), "(apt)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:  # the packages must not start their own daemons (nginx on port 80): we start ours
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", "--no-install-recommends",
               *packages]
        if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=False).returncode != 0:
            subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-q"], env=env,
                           stdout=subprocess.DEVNULL, check=False)
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    finally:
        if made_policy:
            policy.unlink(missing_ok=True)


def ensure_packages() -> None:
    missing = sorted({pkg for cmd, pkg in APT_NEEDS.items()
                      if shutil.which(cmd) is None and not Path(f"/usr/sbin/{cmd}").exists()})
    apt_install(missing)


def as_postgres(sql: str) -> None:
    """Run SQL as the PostgreSQL superuser (peer over the socket as root; else postgres@127.0.0.1)."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-q", "-d", "postgres"]
    else:
        cmd = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-d", "postgres"]
    subprocess.run(cmd, input=sql.encode(), check=True, stdout=subprocess.DEVNULL)


def ensure_postgres() -> None:
    def ready() -> bool:
        return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False).returncode == 0

    if ready():
        return
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").is_dir() else []
    if not versions:
        raise SystemExit("cluster: PostgreSQL is installed but has no cluster (pg_createcluster)")
    say(f"starting PostgreSQL {versions[-1]}")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False)
    wait_for(ready, 60, "PostgreSQL on 127.0.0.1:5432")


def create_database(name: str, password: str) -> str:
    """A role and a database of the cluster's own, made afresh (a restart starts from a clean demo)."""
    as_postgres(f"""
DROP DATABASE IF EXISTS {name} WITH (FORCE);
DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
    ALTER ROLE {name} LOGIN PASSWORD '{password}';
  ELSE
    CREATE ROLE {name} LOGIN PASSWORD '{password}';
  END IF;
END $$;
CREATE DATABASE {name} OWNER {name};
""")
    return f"postgresql://{name}:{password}@127.0.0.1:5432/{name}"


def redis_answers(port: int) -> bool:
    import redis  # noqa: PLC0415

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


# ---------------------------------------------------------------------------- processes

class Cluster:
    def __init__(self, port: int) -> None:
        self.port = port
        self.run = run_dir(port)
        self.state: dict[str, Any] = {"port": port, "processes": {}, "run_dir": str(self.run)}

    def save(self) -> None:
        STATE.write_text(json.dumps(self.state, indent=2))

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(argv, env={**env, MARKER: str(INSTANCE)}, cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.state["processes"][name] = proc.pid
        self.save()
        return proc


def ours(pid: int) -> bool:
    """Started by this checkout's cluster: the marker in its environment, or (nginx rewrites the memory that held
    its environment with its process title) its command line naming the cluster's folder."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return f"{MARKER}={INSTANCE}".encode() in environ or str(INSTANCE).encode() in cmdline


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` started by this checkout's cluster (a killed leader's
    children keep the group)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            state, group = fields[0], int(fields[2])
        except (OSError, ValueError, IndexError):
            continue
        if group == pgid and state != "Z" and ours(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def stop_group(pgid: int, grace: float = 10.0) -> None:
    members = group_members(pgid)
    if not members:
        return
    for pid in members:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and group_members(pgid):
        time.sleep(0.2)
    for pid in group_members(pgid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def down() -> None:
    if not STATE.exists():
        say("no cluster state: nothing to stop")
        CLUSTER_JSON.unlink(missing_ok=True)
        return
    state = json.loads(STATE.read_text())
    order = ["nginx", *sorted(n for n in state["processes"] if n.startswith("node")), "worker", "metrics", "redis"]
    for name in order:
        pgid = state["processes"].get(name)
        if pgid:
            stop_group(int(pgid))
    for name, pgid in state["processes"].items():  # anything not named above
        if name not in order:
            stop_group(int(pgid))
    if state.get("redis_url") and "redis" not in state["processes"]:  # the shared Redis: our database number
        import redis  # noqa: PLC0415

        try:
            redis.Redis.from_url(state["redis_url"], socket_connect_timeout=2).flushdb()
        except redis.RedisError:
            pass
    if state.get("database"):
        try:
            as_postgres(f"DROP DATABASE IF EXISTS {state['database']} WITH (FORCE); "
                        f"DROP ROLE IF EXISTS {state['database']};")
        except (OSError, subprocess.CalledProcessError):
            say(f"could not drop the database {state['database']}")
    if state.get("ceph_dir"):
        subprocess.run(["bash", str(ROOT / "scripts" / "s3-server.sh"), "stop"], check=False,
                       env=dict(os.environ, S3_STATE_DIR=state["ceph_dir"], S3_PORT=str(state.get("s3_port", 0))))
    shutil.rmtree(state.get("run_dir") or "/nonexistent", ignore_errors=True)
    CLUSTER_JSON.unlink(missing_ok=True)
    STATE.unlink(missing_ok=True)
    say("stopped")


# ---------------------------------------------------------------------------- configuration

def cluster_secrets() -> dict[str, str]:
    """Generated once under instance/cluster/ (0600): the production secrets of this demo cluster."""
    from signing.offline import new_private_pem  # noqa: PLC0415
    from wallet.private_files import make_private_dirs, write_private  # noqa: PLC0415

    make_private_dirs(INSTANCE)
    for name in ("verify_key.pem", "vapid_key.pem"):  # QR payloads and status lists; Web Push (VAPID): P-256
        if not (INSTANCE / name).exists():
            write_private(INSTANCE / name, new_private_pem().decode())
    path = INSTANCE / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())  # type: ignore[no-any-return]

    def key32() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")

    values = {"SECRET_KEY": secrets.token_urlsafe(48), "MASTER_KEY": key32(), "AUDIT_KEY": key32(),
              "AUDIT_CHECKPOINT_KEY": key32(), "db_password": secrets.token_hex(16)}
    write_private(path, json.dumps(values))
    return values


def nginx_conf(c: Cluster, nodes: list[int]) -> str:
    user = ""
    if os.geteuid() == 0:
        user = "user www-data;" if _user_exists("www-data") else "user nobody nogroup;"
    tmp = c.run / "nginx"
    upstream = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in nodes)
    return f"""# generated by wallet/demo/cluster.py (make cluster): do not edit
{user}
daemon off;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {LOGS}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server_tokens off;
  # the path is never logged: share tokens travel in it
  map $http_x_request_id $wallet_rid {{ "" $request_id; default $http_x_request_id; }}
  log_format wallet '$remote_addr [$time_iso8601] $request_method $status $body_bytes_sent '
                    '$request_time rid=$wallet_rid upstream=$upstream_addr upstream_status=$upstream_status';
  access_log {LOGS}/nginx-access.log wallet;
  client_max_body_size 210m;  # a batch: up to 200 MB
  upstream wallet {{
{upstream}
  }}
  server {{
    listen 127.0.0.1:{c.port};
    location = /metrics {{ return 404; }}   # metrics are served on their own loopback port, never here
    location ^~ /metrics/ {{ return 404; }}
    location / {{
      proxy_pass http://wallet;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;  # PROXY_HOPS=1: the app takes the last
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-ID $wallet_rid;
      # a node that is down is skipped at once; only idempotent requests are sent again to the next node
      # (no non_idempotent here: a POST that may have reached a node is never repeated)
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 3;
      proxy_read_timeout 120s;
      proxy_send_timeout 120s;
      proxy_request_buffering off;  # uploads are streamed to the node, not spooled here
    }}
  }}
}}
"""


def _user_exists(name: str) -> bool:
    import pwd  # noqa: PLC0415

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def s3_env(ceph_dir: Path, s3_port: int) -> dict[str, str]:
    env = dict(os.environ, S3_STATE_DIR=str(ceph_dir), S3_PORT=str(s3_port))
    script = str(ROOT / "scripts" / "s3-server.sh")
    subprocess.run(["bash", script, "start"], env=env, check=True)
    out = subprocess.run(["bash", script, "env"], env=env, check=True, capture_output=True, text=True).stdout
    values = {}
    for item in out.replace("export ", "").split():
        key, _, value = item.partition("=")
        values[key] = value
    return values


# ---------------------------------------------------------------------------- up

def up(port: int, nodes_count: int, workers: int) -> dict[str, Any]:
    t0 = time.monotonic()
    if STATE.exists():
        say("a cluster of this checkout is running: stopping it first")
        down()
    if port_taken(port):
        raise SystemExit(f"cluster: 127.0.0.1:{port} is already in use (set CLUSTER_PORT)")
    ensure_packages()
    ensure_postgres()
    from wallet.private_files import make_private_dirs, private_umask, write_private  # noqa: PLC0415

    private_umask()
    make_private_dirs(INSTANCE)
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("*.log"):
        old.unlink()
    c = Cluster(port)
    shutil.rmtree(c.run, ignore_errors=True)
    c.run.mkdir(parents=True)
    c.run.chmod(0o755)  # nginx's workers (www-data) keep their temporary files under it
    (c.run / "metrics").mkdir(mode=0o700)
    (c.run / "nginx").mkdir(mode=0o755)
    c.save()
    try:
        return _up(c, nodes_count, workers, t0, write_private)
    except BaseException:
        say("start failed: stopping what was started")
        down()
        raise


def _up(c: Cluster, nodes_count: int, workers: int, t0: float, write_private: Callable[..., None]) -> dict[str, Any]:
    sec = cluster_secrets()
    db_name = f"wallet_cluster_{c.port}"
    c.state["database"] = db_name
    c.save()
    database_url = create_database(db_name, sec["db_password"])
    say(f"database {db_name} created")

    redis_db = os.environ.get("CLUSTER_REDIS_DB", "11")
    if redis_answers(6379):
        redis_url = f"redis://127.0.0.1:6379/{redis_db}"
    else:  # no Redis on this machine: one of the cluster's own, with an append-only file (the broker's queue)
        rport = free_port()
        (INSTANCE / "redis").mkdir(exist_ok=True)
        c.spawn("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(rport), "--dir",
                          str(INSTANCE / "redis"), "--appendonly", "yes", "--save", ""], dict(os.environ))
        wait_for(lambda: redis_answers(rport), 30, "Redis")
        redis_url = f"redis://127.0.0.1:{rport}/{redis_db}"
    import redis  # noqa: PLC0415

    redis.Redis.from_url(redis_url).flushdb()  # the cluster's own database number: last run's queue and limits
    c.state["redis_url"] = redis_url
    c.save()
    say(f"Redis {redis_url}")

    ceph_dir, s3_port = c.run / "ceph", free_port()
    c.state.update(ceph_dir=str(ceph_dir), s3_port=s3_port)
    c.save()
    say("starting the Ceph RGW (blobs) ...")
    aws = s3_env(ceph_dir, s3_port)

    from signing.demo_pki import generate_demo_pki  # noqa: PLC0415
    from wallet.demo.agencies import PKI_AGENCIES  # noqa: PLC0415

    pki = generate_demo_pki(INSTANCE / "pki", PKI_AGENCIES)
    base = f"http://127.0.0.1:{c.port}"
    env = dict(os.environ)
    for k in ("WALLET_RATE_LIMITS", "SECURE_COOKIES", "STORAGE_URL", "DATABASE_URL", "TSA_URL", "SEAL_PKCS11_LIB"):
        env.pop(k, None)
    env.update(aws)
    env.update({
        "WALLET_ENV": "production", "WALLET_INSTANCE": str(INSTANCE), "PUBLIC_BASE_URL": base,
        "SECRET_KEY": sec["SECRET_KEY"], "MASTER_KEY": sec["MASTER_KEY"], "AUDIT_KEY": sec["AUDIT_KEY"],
        "AUDIT_CHECKPOINT_KEY": sec["AUDIT_CHECKPOINT_KEY"], "VERIFY_KEY_PEM": str(INSTANCE / "verify_key.pem"),
        "VAPID_PRIVATE_KEY_PEM": str(INSTANCE / "vapid_key.pem"),
        "DATABASE_URL": database_url, "STORAGE_URL": f"s3://wallet-cluster-{c.port}",
        "TRUST_ROOTS": str(Path(pki["root"]).resolve()),
        "SEAL_PKCS12": str(Path(pki["platform"]["seal_pkcs12"]).resolve()),
        "SEAL_PKCS12_PASSWORD": pki["platform"]["seal_pkcs12_password"],
        "TSA_CERT": pki["tsa"]["cert"], "TSA_KEY": pki["tsa"]["key"],
        "REDIS_URL": redis_url, "RATE_LIMIT_KEY_PREFIX": f"wallet-cluster-{c.port}",
        "JOBS_BACKEND": "celery", "JOBS_QUEUE": f"wallet-cluster-{c.port}",
        "PROXY_HOPS": "1", "LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(c.run / "metrics"),
        "WEB_CONCURRENCY": str(workers), "HOST": "127.0.0.1",
        "VALIDATOR_PROCESSES": os.environ.get("VALIDATOR_PROCESSES", "1"),
        "PYTHONUNBUFFERED": "1",
    })
    if os.environ.get("CLUSTER_RATE_LIMITS", "on") == "off":  # the bench measures throughput, not the limits
        env["WALLET_RATE_LIMITS"] = "off"
    os.environ.update(env)  # prepare() below reads the same settings

    from config.settings import Settings  # noqa: PLC0415
    from wallet.demo.prepare import prepare  # noqa: PLC0415
    from wallet.storage import open_store  # noqa: PLC0415

    settings = Settings.from_env()
    open_store(settings.storage_url, endpoint_url=settings.s3_endpoint_url).ensure_bucket()  # type: ignore[attr-defined]
    say("migrating and registering the demo agencies and citizen ...")
    demo = prepare(settings)

    py = sys.executable
    metrics_port = free_port()
    c.spawn("metrics", [py, "-m", "wallet.metrics_server", "--host", "127.0.0.1", "--port", str(metrics_port)], env)
    node_ports = [free_port() for _ in range(nodes_count)]
    procs = {}
    for i, nport in enumerate(node_ports, 1):
        procs[nport] = c.spawn(f"node{i}", [py, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
                                            "wallet:create_app()"], {**env, "PORT": str(nport)})
    worker = c.spawn("worker", [py, "-m", "celery", "--quiet", "-A", "wallet.worker:celery", "worker", "--loglevel", "INFO",
                                "--without-gossip", "--without-mingle", "--concurrency",
                                os.environ.get("CLUSTER_WORKER_CONCURRENCY", "2"), "-n", f"cluster-{c.port}@%h"], env)
    conf = INSTANCE / "nginx.conf"
    conf.write_text(nginx_conf(c, node_ports))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    nginx_args = ["-e", str(LOGS / "nginx-error.log"), "-c", str(conf), "-p", str(c.run)]
    subprocess.run([nginx, "-t", "-q", *nginx_args], check=True)

    def node_ready(nport: int) -> bool:
        if procs[nport].poll() is not None:
            raise SystemExit(f"cluster: node on {nport} exited (log: {LOGS})")
        return requests.get(f"http://127.0.0.1:{nport}/readyz", timeout=3).status_code == 200

    for nport in node_ports:
        wait_for(lambda p=nport: node_ready(p), 180, f"app node on 127.0.0.1:{nport}")  # type: ignore[misc]
    say(f"{nodes_count} app nodes ready")
    c.spawn("nginx", [nginx, *nginx_args], env)
    wait_for(lambda: requests.get(f"{base}/readyz", timeout=3).status_code == 200, 30, f"nginx on {base}")

    def worker_ready() -> bool:
        if worker.poll() is not None:
            raise SystemExit(f"cluster: the Celery worker exited (log: {LOGS / 'worker.log'})")
        return b" ready." in (LOGS / "worker.log").read_bytes()

    wait_for(worker_ready, 180, "the Celery worker")
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    wait_for(lambda: requests.get(metrics_url, timeout=3).status_code == 200, 30, "the metrics server")

    from wallet.demo.serve import seed_documents  # noqa: PLC0415

    demo = {"base_url": base, **demo}
    say("pushing the demo documents through nginx ...")
    seed_documents(demo)
    demo_path = INSTANCE / "demo.json"
    write_private(demo_path, json.dumps(demo, indent=2, ensure_ascii=False))
    (INSTANCE / "demo.pending.json").unlink(missing_ok=True)
    desc = {"base_url": base,
            "nodes": [{"url": f"http://127.0.0.1:{p}", "pid": procs[p].pid} for p in node_ports],
            "worker_pid": worker.pid, "metrics_url": metrics_url, "demo": str(demo_path.resolve()),
            "logs": str(LOGS)}
    write_private(CLUSTER_JSON, json.dumps(desc, indent=2))
    say(f"ready in {time.monotonic() - t0:.0f} s: {base} ({nodes_count} nodes, 1 worker), metrics on {metrics_url}; "
        f"{CLUSTER_JSON} describes it; `make cluster-down` stops it")
    return desc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m wallet.demo.cluster")
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args(argv)
    if args.command == "down":
        down()
        return
    port = int(os.environ.get("CLUSTER_PORT") or 8080)
    nodes = int(os.environ.get("CLUSTER_NODES") or 2)
    workers = int(os.environ.get("CLUSTER_WORKERS") or 2)
    if not 1 <= nodes <= 16 or not 1 <= workers <= 16:
        raise SystemExit("cluster: CLUSTER_NODES and CLUSTER_WORKERS must be from 1 to 16")
    up(port, nodes, workers)


if __name__ == "__main__":
    main()
