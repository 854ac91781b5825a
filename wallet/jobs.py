"""Background work: batch items, webhook and push deliveries. The same task functions run three ways.

- ``celery`` (production, ``Procfile`` ``worker:``): Celery workers on Redis (``CELERY_BROKER_URL`` or
  ``REDIS_URL``), acks late, a message of a worker that died is delivered again (``task_reject_on_worker_lost``
  and the Redis transport's visibility timeout), retries with exponential back-off.
- ``thread`` (the embedded default of ``make run``: nothing more to install): a small pool of threads in the web
  process, retries on timers. Jobs still queued when the process stops are lost: each kind of job keeps its state
  in the database, so ``flask --app wallet jobs sweep`` (batch items, webhook deliveries) hands them over again.
- ``eager`` (the tests' default): run in this process right after the commit, in an app context of their own.

A task is a function of JSON-able positional arguments, registered with :func:`task`. It runs in an app context
with a fresh database session (``db.session()``), commits its own work (``db.transaction()``) and raises
:class:`TryLater` for a transient fault. :func:`enqueue` hands a job over only once the caller's unit of work has
committed: a worker never looks for rows that are not there yet, and a rolled-back request sends nothing.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, has_app_context

from wallet import db
from wallet.errors import is_transient

log = logging.getLogger(__name__)

BACKENDS = ("celery", "thread", "eager")


class TryLater(Exception):  # noqa: N818 - a request to the runner, not an error of the caller's
    """Raised by a task for a transient fault (a receiver down, a database restart): run it again after the
    task's back-off, or after ``after`` seconds (an HTTP Retry-After)."""

    def __init__(self, why: str, after: float | None = None) -> None:
        super().__init__(why)
        self.after = after


@dataclass(frozen=True)
class Job:
    name: str
    fn: Callable[..., None]
    max_retries: int  # attempts after the first; then the task's ``on_give_up`` (if any) is called
    backoff: float  # seconds before the first retry, doubled at each one
    backoff_max: float
    on_give_up: Callable[..., None] | None = None

    def delay(self, retries: int) -> float:
        """Seconds before retry number ``retries`` (0-based): backoff, 2×, 4×… capped at backoff_max."""
        return float(min(self.backoff_max, self.backoff * (2 ** retries)))


REGISTRY: dict[str, Job] = {}


