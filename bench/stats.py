"""Small statistics and /proc helpers shared by the sections (no third-party dependencies)."""
from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def median(values: Iterable[float]) -> float:
    vals = list(values)
    return statistics.median(vals) if vals else math.nan


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100), the definition wrk and most load tools use."""
    vals = sorted(values)
    if not vals:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(vals)))
    return vals[min(rank, len(vals)) - 1]


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, the /proc/<pid>/stat fields after the name) of every process still there."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        yield int(entry), raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()


def children(pid: int) -> list[int]:
    return sorted(child for child, _name, fields in _processes() if int(fields[1]) == pid)


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its direct children (gunicorn master + workers)."""
    total = proc_cpu_seconds(pid)
    for child in children(pid):
        try:
            total += proc_cpu_seconds(child)
        except OSError:
            pass
    return total


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on this machine (the bench's server runs on loopback here)."""
    return sum((int(fields[11]) + int(fields[12])) / CLK_TCK for _pid, name, fields in _processes()
               if name == "postgres")


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"cpu": cpu, "cores": str(os.cpu_count() or 0), "ram": f"{mem / 2**30:.1f} GiB"}


def fmt_ms(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "n/a"
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def fmt_mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:.0f} MB"
