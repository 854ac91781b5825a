"""Row 1 — issuance: N pushes of ~100 KB single-signature PDFs over HTTP with 4 concurrent clients, against
pyHanko validating the same files in one process (the wallet's ``validate_pdf`` and raw pyHanko)."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

import requests
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from bench.docs import BenchDoc
from bench.report import Section
from bench.stats import fmt_mb, fmt_ms, median, percentile
from signing import decide_issuance, install_pyhanko_patches, speedups, validate_pdf
from signing.trust import TrustStore, load_certificates

Push = Callable[[BenchDoc, dict[str, Any]], int]

CPU_RATIO_TARGET = 1.25
RATE_TARGET = 50.0
RSS_TARGET = 200 * 2**20


def http_pusher(base_url: str, api_keys: dict[str, str]) -> Callable[[], Push]:
    """A factory of push functions, one requests.Session per client thread."""
    def factory() -> Push:
        session = requests.Session()

        def push(doc: BenchDoc, meta: dict[str, Any]) -> int:
            r = session.post(f"{base_url}/api/v1/documents", headers={"Authorization": f"Bearer {api_keys[doc.agency]}"},
                             files={"file": ("document.pdf", doc.pdf, "application/pdf")},
                             data={"metadata": json.dumps(meta)}, timeout=120)
            return r.status_code

        return push

    return factory


def test_client_pusher(app: Any, api_keys: dict[str, str]) -> Callable[[], Push]:
    """The same push through Flask's test client (smoke test: no server, no PostgreSQL)."""

    def factory() -> Push:
        client = app.test_client()

        def push(doc: BenchDoc, meta: dict[str, Any]) -> int:
            r = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {api_keys[doc.agency]}"},
                            content_type="multipart/form-data",
                            data={"file": (BytesIO(doc.pdf), "document.pdf", "application/pdf"),
                                  "metadata": json.dumps(meta)})
            return r.status_code

        return push

    return factory


def push_all(docs: list[BenchDoc], factory: Callable[[], Push], clients: int, suffix: str) -> tuple[float, list[float], dict[int, int]]:
    """Push every document once (reference + suffix, so each round is new work); wall time, latencies, statuses."""
    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def worker() -> None:
        push = factory()
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(docs):
                return
            doc = docs[i]
            meta = dict(doc.meta, reference=f"{doc.meta['reference']}{suffix}")
            if suffix in doc.variants:  # the file whose signed document.json says this reference
                doc = replace(doc, pdf=doc.variants[suffix])
            t = time.perf_counter()
            try:
                status = push(doc, meta)
            except Exception:  # noqa: BLE001 -- counted as a failure
                status = -1
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, statuses


def trust_store(trust_roots: list[str], agency_ca_pems: list[str]) -> Any:
    """The trust store the server builds (configured roots + registered agency CAs as intermediates)."""
    roots = tuple(c for p in trust_roots for c in load_certificates(Path(p).read_bytes()))
    extra = tuple(c for pem in agency_ca_pems for c in load_certificates(pem.encode()))
    return TrustStore(roots=roots, intermediates=extra)


def reference_wallet(docs: list[BenchDoc], trust: Any) -> float:
    """Process CPU seconds per document of signing.validate_pdf + decide_issuance on the same files."""
    t0 = time.process_time()
    for doc in docs:
        report = validate_pdf(doc.pdf, trust)
        decision = decide_issuance(report, lambda _sig: True)
        if not decision.accepted:
            raise RuntimeError(f"reference validation rejected a bench document: {decision.code}")
    return (time.process_time() - t0) / len(docs)


def reference_raw(docs: list[BenchDoc], trust_roots: list[str], agency_ca_pems: list[str], *,
                  as_shipped: bool = False) -> float:
    """Process CPU seconds per document of raw pyHanko: parse, one offline ValidationContext per signature,
    ``validate_pdf_signature``. ``as_shipped``: with pyHanko's own hex-string reader (the wallet installs a
    faster equivalent, ``signing/speedups.py``, at start in every process that validates, the server's validator
    processes included; :func:`run` installs it here)."""
    if as_shipped:
        speedups.uninstall()
        try:
            return reference_raw(docs, trust_roots, agency_ca_pems)
        finally:
            speedups.install()


    roots = [c for p in trust_roots for c in load_certificates(Path(p).read_bytes())]
    others = [c for pem in agency_ca_pems for c in load_certificates(pem.encode())]
    t0 = time.process_time()
    for doc in docs:
        reader = PdfFileReader(BytesIO(doc.pdf))
        sig = reader.embedded_signatures[0]
        vc = ValidationContext(trust_roots=roots, other_certs=others, allow_fetching=False)
        status = validate_pdf_signature(sig, vc)
        if not status.bottom_line:
            raise RuntimeError("raw pyHanko rejected a bench document")
    return (time.process_time() - t0) / len(docs)


