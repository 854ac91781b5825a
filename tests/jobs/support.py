"""What the job tests share: waiting for an effect, and real Celery workers started and stopped."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def wait_for(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def start_worker(app: str, env: dict[str, str], tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    """A Celery worker of ``app`` (``module:celery``), one job at a time, in a process group of its own (so a test
    can kill it with its children), logging to ``tmp_path/<name>.log``."""
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", app, "worker",
                             "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
                             "-n", f"{name}@%h", "--loglevel", "INFO"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
