"""Validation of outside PDFs in a box: a small pool of single-threaded validator processes.

Each validator is a fresh interpreter (``python -m signing.sandbox``, never a fork of a threaded web worker)
that imports pyHanko once, then limits itself before it reads any file (it leaves when its parent closes the
pipe, i.e. at the latest when the parent dies):

- ``RLIMIT_AS``: its virtual size measured after the imports + ``memory_bytes`` (an allocation beyond it
  fails with MemoryError; the validator answers ``too_complex`` and is replaced);
- ``RLIMIT_CPU``: before each file, the CPU it has used + ``cpu_seconds`` (the kernel ends it with SIGXCPU);
- ``RLIMIT_FSIZE`` 0 and ``RLIMIT_CORE`` 0: it writes no file.

The parent enforces the wall clock: a validator that has not answered within ``wall_seconds``, or whose
caller's request ended (``cancelled()``), is killed and replaced. The trust store crosses the process boundary
as PEM bytes; the report comes back as JSON (plain data: a compromised validator cannot make the parent run
code) and is rebuilt into the frozen report dataclasses.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import logging
import os
import queue
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .errors import SigningLibraryError
from .limits import Limits
from .patches import install_pyhanko_patches, pyhanko_patched
from .policy import DEFAULT_MAX_SIZE
from .report import ValidationReport, report_from_dict
from .trust import TrustStore
from .validation import validate_pdf

__all__ = ["Budget", "ValidationCancelled", "ValidatorBusy", "ValidatorPool", "close_all", "report_from_dict",
           "shared_pool"]

logger = logging.getLogger(__name__)
MiB = 1024 * 1024
_HEADER = struct.Struct(">I")
_MAX_FRAME = 256 * MiB


class ValidatorBusy(SigningLibraryError):
    """Every validator stayed busy for the whole queue budget."""


class ValidationCancelled(SigningLibraryError):
    """The caller gave up (its client went away): the validator was stopped."""


@dataclass(frozen=True)
class Budget:
    cpu_seconds: float = 10.0
    wall_seconds: float = 20.0
    memory_bytes: int = 300 * MiB
    queue_seconds: float = 10.0
    """How long a caller waits for a free validator before :class:`ValidatorBusy`."""
    start_seconds: float = 60.0
    """How long a new validator may take to import pyHanko and report ready."""
    max_tasks: int = 500
    """Files one validator checks before it is replaced (memory it keeps is not given back)."""


# --------------------------------------------------------------------------- framing


def _write_frame(stream: IO[bytes], header: dict[str, Any], *blobs: bytes) -> None:
    head = json.dumps(header).encode()
    stream.write(_HEADER.pack(len(head)) + head)
    for blob in blobs:
        stream.write(blob)
    stream.flush()


def _read_exact(fd: int, n: int, deadline: float | None = None, poll: Callable[[], bool] | None = None) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left:
        if deadline is not None:
            while True:
                timeout = min(0.2, deadline - time.monotonic())
                if timeout <= 0:
                    raise TimeoutError
                ready, _, _ = select.select([fd], [], [], timeout)
                if ready:
                    break
                if poll is not None and poll():
                    raise ValidationCancelled("the caller went away")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None = None, poll: Callable[[], bool] | None = None) -> dict[str, Any]:
    (length,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline, poll))
    if length > _MAX_FRAME:
        raise EOFError
    value = json.loads(_read_exact(fd, length, deadline, poll))
    if not isinstance(value, dict):
        raise EOFError
    return value


# --------------------------------------------------------------------------- the parent side


def _too_complex(data: bytes, detail: str) -> ValidationReport:
    return ValidationReport(sha256=hashlib.sha256(data).hexdigest(), size=len(data), revisions=0, signatures=(),
                            error="too_complex", error_detail=detail, certified_no_changes=False)


class _Validator:
    """One validator process and its pipes."""

    def __init__(self, budget: Budget) -> None:
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["MALLOC_ARENA_MAX"] = "2"  # one thread: no need for per-thread malloc arenas of 64 MB address space
        env.pop("PYTHONWARNINGS", None)
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "signing.sandbox", str(budget.memory_bytes), str(budget.cpu_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=env, close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.stdout_fd = self.proc.stdout.fileno()
        self.tasks = 0
        try:
            ready = _read_frame(self.stdout_fd, time.monotonic() + budget.start_seconds)
        except (TimeoutError, EOFError, ValueError) as exc:
            self.kill()
            raise SigningLibraryError("the validator process did not start") from exc
        if not ready.get("ready"):
            self.kill()
            raise SigningLibraryError("the validator process did not start")
        self.baseline_vm = int(ready.get("baseline_vm", 0))
        self.pyhanko_patched = ready.get("pyhanko_patched") is True

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignored
            logger.error("validator %s did not die", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class ValidatorPool:
    """``size`` validator processes started on first use; thread-safe; :meth:`close` stops them."""

    def __init__(self, size: int, budget: Budget | None = None, limits: Limits | None = None) -> None:
        if size < 1:
            raise ValueError("a validator pool needs at least one process")
        self.size = size
        self.budget = budget or Budget()
        self.limits = limits or Limits()
        self._idle: queue.LifoQueue[_Validator | None] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)  # a free slot: its process is started when first needed
        self._lock = threading.Lock()
        self._all: set[_Validator] = set()
        self._closed = False
        self.stats = {"files": 0, "killed": 0, "cancelled": 0, "started": 0}

    # -- process management

    def _start(self) -> _Validator:
        v = _Validator(self.budget)
        with self._lock:
            self._all.add(v)
            self.stats["started"] += 1
            closed = self._closed
        if closed:
            self._discard(v)
            raise SigningLibraryError("the validator pool is closed")
        return v

    def _discard(self, v: _Validator) -> None:
        v.kill()
        with self._lock:
            self._all.discard(v)

    def _release(self, v: _Validator | None) -> None:
        if v is not None and (self._closed or not v.alive() or v.tasks >= self.budget.max_tasks):
            self._discard(v)
            v = None
        self._idle.put(v)

    def _replace_in_background(self) -> None:
        """A killed validator's slot gets a new process at once, off the caller's thread."""
        def run() -> None:
            try:
                self._idle.put(self._start())
            except Exception as exc:  # noqa: BLE001 - the slot stays free; the next caller starts one
                logger.warning("validator respawn failed: %r", exc)
                self._idle.put(None)

        if self._closed:
            self._idle.put(None)
            return
        threading.Thread(target=run, name="validator-respawn", daemon=True).start()

    def warm(self) -> None:
        """Start every validator now (e.g. when a web worker boots), not at the first upload."""
        taken = []
        for _ in range(self.size):
            try:
                taken.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for v in taken:
            self._release(v if v is not None else self._start())

    def pids(self) -> list[int]:
        with self._lock:
            return [v.pid for v in self._all if v.alive()]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            procs = list(self._all)
        for v in procs:
            self._discard(v)

    # -- the work

    def validate(self, data: bytes, trust: TrustStore, *, max_signatures: int = 20, moment: datetime | None = None,
                 max_size: int = DEFAULT_MAX_SIZE, cancelled: Callable[[], bool] | None = None) -> ValidationReport:
        """:func:`signing.validate_pdf` in a validator process, within the pool's budget.

        A file that exceeds the budget gets a ``too_complex`` report. Raises :class:`ValidatorBusy` when no
        validator frees up within ``queue_seconds``, :class:`ValidationCancelled` when ``cancelled()`` turns
        true while the file is being checked (the validator is killed).
        """
        if self._closed:
            raise SigningLibraryError("the validator pool is closed")
        try:
            v = self._idle.get(timeout=self.budget.queue_seconds)
        except queue.Empty as exc:
            raise ValidatorBusy("every validator is busy") from exc
        try:
            if v is None or not v.alive():
                if v is not None:
                    self._discard(v)
                v = self._start()
        except BaseException:
            self._idle.put(None)
            raise
        roots, intermediates = trust.pem_bundles()
        header = {"pdf": len(data), "roots": len(roots), "intermediates": len(intermediates),
                  "max_signatures": max_signatures, "max_size": max_size,
                  "moment": moment.isoformat() if moment is not None else None,
                  "limits": dataclasses.asdict(self.limits)}
        deadline = time.monotonic() + self.budget.wall_seconds
        v.tasks += 1
        with self._lock:
            self.stats["files"] += 1
        try:
            _write_frame(v.stdin, header, data, roots, intermediates)
            answer = _read_frame(v.stdout_fd, deadline, cancelled)
        except ValidationCancelled:
            with self._lock:
                self.stats["cancelled"] += 1
            self._discard(v)
            self._replace_in_background()
            raise
        except TimeoutError:
            logger.warning("validator %s: no answer within %ss: killed", v.pid, self.budget.wall_seconds)
            return self._killed(v, data, f"checking the file took longer than {self.budget.wall_seconds:g} s")
        except (EOFError, OSError, ValueError):
            try:
                rc = v.proc.wait(2)
            except subprocess.TimeoutExpired:
                rc = None
            why = "it ran out of its CPU budget" if rc == -signal.SIGXCPU else f"it stopped (status {rc})"
            logger.warning("validator %s died on a file: %s", v.pid, why)
            if rc == -signal.SIGXCPU:
                detail = f"checking the file needed more than {self.budget.cpu_seconds:g} s of CPU"
            else:
                detail = "checking the file needed more resources than a check may use"
            return self._killed(v, data, detail)
        except BaseException:
            self._discard(v)
            self._replace_in_background()
            raise
        if "report" not in answer or not isinstance(answer["report"], dict):
            return self._killed(v, data, "the validator gave no report")
        if answer.get("exit"):  # it hit its memory limit: it answered and is leaving
            self._discard(v)
            self._replace_in_background()
        else:
            self._release(v)
        return report_from_dict(answer["report"])

    def _killed(self, v: _Validator, data: bytes, detail: str) -> ValidationReport:
        with self._lock:
            self.stats["killed"] += 1
        self._discard(v)
        self._replace_in_background()
        return _too_complex(data, detail)


_pools: dict[tuple[Any, ...], ValidatorPool] = {}
_pools_lock = threading.Lock()


def shared_pool(size: int, budget: Budget, limits: Limits) -> ValidatorPool:
    """One pool per process and configuration (every app of a process shares it); stopped at exit."""
    key = (size, budget, limits)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None or pool._closed:
            pool = _pools[key] = ValidatorPool(size, budget, limits)
        return pool


def close_all() -> None:
    """Stop every shared pool's validators (atexit, gunicorn's worker_exit, test teardown)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_all)


