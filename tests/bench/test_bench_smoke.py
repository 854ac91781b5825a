"""A tiny run of the benchmark harness (bench/): it proves the code runs; no timing is asserted."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:5000/healthz
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.12ms    2.01ms  40.00ms   90.00%
    Req/Sec     1.31k   100.00     1.50k    70.00%
  Latency Distribution
     50%    5.80ms
     75%    6.90ms
     90%    8.10ms
     99%   14.20ms
  26123 requests in 10.01s, 4.10MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   2609.72
Transfer/sec:    419.30KB
"""


def test_wrk_output_is_parsed() -> None:
    from bench.wrk import parse

    r = parse(WRK_OUTPUT)
    assert r.rps == 2609.72
    assert abs(r.p50 - 0.0058) < 1e-9 and abs(r.p99 - 0.0142) < 1e-9
    assert r.requests == 26123 and r.errors == 3


def test_issuance_section_and_report(app: Any, agencies: dict[str, Any], pki: dict[str, Any], tmp_path: Path) -> None:
    from bench import docs, issuance
    from bench.report import Section, render, write

    specs = [{"code": code, "pkcs12": a["pkcs12"], "pkcs12_password": a["pkcs12_password"]}
             for code, a in pki["agencies"].items()]
    documents = docs.make_documents(specs, 5, target_bytes=40_000, seed=9, processes=1, suffixes=("-R0",))
    assert len(documents) == 5 and all(d.pdf.startswith(b"%PDF") for d in documents)
    keys = {code: a["key"] for code, a in agencies.items()}
    ca_pems = [Path(pki["agencies"][code]["ca"]).read_text() for code in keys if code in pki["agencies"]]
    section = issuance.run(documents, issuance.test_client_pusher(app, keys), rounds=1, clients=2,
                           trust_roots=[pki["root"]], agency_ca_pems=ca_pems, server_cpu=None, worker_rss=None,
                           over_http=False)
    metrics = {row.metric: row for row in section.rows}
    assert "documents/s (4 concurrent clients)" in metrics
    assert metrics["ratio server CPU / pyHanko as shipped"].median.endswith("×")
    assert len(section.raw["rates"]) == 1 and section.raw["ref_raw"][0] > 0 and section.raw["ref_shipped"][0] > 0
    from signing import speedups

    assert speedups.installed()  # measuring pyHanko as shipped put the wallet's reader back afterwards

    text = render([section, Section("memory", "6. Memory", skipped="not selected")], quick=True,
                  started=dt.datetime.now(dt.timezone.utc), elapsed_s=1.0, config={"Server": "test client"})
    out = tmp_path / "benchmarks.md"
    write(out, text)
    written = out.read_text()
    assert "## 1. Issuance" in written and "ratio server CPU / pyHanko as shipped" in written
    assert "Not run: not selected" in written and "cores" in written


@pytest.mark.committed_db
def test_floor_app_counts_each_look_durably(app: Any, holder: Any, issue: Any, database_url: str,
                                           monkeypatch: Any) -> None:
    """bench/floor.py on the wallet's own tables: `/look` makes one share_views row durable per request, `/read`
    and `/healthz` write none, an unknown token is a 404 (both databases)."""
    from sqlalchemy import func, select

    from bench.floor import create_app
    from tests.support.shares import token_of
    from wallet import db
    from wallet.shares.models import ShareView

    share = holder.share([issue()["id"]]).get_json()
    token = token_of(share)

    def views() -> int:
        with app.app_context():
            n = db.session().scalar(select(func.count()).select_from(ShareView)
                                    .where(ShareView.share_id == share["id"]))
            db.rollback()
            return int(n or 0)

    monkeypatch.setenv("DATABASE_URL", database_url)
    client = create_app().test_client()
    before = views()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get(f"/read/{token}").get_json() == {"result": "valid"}
    assert views() == before
    for _ in range(3):
        assert client.get(f"/look/{token}").get_json() == {"result": "valid"}
    assert views() == before + 3
    assert client.get("/look/not-a-token").status_code == 404
    assert views() == before + 3
    if database_url.startswith("postgresql"):
        from bench.stats import postgres_cpu_seconds

        assert postgres_cpu_seconds() > 0  # the server these requests just used is counted