def run(docs: list[BenchDoc], factory: Callable[[], Push], *, rounds: int, clients: int, trust_roots: list[str],
        agency_ca_pems: list[str], server_cpu: Callable[[], float] | None, worker_rss: Callable[[], list[int]] | None,
        over_http: bool = True) -> Section:
    install_pyhanko_patches()  # the in-process references run what the validator processes run
    sec = Section("issuance", "1. Issuance")
    n = len(docs)
    size = median(len(d.pdf) for d in docs)
    trust = trust_store(trust_roots, agency_ca_pems)
    rates, cpu_docs, lat_p50, lat_p99, ref_wallet, ref_raw, ref_shipped = [], [], [], [], [], [], []
    for r in range(rounds):
        cpu0 = server_cpu() if server_cpu else time.process_time()
        wall, lats, statuses = push_all(docs, factory, clients, suffix=f"-R{r}")
        cpu1 = server_cpu() if server_cpu else time.process_time()
        ok = statuses.get(201, 0)
        if ok != n:
            raise RuntimeError(f"issuance round {r}: {ok}/{n} pushes created (statuses {statuses})")
        rates.append(n / wall)
        cpu_docs.append((cpu1 - cpu0) / n)
        lat_p50.append(median(lats))
        lat_p99.append(percentile(lats, 99))
        # the reference, on the very same bytes, right after (same machine state)
        ref_wallet.append(reference_wallet(docs, trust))
        ref_raw.append(reference_raw(docs, trust_roots, agency_ca_pems))
        ref_shipped.append(reference_raw(docs, trust_roots, agency_ca_pems, as_shipped=True))
    cpu = median(cpu_docs)
    raw = median(ref_raw)
    shipped = median(ref_shipped)
    wal = median(ref_wallet)
    where = "server (gunicorn master + workers) CPU" if server_cpu else "in-process CPU (test client, no server)"
    sec.add("documents/s (4 concurrent clients)", f"{median(rates):.1f}/s", target=f"≥ {RATE_TARGET:.0f}/s",
            met=median(rates) >= RATE_TARGET)
    sec.add("push latency", fmt_ms(median(lat_p50)), fmt_ms(median(lat_p99)))
    sec.add(f"{where} per document", fmt_ms(cpu))
    sec.add("reference: pyHanko as shipped, `validate_pdf_signature`, process CPU per document", fmt_ms(shipped))
    sec.add("reference: raw pyHanko `validate_pdf_signature` with the wallet's parser speedup, process CPU per "
            "document", fmt_ms(raw))
    sec.add("reference: wallet `signing.validate_pdf` + `decide_issuance`, process CPU per document", fmt_ms(wal))
    sec.add("ratio server CPU / pyHanko as shipped", f"{cpu / shipped:.2f}×", target=f"≤ {CPU_RATIO_TARGET}×",
            met=cpu / shipped <= CPU_RATIO_TARGET)
    sec.add("ratio server CPU / raw pyHanko (with the speedup: what the server adds around validation)",
            f"{cpu / raw:.2f}×")
    sec.add("ratio server CPU / `signing.validate_pdf`", f"{cpu / wal:.2f}×")
    sec.add("ratio `signing.validate_pdf` / raw pyHanko", f"{wal / raw:.2f}×")
    if worker_rss:
        rss = worker_rss()
        sec.add("RSS of each web worker after the run", ", ".join(fmt_mb(x) for x in rss) or "n/a",
                target="≤ 200 MB", met=bool(rss) and max(rss) <= RSS_TARGET)
        sec.raw["worker_rss"] = rss
    sec.notes.append(f"{n} distinct signed PDFs (median {size / 1000:.0f} kB: text certificate + embedded photo, one "
                     f"B-B PAdES agency signature), generated and signed before the timed part; {rounds} rounds, each "
                     f"pushing all {n} under new references (new documents, full validation each time); figures are "
                     f"medians of the per-round figures.")
    if over_http:
        sec.notes.append(f"{clients} client threads, one `requests.Session` each, over loopback HTTP. Server CPU = "
                         "utime+stime of the gunicorn master and workers from /proc, before/after, divided by N; "
                         "PostgreSQL's own CPU is not included.")
    sec.notes.append("pyHanko's own validation is measured as pyHanko ships it (the issue's reference) and with the "
                     "wallet's equivalent, faster hex-string reader installed (`signing/speedups.py`, property-tested "
                     "against pyHanko's; the server runs with it): the second ratio is the cost of everything the "
                     "server does around validation (HTTP, multipart, auth, encryption, durable blob, audit chain).")
    sec.raw.update(rates=rates, cpu_per_doc=cpu_docs, ref_raw=ref_raw, ref_shipped=ref_shipped, ref_wallet=ref_wallet,
                   lat_p50=lat_p50,
                   lat_p99=lat_p99)
    return sec
