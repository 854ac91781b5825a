"""wrk on loopback (the load generator of issue 5): run it and parse its --latency output."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.stats import median

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass
class WrkResult:
    rps: float
    p50: float  # seconds
    p75: float
    p90: float
    p99: float
    requests: int
    errors: int  # socket errors + non-2xx/3xx responses
    raw: str


def _seconds(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot parse wrk duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse(output: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    dist = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M))
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m:
        errors += sum(int(x) for x in m.groups())
    return WrkResult(rps, _seconds(dist["50"]), _seconds(dist["75"]), _seconds(dist["90"]), _seconds(dist["99"]),
                     requests, errors, output)


def available() -> bool:
    return shutil.which("wrk") is not None


def run(base_url: str, paths: Sequence[str], *, threads: int = 2, connections: int = 16, duration: float = 10,
        headers: dict[str, str] | None = None) -> WrkResult:
    """wrk -tT -cC -dDs --latency; several paths are requested in turn (a Lua script)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    script = None
    if len(paths) > 1:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        items = ",".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths)
        script.write("local paths = {" + items + "}\nlocal n = #paths\nlocal i = math.random(n)\n"
                     "request = function()\n  i = i % n + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
        script.close()
        cmd += ["-s", script.name]
    cmd.append(base_url.rstrip("/") + paths[0])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    finally:
        if script is not None:
            Path(script.name).unlink(missing_ok=True)
    return parse(out)


def summarize(results: list[WrkResult]) -> dict[str, float]:
    """Median over repeated runs of each run's figure (median of medians, median of p99s)."""
    return {"rps": median(r.rps for r in results), "p50": median(r.p50 for r in results),
            "p99": median(r.p99 for r in results), "errors": float(sum(r.errors for r in results)),
            "requests": float(sum(r.requests for r in results))}