def test_floor_rows_render() -> None:
    from bench.report import Section
    from bench.verification import _floor_rows
    from bench.wrk import WrkResult

    def res(rps: float) -> WrkResult:
        return WrkResult(rps, 0.005, 0.006, 0.007, 0.02, int(rps * 10), 0, "")

    sec = Section("verification", "2. Verification")
    _floor_rows(sec, {"floor `/healthz`": [res(3000), res(2800)], "floor `/read/{token}`": [res(1500), res(1400)],
                      "floor `/look/{token}`": [res(900), res(1000)]})
    cells = {r.metric: r.median for r in sec.rows}
    assert cells["floor `/look/{token}` rate / floor `/healthz` rate"] in ("0.30×", "0.36×")
    assert cells["floor `/read/{token}` req/s"] == "1450/s"


def test_partial_run_names_where_carried_sections_come_from() -> None:
    from bench.report import Section, render

    started = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    full = Section("memory", "6. Memory")
    full.add("peak RSS", "100 MB", target="≤ 300 MB", met=True)
    first = render([full], quick=False, started=started, elapsed_s=60, config={})
    fresh = Section("issuance", "1. Issuance")
    fresh.add("documents/s", "90/s", target="≥ 50/s", met=True)
    again = render([fresh, Section("memory", "6. Memory", skipped="not selected (BENCH_SECTIONS)")], quick=False,
                   started=started + dt.timedelta(days=1), elapsed_s=60, config={}, previous=first)
    assert "- **Partial run:** only 1. Issuance measured now; carried over unchanged: 6. Memory from the run of " \
           "2026-01-02 03:04 UTC (commit " in again
    # carried twice: each section still names the run that measured it, not the partial run in between
    third = render([Section("issuance", "1. Issuance", skipped="not selected (BENCH_SECTIONS)"),
                    Section("memory", "6. Memory", skipped="not selected (BENCH_SECTIONS)")], quick=False,
                   started=started + dt.timedelta(days=2), elapsed_s=60, config={}, previous=again)
    assert "- **Partial run:** nothing measured now; carried over unchanged: 1. Issuance from the run of " \
           "2026-01-03 03:04 UTC (commit " in third
    assert "; 6. Memory from the run of 2026-01-02 03:04 UTC (commit " in third
    assert "| peak RSS | 100 MB |" in third
    assert "| peak RSS | 100 MB |" in again


def test_budget_note_compares_the_look_with_the_floor() -> None:
    from bench.verification import budget_note

    ms = 1e-3
    cpu = {"`/healthz`": (0.40 * ms, 0.0), "floor `/read/{token}`": (0.70 * ms, 0.10 * ms),
           "floor `/look/{token}`": (0.75 * ms, 0.15 * ms), "JSON `/api/v1/verify/{token}`": (1.5 * ms, 0.5 * ms),
           "page `/v/{token}`": (2.2 * ms, 0.5 * ms)}
    note = budget_note(cpu, 0.38)
    assert note is not None
    assert "may cost about 0.80 ms" in note and "INSERT costs 0.90 ms" in note
    assert "the wallet: JSON look 2.00 ms (2.2× the floor's INSERT), page 2.70 ms" in note
    assert "bare INSERT ran at 0.38× the wallet's `/healthz` rate" in note and "no look that is counted" in note
    reachable = budget_note(cpu, 0.6) or ""
    assert "within the stack's reach" in reachable and "no look" not in reachable
    assert budget_note(cpu, None) is None  # no floor measured: no claim
    assert budget_note({"`/healthz`": (0.4 * ms, 0.0)}, 0.38) is None