def task(name: str, *, max_retries: int = 8, backoff: float = 2.0, backoff_max: float = 600.0,
         on_give_up: Callable[..., None] | None = None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn`` as the job ``name`` (a stable name: it travels in the broker's messages)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        if name in REGISTRY and REGISTRY[name].fn is not fn:
            raise ValueError(f"job {name} is registered twice")
        REGISTRY[name] = Job(name, fn, max_retries, backoff, backoff_max, on_give_up)
        return fn

    return register


def backend(app: Flask | None = None) -> str:
    app = app or current_app
    return str(app.config["WALLET_SETTINGS"].jobs_backend)


def enqueue(name: str, *args: Any, countdown: float | None = None) -> None:
    """Run job ``name`` with ``args`` once the current unit of work commits (at once outside one)."""
    if name not in REGISTRY:
        raise KeyError(f"no job named {name}")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    request_id = g.get("request_id") if has_app_context() else None
    if "db_session" in g:
        db.after_commit(lambda: dispatch(app, name, args, countdown, request_id))
    else:
        dispatch(app, name, args, countdown, request_id)


def dispatch(app: Flask, name: str, args: tuple[Any, ...], countdown: float | None = None,
             request_id: str | None = None, retries: int = 0) -> None:
    kind = backend(app)
    if kind == "celery":
        celery_app(app).send_task(name, args=list(args), countdown=countdown,
                                  headers={"wallet_request_id": request_id} if request_id else None)
    elif kind == "eager" and not countdown:
        _run_local(app, name, args, request_id, retries)
    else:
        _local_pool(app).schedule(lambda: _run_local(app, name, args, request_id, retries), countdown or 0.0)


def run(app: Flask, name: str, args: tuple[Any, ...] | list[Any], request_id: str | None = None) -> None:
    """Run one attempt of a job in an app context of its own (every backend comes here). Raises TryLater."""
    job = REGISTRY[name]
    with app.app_context():
        if request_id:
            g.request_id = request_id
        try:
            job.fn(*args)
        except TryLater:
            raise
        except Exception as exc:
            # a backing service down (the database restarting, the blob store unreachable): the job is not at
            # fault; it runs again after its back-off, as a request would answer 503 + Retry-After
            if is_transient(exc):
                raise TryLater(f"{type(exc).__name__}: {exc}") from exc
            raise


def give_up(app: Flask, name: str, args: tuple[Any, ...] | list[Any], request_id: str | None, why: str) -> None:
    job = REGISTRY[name]
    log.warning("job %s%r gave up after %d retries: %s", name, tuple(args), job.max_retries, why)
    if job.on_give_up is not None:
        with app.app_context():
            if request_id:
                g.request_id = request_id
            job.on_give_up(*args)


def _run_local(app: Flask, name: str, args: tuple[Any, ...], request_id: str | None, retries: int) -> None:
    job = REGISTRY[name]
    try:
        run(app, name, args, request_id)
    except TryLater as exc:
        if retries >= job.max_retries:
            give_up(app, name, args, request_id, str(exc))
            return
        delay = exc.after if exc.after is not None else job.delay(retries)
        log.warning("job %s will run again in %.0f s: %s", name, delay, exc)
        _local_pool(app).schedule(lambda: _run_local(app, name, args, request_id, retries + 1), delay)
    except Exception:
        log.exception("job %s%r failed", name, args)


class LocalPool:
    """The ``thread`` backend: a few threads of this process, and timers for countdowns and retries."""

    def __init__(self, threads: int) -> None:
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wallet-job")
        self.timers: set[threading.Timer] = set()
        self.lock = threading.Lock()

    def schedule(self, call: Callable[[], None], after: float) -> None:
        if after <= 0:
            self.executor.submit(call)
            return

        def fire() -> None:
            with self.lock:
                self.timers.discard(timer)
            self.executor.submit(call)

        timer = threading.Timer(after, fire)
        timer.daemon = True
        with self.lock:
            self.timers.add(timer)
        timer.start()

    def shutdown(self) -> None:
        with self.lock:
            for timer in self.timers:
                timer.cancel()
            self.timers.clear()
        self.executor.shutdown(wait=True, cancel_futures=False)


def _local_pool(app: Flask) -> LocalPool:
    pool = app.extensions.get("wallet.jobs.pool")
    if pool is None:
        with _POOL_LOCK:
            pool = app.extensions.get("wallet.jobs.pool")
            if pool is None:
                pool = LocalPool(app.config["WALLET_SETTINGS"].jobs_threads)
                app.extensions["wallet.jobs.pool"] = pool
    return pool


_POOL_LOCK = threading.Lock()


def drain(app: Flask) -> None:
    """Wait for the local pool's queued jobs (tests, CLI commands) and stop it; timers not yet fired are dropped."""
    pool = app.extensions.pop("wallet.jobs.pool", None)
    if pool is not None:
        pool.shutdown()


def celery_app(app: Flask) -> Any:
    """The Celery application of this Flask app (created once), its tasks being the registry's jobs."""
    existing = app.extensions.get("wallet.celery")
    if existing is not None:
        return existing
    from celery import Celery  # noqa: PLC0415 - imported by the celery backend only (not by every web process)

    settings = app.config["WALLET_SETTINGS"]
    if not settings.broker_url:
        raise RuntimeError("JOBS_BACKEND=celery needs CELERY_BROKER_URL or REDIS_URL")
    capp = Celery("wallet", broker=settings.broker_url, set_as_current=False)
    capp.conf.update(
        task_acks_late=True,  # a job is acknowledged once done: a worker killed mid-job leaves it to another
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.jobs_queue,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # a message taken by a worker that vanished is delivered again after this many seconds (Redis transport)
        # (the sweep for such messages runs every unacked_restore_interval × throttle seconds: 100 s by default)
        broker_transport_options={"visibility_timeout": settings.jobs_visibility_seconds,
                                  "unacked_restore_interval": max(1, min(10, settings.jobs_visibility_seconds // 5)),
                                  "unacked_restore_throttle": 1},
        worker_hijack_root_logger=False,
        task_serializer="json", accept_content=["json"],
    )
    for job in REGISTRY.values():
        _celery_task(capp, app, job)
    app.extensions["wallet.celery"] = capp
    return capp


def _celery_task(capp: Any, app: Flask, job: Job) -> None:
    @capp.task(name=job.name, bind=True, max_retries=job.max_retries, acks_late=True)
    def _task(self: Any, *args: Any) -> None:
        request_id = (self.request.headers or {}).get("wallet_request_id") if self.request.headers else None
        request_id = request_id or getattr(self.request, "wallet_request_id", None)
        try:
            run(app, job.name, args, request_id)
        except TryLater as exc:
            if self.request.retries >= job.max_retries:
                give_up(app, job.name, args, request_id, str(exc))
                return
            delay = exc.after if exc.after is not None else job.delay(self.request.retries)
            raise self.retry(countdown=delay, exc=exc) from exc
