"""`make bench`: run every section against a production-shaped instance and rewrite docs/benchmarks.md.

    python -m bench.run              full run (~20 min on the 2-core reference machine)
    BENCH_QUICK=1 python -m bench.run   fast pass: 100 documents, 100k rows, short wrk runs
    BENCH_SECTIONS=issuance,shares   run a subset (issuance, shares, verification, lighthouse, scale, memory, floor,
                                     cluster, batches)
    BENCH_BATCH_DOCS=n               documents in the batch section's batch (default 1000, 100 with BENCH_QUICK)
    BENCH_OUTPUT=path                write elsewhere than docs/benchmarks.md
    BENCH_FLOOR_DBS=sqlite           the floor row on one database only (default: sqlite,postgresql)

A section whose endpoint does not exist yet is reported as skipped (the harness runs it once it exists).
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from flask import url_for
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from bench import batches as bat
from bench import cluster as cl
from bench import docs as bench_docs
from bench import issuance as iss
from bench import lighthouse as lh
from bench import look_floor
from bench import memory as mem
from bench import scale as sc
from bench import shares as sh
from bench import verification as ver
from bench import wrk as wrk_mod
from bench.env import ROOT, BenchEnv, pg_reachable
from bench.issuance import http_pusher
from bench.report import TITLES, Section, render, write
from bench.shares import create_share, login
from wallet import create_app

QUICK = os.environ.get("BENCH_QUICK", "0").lower() in {"1", "true", "yes", "on"}
ALL = ("issuance", "shares", "verification", "lighthouse", "scale", "memory", "floor", "cluster", "batches")
ORDER = ("issuance", "verification", "scale", "shares", "lighthouse", "memory", "floor", "cluster", "batches")
def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Routes:
    """Which endpoints exist in this build (the app's URL map, built in-process with the same settings)."""

    def __init__(self, settings: Any) -> None:
        self.app = create_app(settings)
        self.adapter = self.app.url_map.bind("localhost")

    def exists(self, path: str, method: str = "GET") -> bool:
        try:
            self.adapter.match(path.split("?")[0], method=method)
            return True
        except RequestRedirect:
            return True
        except (NotFound, MethodNotAllowed):
            return False

    def url_for(self, endpoint: str, **values: Any) -> str | None:
        try:
            with self.app.test_request_context():
                return url_for(endpoint, **values)
        except Exception:  # noqa: BLE001 -- not built yet
            return None

    def close(self) -> None:
        self.app.extensions["wallet.runtime"].db.dispose()


def phone_pages(routes: Routes, doc_id: str, token: str) -> dict[str, tuple[str, bool]]:
    pages: dict[str, tuple[str, bool]] = {}
    candidates = {
        "login": (["/login", "/"], False),  # signed out, the home page is the sign-in form
        "wallet": ([routes.url_for("web.wallet"), "/wallet"], True),
        "document": ([routes.url_for("web.document", doc_id=doc_id), f"/documents/{doc_id}"], True),
        "share": ([routes.url_for("web.share", doc=doc_id), f"/share?doc={doc_id}", f"/documents/{doc_id}/share"], True),
        "verification": ([f"/v/{token}"], False),
    }
    for name, (paths, signed_in) in candidates.items():
        for p in paths:
            if p and routes.exists(p):
                pages[name] = (p, signed_in)
                break
    return pages


def redis_reachable(url: str) -> bool:
    try:
        import redis  # noqa: PLC0415 - the batch section only

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure: the section is skipped, saying why
        return False


def main() -> int:
    started = dt.datetime.now(dt.UTC)
    t_start = time.monotonic()
    wanted = [s.strip() for s in os.environ.get("BENCH_SECTIONS", ",".join(ALL)).split(",") if s.strip()]
    output = Path(os.environ.get("BENCH_OUTPUT", ROOT / "docs" / "benchmarks.md"))
    n_docs = int(os.environ.get("BENCH_DOCS", "100" if QUICK else "1000"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
    runs = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))
    duration = float(os.environ.get("BENCH_WRK_SECONDS", "5" if QUICK else "10"))
    sizes = [10_000, 100_000] if QUICK else [10_000, 1_000_000]
    if os.environ.get("BENCH_SCALE"):
        sizes = [int(x) for x in os.environ["BENCH_SCALE"].split(",")]
    n_shares = int(os.environ.get("BENCH_SHARES", "10" if QUICK else "100"))
    lh_runs = int(os.environ.get("BENCH_LH_RUNS", "1" if QUICK else "3"))
    scale_runs = int(os.environ.get("BENCH_SCALE_RUNS", "1" if QUICK else "3"))

    results: dict[str, Section] = {}
    config = {"Server": "gunicorn, `config/gunicorn.conf.py` (gthread, WEB_CONCURRENCY=2, 4 threads), "
                        "WALLET_ENV=production, WALLET_RATE_LIMITS=off, PostgreSQL 127.0.0.1 (database created and "
                        "dropped by the run), local blob store in a temp dir, demo PKI generated for the run",
              "Load generator": "wrk on loopback (shares the 2 cores with the server and PostgreSQL)"}

    previous = output.read_text() if output.exists() and set(wanted) != set(ALL) else None

    def flush() -> None:
        sections = [results.get(k) or Section(k, TITLES[k], skipped="not selected (BENCH_SECTIONS)") for k in ORDER]
        write(output, render(sections, quick=QUICK, started=started, elapsed_s=time.monotonic() - t_start,
                             config=config, previous=previous))

    def section(key: str, fn: Callable[[], Section | None], needs: str | None = None) -> None:
        if key not in wanted:
            return
        if needs:
            results[key] = Section(key, TITLES[key], skipped=needs)
            log(f"{key}: skipped ({needs})")
            flush()
            return
        log(f"{key}: running")
        t = time.monotonic()
        try:
            sec = fn()
            if sec is not None:
                results[key] = sec
                log(f"{key}: done in {time.monotonic() - t:.0f} s")
        except Exception as exc:  # noqa: BLE001 -- one broken section must not hide the others
            traceback.print_exc()
            results[key] = Section(key, TITLES[key], skipped=f"error: {exc.__class__.__name__}: {str(exc)[:300]}")
        flush()

    if not pg_reachable():
        log("PostgreSQL is not reachable on 127.0.0.1:5432: nothing to measure")
        return 1
    # ---- 7. the counted look against its floor: its own instances, one per database
    floor_dbs = tuple(d.strip() for d in os.environ.get("BENCH_FLOOR_DBS", "sqlite,postgresql").split(",") if d.strip())
    section("floor", lambda: look_floor.run(runs=runs, duration=duration, log=log, databases=floor_dbs),
            None if wrk_mod.available() else "wrk is not installed (apt-get install wrk)")
    # ---- 8. the cluster: its own nginx, nodes, worker, database and RGW (wallet/demo/cluster.py)
    section("cluster", lambda: cl.run(runs=runs, duration=duration, log=log),
            None if wrk_mod.available() else "wrk is not installed (apt-get install wrk)")
    if not set(wanted) - {"floor", "cluster"}:
        flush()
        log(f"wrote {output} in {(time.monotonic() - t_start) / 60:.1f} min")
        return 0
    # BENCH_KEEP=1: keep the temp dir and database; BENCH_DB: the database's name (runs side by side on one server)
    env = BenchEnv(keep=os.environ.get("BENCH_KEEP") == "1", db_name=os.environ.get("BENCH_DB") or os.environ.get("BENCH_DB_NAME", "wallet_bench"))
    log(f"setting up in {env.tmp} (PKI, database {env.db_name}, migrations, agencies)")
    state: dict[str, Any] = {}
    try:
        env.setup()
        settings = env.settings()
        routes = Routes(settings)
        # the issuing agencies (the civil registry, MI, issues no document and has no signing key)
        agencies = [a for a in env.demo["agencies"] if a.get("pkcs12")]
        api_keys = {a["code"]: a["api_key"] for a in agencies}
        roots = [str(env.pki["root"])]
        ca_paths = [str(env.pki["agencies"][a["code"]]["ca"]) for a in agencies]
        ca_pems = [Path(p).read_text() for p in ca_paths]
        citizen = env.demo["citizens"][0]


        documents = []
        if "issuance" in wanted:
            log(f"generating and signing {n_docs} documents (not timed)")
            documents = bench_docs.make_documents(agencies, n_docs, seed=1,
                                                   suffixes=tuple(f"-R{r}" for r in range(rounds)))
        batch_docs = []
        n_batch = int(os.environ.get("BENCH_BATCH_DOCS", "100" if QUICK else "1000"))
        if "batches" in wanted:
            log(f"generating and signing {n_batch} school reports for one batch (not timed)")
            men = [a for a in agencies if a["code"] == "MEN"]
            batch_docs = bench_docs.make_documents(men, n_batch, seed=3, prefix="BATCH", suffixes=("-B0", "-B1"),
                                                   kinds=(("MEN", "school_report"),))
        own_docs = bench_docs.make_documents(agencies, 3, seed=2, holder_id=citizen["national_id"], prefix="OWN",
                                             processes=1)
        env.start_server()
        log(f"server up at {env.base_url}, workers {env.worker_pids()}")

        # ---- 1. issuance
        def issuance() -> Section:
            return iss.run(documents, iss.http_pusher(env.base_url, api_keys), rounds=rounds, clients=4,
                           trust_roots=roots, agency_ca_pems=ca_pems, server_cpu=env.server_cpu,
                           worker_rss=env.worker_rss)

        section("issuance", issuance)

        # ---- 7. batch issuance on 1 then 2 Celery workers
        def batches() -> Section:
            return bat.run(env.base_url, env.env, env.tmp, batch_docs, api_keys["MEN"], trust_roots=roots,
                           agency_ca_pems=ca_pems, log=log)

        section("batches", batches, None if redis_reachable(env.env.get("REDIS_URL", "")) else
                "Redis is not reachable (REDIS_URL): the Celery workers need their broker")

        # the demo citizen's own documents (for sharing and the phone pages), pushed like any other

        push = http_pusher(env.base_url, api_keys)()

        own_ids = []
        for d in own_docs:
            r = requests.post(f"{env.base_url}/api/v1/documents", headers={"Authorization": f"Bearer {api_keys[d.agency]}"},
                              files={"file": ("document.pdf", d.pdf, "application/pdf")},
                              data={"metadata": __import__("json").dumps(d.meta)}, timeout=120)
            if r.status_code not in (200, 201):
                raise RuntimeError(f"pushing the citizen's documents failed: {r.status_code} {r.text[:300]}")
            own_ids.append(r.json()["id"])
        del push

        have_login = routes.exists("/api/v1/auth/login", "POST")
        have_shares = routes.exists("/api/v1/me/shares", "POST")
        have_verify = routes.exists("/api/v1/verify/x", "GET") and routes.exists("/v/x", "GET")
        if have_login:
            state["session"] = login(env.base_url, citizen)

        # ---- 4. shares (creates the share the verification rows use)
        def shares() -> Section:
            sec, share = sh.run(env.base_url, state["session"], own_ids[0], own_docs[0].pdf, settings, n=n_shares,
                                server_cpu=env.server_cpu, wrk_duration=duration / 2)
            state["share"] = share
            return sec

        section("shares", shares, None if (have_login and have_shares) else
                "`POST /api/v1/auth/login` / `POST /api/v1/me/shares` do not exist yet")
        if "share" not in state and have_login and have_shares:
            state["share"] = create_share(state["session"], own_ids[:1])

        share_missing = None if "share" in state else "no share could be created (shares API missing or failing)"
        wrk_missing = None

        if not wrk_mod.available():
            wrk_missing = "wrk is not installed (apt-get install wrk)"

        # ---- 2. verification
        def verification() -> Section:
            return ver.run(env.base_url, state["share"]["token"], runs=runs, duration=duration,
                           server_cpu=env.server_cpu, floor_env=env.env, floor_log=env.tmp / "floor.log")

        section("verification", verification,
                wrk_missing or (None if have_verify else "`/api/v1/verify/{token}` and `/v/{token}` do not exist yet")
                or share_missing)

        # ---- 5. phone pages
        def phone() -> Section:
            pages = phone_pages(routes, own_ids[0], state["share"]["token"] if "share" in state else "x")
            if "share" not in state:
                pages.pop("verification", None)
            missing = [p for p in ("login", "wallet", "document", "share", "verification") if p not in pages]
            sec = lh.run(env.base_url, pages, state["session"].cookie if "session" in state else None, runs=lh_runs)
            if missing:
                sec.notes.append(f"pages not built yet, not measured: {', '.join(missing)}")
            return sec


        section("lighthouse", phone, lh.available() or (None if routes.exists("/login") or
                                                           routes.url_for("web.login") else "the web pages do not exist yet"))

        # ---- 3. scale
        def scale() -> Section:
            return sc.run(env, citizen["national_id"], sizes, runs=scale_runs, duration=duration, log=log)

        section("scale", scale, wrk_missing or (None if have_verify else "the verification endpoints do not exist yet")
                or share_missing)
        env.stop_server()

        # ---- 6. memory
        def memory() -> Section:
            pdf = env.tmp / "big.pdf"
            mem.big_pdf(pdf, agencies[0])
            return mem.run(pdf, roots, ca_paths)

        section("memory", memory)
        routes.close()
    except Exception:
        traceback.print_exc()
        log(f"server log tail:\n{env.server_log_tail()}")
        raise
    finally:
        env.teardown()
        flush()
        log(f"wrote {output} in {(time.monotonic() - t_start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
