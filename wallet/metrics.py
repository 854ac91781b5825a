"""Prometheus metrics (prometheus_client): one module defines every metric, so any part of the service (views, the
validator, batch, webhook and Web Push jobs) increments the same objects.

Under gunicorn and Celery the metrics are kept in **multiprocess mode**: set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty folder shared by every process of the machine (``make cluster`` does) before the processes start; each
process writes its own files there and :func:`registry` sums them. gunicorn's ``child_exit`` hook calls
:func:`process_dead`. The metrics are served by their own small process bound to loopback
(``python -m wallet.metrics_server --port P``), never on the public port: the numbers tell who uses what and when.

Names (the labels' values are closed sets: no path, token, reference or identity ever becomes a label):

- ``wallet_http_requests_total{method, route, status}`` and ``wallet_http_request_duration_seconds{method, route}``:
  ``route`` is the URL rule (``/api/v1/verify/<anypath:token>``), ``<unmatched>`` for a 404 of the router.
- ``wallet_validation_duration_seconds{outcome}``: a PDF from outside checked in the validator pool
  (``ok`` | ``busy`` | ``error``).
- ``wallet_document_push_duration_seconds{outcome}``: an agency push (one document, batch items included).
- ``wallet_webhook_deliveries_total{outcome}``: one attempt to POST an event to an agency
  (``delivered`` | ``retry`` | ``failed`` | ``refused``).
- ``wallet_push_deliveries_total{outcome}``: one Web Push message (``sent`` | ``retry`` | ``gone`` | ``failed``).
- ``wallet_queue_depth{queue}``: messages waiting in the broker's queue (a Redis list), read at each scrape.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

F = TypeVar("F", bound=Callable[..., Any])

# request latencies: a look at a share is ~5-50 ms, a push or an upload up to seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter("wallet_http_requests_total", "HTTP requests answered, by URL rule and status",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("wallet_http_request_duration_seconds", "Time to answer an HTTP request, by URL rule",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
VALIDATION_SECONDS = Histogram("wallet_validation_duration_seconds",
                               "Time to check a PDF from outside in the validator pool", ["outcome"],
                               buckets=LATENCY_BUCKETS)
PUSH_SECONDS = Histogram("wallet_document_push_duration_seconds",
                         "Time to validate, seal and store one pushed document", ["outcome"], buckets=LATENCY_BUCKETS)
WEBHOOK_DELIVERIES = Counter("wallet_webhook_deliveries_total", "Webhook delivery attempts to agencies, by outcome",
                             ["outcome"])
PUSH_DELIVERIES = Counter("wallet_push_deliveries_total", "Web Push messages to citizens' browsers, by outcome",
                          ["outcome"])

UNMATCHED = "<unmatched>"


def route_of(req: Any) -> str:
    """The URL rule that matched (never the raw path: a share token must not become a label)."""
    rule = getattr(req, "url_rule", None)
    return rule.rule if rule is not None else UNMATCHED


@contextmanager
def timed(histogram: Histogram, error_outcome: str = "error", ok_outcome: str = "ok") -> Iterator[dict[str, str]]:
    """Observe the block's duration in ``histogram`` under ``outcome``: ``ok`` when it returns, ``error`` when
    it raises; the block may set ``outcome["outcome"]`` itself (e.g. ``busy``)."""
    outcome = {"outcome": ok_outcome}
    start = time.perf_counter()
    try:
        yield outcome
    except BaseException:
        if outcome["outcome"] == ok_outcome:
            outcome["outcome"] = error_outcome
        raise
    finally:
        histogram.labels(outcome["outcome"]).observe(time.perf_counter() - start)


def timed_call(histogram: Histogram) -> Callable[[F], F]:
    """Decorator form of :func:`timed`."""

    def deco(fn: F) -> F:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with timed(histogram):
                return fn(*args, **kwargs)

        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper  # type: ignore[return-value]

    return deco


def init_app(app: Flask) -> None:
    """Count and time every request by its URL rule."""

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(resp: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            route = route_of(request)
            HTTP_REQUESTS.labels(request.method, route, str(resp.status_code)).inc()
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return resp


# ---------------------------------------------------------------------------- the scrape side

def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_dead(pid: int) -> None:
    """gunicorn's ``child_exit``: a dead worker's live gauges are dropped (its counters stay counted)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


class QueueDepth:
    """``wallet_queue_depth{queue}``: the Redis list of the Celery queue (kombu keeps one list per queue and
    priority step: ``NAME`` and ``NAME\\x06\\x16N``), read when scraped. Nothing when there is no broker."""

    def __init__(self, broker_url: str, queue: str) -> None:
        self.broker_url, self.queue = broker_url, queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("wallet_queue_depth", "Jobs waiting in the broker's queue", labels=["queue"])
        depth = self.depth()
        if depth is not None:
            family.add_metric([self.queue], depth)
        yield family

    def depth(self) -> int | None:
        if not self.broker_url.startswith(("redis://", "rediss://", "unix://")):
            return None
        import redis  # noqa: PLC0415 - a scrape-side dependency only

        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            names = [self.queue, *(f"{self.queue}\x06\x16{n}" for n in range(1, 10))]
            with client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.llen(name)
                return int(sum(pipe.execute()))
        except redis.RedisError:
            return None
        finally:
            client.close()


def registry(broker_url: str = "", queue: str = "wallet") -> CollectorRegistry:
    """What a scrape sees: every process's metrics (multiprocess mode) or this process's, and the queue depth."""
    reg = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(reg)
    else:
        for metric in (HTTP_REQUESTS, HTTP_LATENCY, VALIDATION_SECONDS, PUSH_SECONDS, WEBHOOK_DELIVERIES,
                       PUSH_DELIVERIES):
            reg.register(metric)
    if broker_url:
        reg.register(QueueDepth(broker_url, queue))
    return reg


def wsgi_app(broker_url: str = "", queue: str = "wallet") -> Callable[..., Any]:
    """A WSGI app answering ``GET /metrics`` in the text format (and 404 for anything else)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        body = generate_latest(registry(broker_url, queue))
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m wallet.metrics_server --port P [--host 127.0.0.1]``: serve the metrics of every process sharing
    ``PROMETHEUS_MULTIPROC_DIR``, with the depth of ``JOBS_QUEUE`` on ``CELERY_BROKER_URL`` / ``REDIS_URL``."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m wallet.metrics_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    broker = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or ""
    queue = os.environ.get("JOBS_QUEUE") or "wallet"

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return None

    with make_server(args.host, args.port, wsgi_app(broker, queue), handler_class=Quiet) as server:
        server.serve_forever()


