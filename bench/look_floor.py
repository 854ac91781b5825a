"""Row 7 — the counted look against its floor, on both databases.

For SQLite (the embedded default's database) and then PostgreSQL, one instance each (``bench.env.BenchEnv``:
the Procfile's gunicorn settings, the production settings, rate limits off as in every other row), one share
with no view limit, and ``bench/floor.py`` served beside it by the same gunicorn settings on the same database
file / database and tables. wrk alternates: the wallet's JSON look ``/api/v1/verify/{token}`` (found, decided,
counted, logged, answered), then the floor's ``/look/{token}`` (the share found by token hash, one view row made
durable by one commit), ``runs`` times; the ratio is taken pair by pair (each pair sees the same machine state)
and its median reported. Target: ≥ 0.5× on both databases.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from bench import docs as bench_docs
from bench import wrk
from bench.env import BenchEnv
from bench.floor import FloorServer
from bench.report import TITLES, Section
from bench.shares import create_share, login
from bench.stats import median, postgres_cpu_seconds

TARGET = 0.5
DATABASES = ("sqlite", "postgresql")
LABEL = {"sqlite": "SQLite (embedded default)", "postgresql": "PostgreSQL"}


def _instance(db: str) -> tuple[BenchEnv, str]:
    """A ready instance on ``db`` with the demo citizen's share of one pushed document: (env, token)."""
    env = BenchEnv(db=db, db_name="wallet_bench_floor")
    env.setup()
    agencies = [a for a in env.demo["agencies"] if a.get("pkcs12")]
    citizen = env.demo["citizens"][0]
    doc = bench_docs.make_documents(agencies, 1, seed=3, holder_id=citizen["national_id"], prefix="FLOOR",
                                    processes=1)[0]
    env.start_server()
    key = next(a["api_key"] for a in agencies if a["code"] == doc.agency)
    r = requests.post(f"{env.base_url}/api/v1/documents", headers={"Authorization": f"Bearer {key}"},
                      files={"file": ("document.pdf", doc.pdf, "application/pdf")},
                      data={"metadata": json.dumps(doc.meta)}, timeout=120)
    if r.status_code not in (200, 201):
        raise RuntimeError(f"pushing the document failed: {r.status_code} {r.text[:300]}")
    share = create_share(login(env.base_url, citizen), [r.json()["id"]])
    return env, share["token"]


def _timed(base_url: str, path: str, duration: float, cpu: Callable[[], float], pg: bool) -> tuple[wrk.WrkResult, float]:
    """One wrk run and the CPU per request it cost (server tree, plus PostgreSQL's processes on PostgreSQL)."""
    s0, p0 = cpu(), (postgres_cpu_seconds() if pg else 0.0)
    res = wrk.run(base_url, [path], duration=duration)
    s1, p1 = cpu(), (postgres_cpu_seconds() if pg else 0.0)
    if res.errors:
        raise RuntimeError(f"{path.split('/')[1]}: {res.errors} of {res.requests} responses were errors")
    return res, ((s1 - s0) + (p1 - p0)) / max(res.requests, 1)


def measure(db: str, *, runs: int, duration: float, log: Callable[[str], None] = print) -> dict[str, Any]:
    env, token = _instance(db)
    try:
        with FloorServer(env.env, env.tmp / "floor.log") as fs:
            wallet_res: list[wrk.WrkResult] = []
            floor_res: list[wrk.WrkResult] = []
            wallet_cpu: list[float] = []
            floor_cpu: list[float] = []
            pg = db == "postgresql"
            # one warm-up each (first requests build caches and pool connections)
            wrk.run(env.base_url, [f"/api/v1/verify/{token}"], duration=2)
            wrk.run(fs.base_url, [f"/look/{token}"], duration=2)
            for i in range(runs):
                w, wc = _timed(env.base_url, f"/api/v1/verify/{token}", duration, env.server_cpu, pg)
                f, fc = _timed(fs.base_url, f"/look/{token}", duration, fs.cpu_seconds, pg)
                wallet_res.append(w)
                floor_res.append(f)
                wallet_cpu.append(wc)
                floor_cpu.append(fc)
                log(f"floor {db} round {i + 1}: wallet {w.rps:.0f}/s, floor {f.rps:.0f}/s, {w.rps / f.rps:.2f}×")
    finally:
        env.teardown()
    ratios = sorted(w.rps / f.rps for w, f in zip(wallet_res, floor_res))
    return {"wallet": wallet_res, "floor": floor_res, "ratio": ratios[len(ratios) // 2], "ratios": ratios,
            "wallet_cpu": median(wallet_cpu), "floor_cpu": median(floor_cpu)}


def run(*, runs: int, duration: float, log: Callable[[str], None] = print,
        databases: tuple[str, ...] = DATABASES) -> Section:
    sec = Section("floor", TITLES["floor"])
    for db in databases:
        m = measure(db, runs=runs, duration=duration, log=log)
        ws, fs = wrk.summarize(m["wallet"]), wrk.summarize(m["floor"])
        label = LABEL[db]
        sec.add(f"{label}: wallet JSON `/api/v1/verify/{{token}}` req/s", f"{ws['rps']:.0f}/s")
        sec.add(f"{label}: floor `/look/{{token}}` req/s", f"{fs['rps']:.0f}/s")
        sec.add(f"{label}: rate wallet / floor (median of the paired ratios)", f"{m['ratio']:.2f}×",
                target=f"≥ {TARGET}×", met=m["ratio"] >= TARGET)
        sec.add(f"{label}: paired ratios", ", ".join(f"{r:.2f}×" for r in m["ratios"]))
        sec.add(f"{label}: latency wallet / floor", f"{ws['p50'] * 1e3:.1f} / {fs['p50'] * 1e3:.1f} ms",
                f"{ws['p99'] * 1e3:.1f} / {fs['p99'] * 1e3:.1f} ms")
        what = "server + PostgreSQL" if db == "postgresql" else "server (SQLite runs inside it)"
        sec.add(f"{label}: CPU per request wallet / floor ({what})",
                f"{m['wallet_cpu'] * 1e3:.2f} / {m['floor_cpu'] * 1e3:.2f} ms = {m['wallet_cpu'] / m['floor_cpu']:.2f}×")
        sec.raw[db] = {k: [r.__dict__ | {"raw": ""} for r in m[k]] for k in ("wallet", "floor")}
    sec.notes.append(
        "The floor is `bench/floor.py`: a bare Flask app under the same gunicorn settings (config/gunicorn.conf.py, "
        "2 workers × 4 threads, the same redacting access log) on the same database and tables, whose `/look/{token}` "
        "selects the share by its token hash (`shares.token_hash`) and inserts one `share_views` row in autocommit "
        "(one commit; SQLite with the wallet's pragmas: WAL, synchronous FULL): the least a counted, logged look can "
        "do. The wallet's JSON look does that and more: it decides the answer from the share, its documents and "
        "issuers, counts the view on the share, answers the documents' details and a download grant.")
    sec.notes.append(
        f"For each database a fresh instance (production settings, rate limits off as in the other rows); one share "
        f"of one document, no view limit. wrk -t2 -c16 -d{duration:g}s, the wallet's run then the floor's, "
        f"{runs} pairs after a 2 s warm-up of each; the ratio is taken pair by pair. CPU: utime + stime of each "
        "gunicorn tree (and of PostgreSQL's processes on PostgreSQL) over each run, per request, median of the runs.")
    return sec