# --------------------------------------------------------------------------- the validator side


def _vm(field: str = "VmSize") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _child_main(memory_bytes: int, cpu_seconds: float) -> None:
    install_pyhanko_patches()  # this process validates outside files: the xref counters and the fast reader
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C reaches the process group: the parent decides
    stdin_fd = sys.stdin.buffer.fileno()
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write on the answer pipe
    baseline = _vm()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    if baseline:
        resource.setrlimit(resource.RLIMIT_AS, (baseline + memory_bytes, baseline + memory_bytes))
    _write_frame(out, {"ready": True, "baseline_vm": baseline, "pid": os.getpid(),
                       "pyhanko_patched": pyhanko_patched()})
    trusts: dict[bytes, TrustStore] = {}
    while True:
        try:
            header = _read_frame(stdin_fd)
            data = _read_exact(stdin_fd, int(header["pdf"]))
            roots = _read_exact(stdin_fd, int(header["roots"]))
            intermediates = _read_exact(stdin_fd, int(header["intermediates"]))
        except EOFError:
            return
        key = hashlib.sha256(roots + b"\0" + intermediates).digest()
        trust = trusts.get(key)
        if trust is None:
            trusts.clear()
            trust = trusts[key] = TrustStore.from_pem_bundles(roots, intermediates)
        used = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(used.ru_utime + used.ru_stime + cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        moment = datetime.fromisoformat(header["moment"]) if header.get("moment") else None
        leave = False
        try:
            report = validate_pdf(data, trust, max_signatures=int(header["max_signatures"]), moment=moment,
                                  max_size=int(header["max_size"]), limits=Limits(**header["limits"]))
            # pyHanko sometimes turns a failed allocation into another error: judge by the peak address space
            if baseline and _vm("VmPeak") >= baseline + memory_bytes * 0.8:
                report = _too_complex(data, "the file needs more memory than a check may use")
            answer = report.to_dict()
            leave = report.error == "too_complex" and "memory" in (report.error_detail or "")
        except MemoryError:
            report = None
            answer = _too_complex(data, "the file needs more memory than a check may use").to_dict()
            leave = True
        del data, report
        _write_frame(out, {"report": answer, "exit": leave})
        if leave:
            return


if __name__ == "__main__":
    _child_main(int(sys.argv[1]), float(sys.argv[2]))
