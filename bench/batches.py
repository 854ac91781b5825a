"""Batch issuance (issue 16): one batch of N signed school reports (N ≥ 1,000 in a full run) issued by 1, then by 2
Celery workers on Redis (``--pool solo``: one item at a time per worker process, as the Procfile's worker runs
with one process per core), against pyHanko's own validation as shipped on the same files.

Each run sends the same documents under new references (a new batch, new documents: full validation each time);
throughput is items decided per second from the upload's 202 to ``done``; CPU is the workers' own (each worker
process, its validator processes, and the children it reaped), divided by N. The scaling ratio is the 2-worker
rate divided by the 1-worker rate (2 cores shared with PostgreSQL, Redis and the web server)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench import issuance as iss
from bench.docs import BenchDoc
from bench.report import TITLES, Section
from bench.stats import CLK_TCK, children, proc_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
SCALING_TARGET = 1.6  # of the ideal 2.0 on the reference machine's 2 cores
MOONSHOT = 0.5  # CPU per issued document against pyHanko's own validation as shipped (issue 16)


def own_and_reaped_cpu(pid: int) -> float:
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return sum(int(f) for f in fields[11:15]) / CLK_TCK  # utime, stime, cutime, cstime


def workers_cpu(pids: list[int]) -> float:
    """CPU of the worker processes, of every live descendant (validators), and of the children they reaped."""
    total = 0.0
    for pid in pids:
        try:
            total += own_and_reaped_cpu(pid)
        except OSError:
            continue
        stack = list(children(pid))
        while stack:
            child = stack.pop()
            try:
                total += proc_cpu_seconds(child)
            except OSError:
                continue
            stack.extend(children(child))
    return total


def start_worker(env: dict[str, str], log_path: Path, name: str) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process (stop_worker)
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "wallet.worker:celery", "worker", "--pool", "solo",
                             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
                             "--loglevel", "INFO"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_ready(procs: list[subprocess.Popen[bytes]], log_paths: list[Path], timeout: float = 120) -> None:
    """Each worker has connected to the broker (its log says "ready")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a Celery worker exited with {proc.returncode}; see {log_paths}")
        if all("ready" in p.read_text(errors="replace") for p in log_paths if p.exists()) and \
                all(p.exists() for p in log_paths):
            return
        time.sleep(0.3)
    raise RuntimeError(f"the Celery workers did not become ready; see {log_paths}")


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def batch_of(docs: list[BenchDoc], suffix: str) -> list[tuple[str, bytes, dict[str, Any]]]:
    return [(f"d{i:05d}", doc.variants[suffix], dict(doc.meta, reference=f"{doc.meta['reference']}{suffix}"))
            for i, doc in enumerate(docs)]


