"""Jobs for tests/jobs: each leaves files behind for the test to read."""
from __future__ import annotations

import os
import time
from pathlib import Path

from wallet.jobs import TryLater, task


def _write(path: str | Path, text: str) -> None:
    """Whole or not at all: the test waits for the file to exist, then reads it (a plain write_text creates it
    empty first: a reader could see '')."""
    tmp = Path(f"{path}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _append(path: str, line: str) -> None:
    p = Path(path)
    _write(p, (p.read_text() if p.exists() else "") + line)


@task("test.touch", max_retries=2, backoff=0.2)
def touch(path: str, text: str) -> None:
    _write(path, text)


@task("test.flaky", max_retries=3, backoff=0.2)
def flaky(path: str) -> None:
    """Fails twice (TryLater), then writes the number of attempts."""
    p = Path(path)
    n = int(p.read_text()) + 1 if p.exists() else 1
    _write(p, str(n))
    if n < 3:
        raise TryLater("not yet")
    _write(path + ".done", str(n))


@task("test.slow", max_retries=0)
def slow(path: str) -> None:
    """Records each start (pid), sleeps, then records the end: a worker killed mid-job leaves a start only."""
    _append(path + ".starts", f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("TEST_SLOW_SECONDS", "3")))
    _append(path + ".ends", f"{os.getpid()}\n")



@task("test.backing_service_down", max_retries=3, backoff=0.2)
def backing_service_down(path: str) -> None:
    """The blob store is unreachable the first time (a transient fault the job does not name), then it works."""
    from wallet.storage import StorageUnavailable

    p = Path(path)
    n = int(p.read_text()) + 1 if p.exists() else 1
    _write(p, str(n))
    if n < 2:
        raise StorageUnavailable("the blob store is restarting")
    _write(path + ".done", str(n))
