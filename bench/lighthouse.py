"""Row 5 — phone pages with Lighthouse 12.8.2 (mobile form factor, simulated throttling: its defaults).

Lighthouse comes from bench/package.json (``npm install --prefix bench``); Chromium is the system one
(``CHROME_PATH=/usr/bin/chromium``), never downloaded. Signed-in pages get the session cookie through
``--extra-headers`` (a JSON file with a Cookie header).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.report import Section
from bench.stats import median

ROOT = Path(__file__).resolve().parent.parent
LH_CLI = ROOT / "bench" / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGETS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 1.0}
WALLET_BYTES_TARGET = 150 * 1024


def available() -> str | None:
    """None when Lighthouse can run, else why not."""
    if not LH_CLI.exists():
        return "Lighthouse is not installed (npm install --prefix bench)"
    if not Path(CHROME).exists():
        return f"no Chromium at {CHROME}"
    if shutil.which("node") is None:
        return "node is not installed"
    return None


def lighthouse(url: str, cookie: str | None, workdir: Path) -> dict[str, Any]:
    out = workdir / f"lh-{os.urandom(4).hex()}.json"
    cmd = ["node", str(LH_CLI), url, "--output=json", f"--output-path={out}", "--quiet",
           f"--only-categories={','.join(CATEGORIES)}",
           "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"]
    if cookie:
        headers = workdir / "headers.json"
        headers.write_text(json.dumps({"Cookie": cookie}))
        cmd.append(f"--extra-headers={headers}")
    env = dict(os.environ, CHROME_PATH=CHROME)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse failed on {url}: {proc.stderr[-500:]}")
    data = json.loads(out.read_text())
    out.unlink()
    if data.get("runtimeError"):
        raise RuntimeError(f"lighthouse runtime error on {url}: {data['runtimeError']}")
    return data


def summarize(data: dict[str, Any]) -> dict[str, Any]:
    cats = data["categories"]
    audits = data["audits"]
    failing = []
    for cat in ("accessibility", "best-practices"):
        for ref in cats[cat]["auditRefs"]:
            a = audits.get(ref["id"], {})
            if ref.get("weight", 0) > 0 and a.get("score") is not None and a["score"] < 1:
                failing.append(ref["id"])
    metric = lambda k: audits.get(k, {}).get("numericValue")  # noqa: E731
    return {"scores": {c: cats[c]["score"] for c in CATEGORIES},
            "bytes": metric("total-byte-weight"), "fcp": metric("first-contentful-paint"),
            "lcp": metric("largest-contentful-paint"), "tbt": metric("total-blocking-time"),
            "cls": metric("cumulative-layout-shift"), "failing": failing,
            "final_url": data.get("finalDisplayedUrl") or data.get("finalUrl")}


def run(base_url: str, pages: dict[str, tuple[str, bool]], cookie: str | None, *, runs: int) -> Section:
    """pages: name -> (path, needs the session cookie)."""
    sec = Section("lighthouse", "5. Phone pages (Lighthouse 12.8.2, mobile, simulated throttling)")
    work = Path(tempfile.mkdtemp(prefix="bench-lh-"))
    try:
        for name, (path, signed_in) in pages.items():
            results, failures = [], []
            for _ in range(runs):
                for _attempt in range(3):  # Lighthouse is flaky on a loaded machine (NO_NAVSTART ...): retry
                    try:
                        results.append(summarize(lighthouse(base_url + path, cookie if signed_in else None, work)))
                        break
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        failures.append(str(exc)[:200])
            if failures:
                sec.notes.append(f"{name}: {len(failures)} Lighthouse attempt(s) failed and were retried: {failures[0]}")
            if not results:
                sec.add(f"{name} (`{path.split('?')[0]}`)", "Lighthouse failed on every attempt",
                        target="perf ≥ 0.95, a11y 1.00, best practices 1.00", met=False)
                continue
            final = results[-1]["final_url"] or ""
            if signed_in and "login" in final and "login" not in path:
                sec.notes.append(f"{name}: Lighthouse landed on {final} (the session cookie was not accepted).")
            scores = {c: median(r["scores"][c] for r in results if r["scores"][c] is not None) for c in CATEGORIES}
            cells = ", ".join(f"{c} {scores[c]:.2f}" for c in CATEGORIES)
            met = all(scores[c] >= TARGETS[c] for c in CATEGORIES)
            sec.add(f"{name} (`{path.split('?')[0] if '/v/' not in path else '/v/{token}'}`)", cells,
                    target="perf ≥ 0.95, a11y 1.00, best practices 1.00", met=met)
            lcp = median(r["lcp"] for r in results if r["lcp"] is not None)
            tbt = median(r["tbt"] for r in results if r["tbt"] is not None)
            size = median(r["bytes"] for r in results if r["bytes"] is not None)
            sec.add(f"{name}: LCP / TBT / transferred", f"{lcp / 1000:.2f} s / {tbt:.0f} ms / {size / 1024:.0f} KB")
            if name == "wallet":
                sec.add("wallet first load, bytes transferred", f"{size / 1024:.0f} KB", target="≤ 150 KB",
                        met=size <= WALLET_BYTES_TARGET)
            failing = sorted({f for r in results for f in r["failing"]})
            if failing:
                sec.notes.append(f"{name}: audits below 1 (accessibility / best practices): {', '.join(failing)}")
            sec.raw[name] = results
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sec.notes.append(f"Lighthouse {runs} run(s) per page, median scores; Chromium headless (system package), mobile "
                     "emulation and simulated throttling (Lighthouse defaults). Signed-in pages use the demo "
                     "citizen's session cookie via --extra-headers.")
    return sec