def issue(base_url: str, api_key: str, entries: list[tuple[str, bytes, dict[str, Any]]],
          cpu: Callable[[], float]) -> dict[str, float]:
    """Upload one batch and follow it to ``done``: upload seconds, processing seconds, worker CPU seconds."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {api_key}"}
    manifest = {"documents": [{"file": part, "metadata": meta} for part, _, meta in entries]}
    files: list[Any] = [("manifest", (None, json.dumps(manifest), "application/json"))]
    files += [(part, (f"{part}.pdf", pdf, "application/pdf")) for part, pdf, _ in entries]
    cpu0 = cpu()
    t0 = time.perf_counter()
    resp = session.post(f"{base_url}/api/v1/batches", headers=headers, files=files, timeout=900)
    t1 = time.perf_counter()
    if resp.status_code != 202:
        raise RuntimeError(f"the batch was refused: {resp.status_code} {resp.text[:300]}")
    batch_id = resp.json()["id"]
    while True:
        out = session.get(f"{base_url}/api/v1/batches/{batch_id}", headers=headers, timeout=60).json()
        if out["status"] == "done":
            break
        time.sleep(0.2)
    t2 = time.perf_counter()
    cpu1 = cpu()
    if out["accepted"] != len(entries):
        bad = [i for i in out["items"] if i["status"] != "accepted"][:3]
        raise RuntimeError(f"{out['accepted']}/{len(entries)} accepted: {bad}")
    return {"upload_s": t1 - t0, "process_s": t2 - t1, "cpu_s": cpu1 - cpu0,
            "bytes": float(sum(len(pdf) for _, pdf, _ in entries))}


def run(base_url: str, server_env: dict[str, str], tmp: Path, docs: list[BenchDoc], api_key: str, *,
        trust_roots: list[str], agency_ca_pems: list[str], worker_counts: tuple[int, ...] = (1, 2),
        log: Callable[[str], None] = print) -> Section:
    sec = Section("batches", TITLES["batches"])
    n = len(docs)
    env = dict(server_env, JOBS_BACKEND="celery")
    if not env.get("CELERY_BROKER_URL") and not env.get("REDIS_URL"):
        raise RuntimeError("the batch bench needs Redis (REDIS_URL)")
    figures: dict[int, dict[str, float]] = {}
    for r, count in enumerate(worker_counts):
        logs = [tmp / f"batch-worker-{r}-{i}.log" for i in range(count)]
        procs = [start_worker(env, path, f"bench-{r}-{i}") for i, path in enumerate(logs)]
        try:
            wait_ready(procs, logs)
            log(f"batches: {n} documents, {count} worker(s)")
            figures[count] = issue(base_url, api_key, batch_of(docs, f"-B{r}"),
                                   lambda procs=procs: workers_cpu([p.pid for p in procs]))  # type: ignore[misc]
        finally:
            for proc in procs:
                stop_worker(proc)
    sample = docs[: min(n, 300)]
    shipped = iss.reference_raw(sample, trust_roots, agency_ca_pems, as_shipped=True)
    for count, f in figures.items():
        rate = n / f["process_s"]
        cpu_doc = f["cpu_s"] / n
        sec.add(f"{count} worker{'s' if count > 1 else ''}: documents/s (202 to done)", f"{rate:.1f}/s")
        sec.add(f"{count} worker{'s' if count > 1 else ''}: worker CPU per document", f"{cpu_doc * 1000:.1f} ms")
        sec.add(f"{count} worker{'s' if count > 1 else ''}: worker CPU / pyHanko as shipped", f"{cpu_doc / shipped:.2f}×",
                target=f"≤ {MOONSHOT}× (moonshot)", met=cpu_doc / shipped <= MOONSHOT)
    if 1 in figures and 2 in figures:
        ratio = figures[1]["process_s"] / figures[2]["process_s"]
        sec.add("scaling ratio: 2-worker documents/s ÷ 1-worker documents/s", f"{ratio:.2f}×",
                target=f"≥ {SCALING_TARGET}×", met=ratio >= SCALING_TARGET)
        sec.raw["scaling_ratio"] = ratio
    sec.add("reference: pyHanko as shipped, `validate_pdf_signature`, process CPU per document",
            f"{shipped * 1000:.1f} ms")
    first = next(iter(figures.values()))
    sec.add("upload of the batch (POST to 202: streamed, encrypted into the blob store)",
            f"{first['upload_s']:.1f} s", f"{first['bytes'] / first['upload_s'] / 2 ** 20:.1f} MiB/s")
    sec.notes.append(f"One batch of {n} signed documents (median {sorted(len(d.pdf) for d in docs)[n // 2] / 1000:.0f} "
                     f"kB, one B-B PAdES signature, one agency) per run, the same files each run under new references. "
                     "Workers: `celery -A wallet.worker:celery worker --pool solo` (the Procfile's worker), on Redis, "
                     "against the bench's gunicorn server and PostgreSQL on the same 2 cores. Worker CPU counts the "
                     "worker processes, their validator processes and the children they reaped; PostgreSQL, Redis "
                     "and the web server are not included. pyHanko as shipped is measured in this process on "
                     f"{len(sample)} of the same files.")
    sec.raw.update(figures={str(k): v for k, v in figures.items()}, ref_shipped=shipped)
    return sec
