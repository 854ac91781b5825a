"""Log format: text (the default) or one JSON object a line (``LOG_FORMAT=json``, what ``make cluster`` and a
log shipper want): ``{"time", "level", "logger", "message", "request_id"}`` (+ ``exception`` when there is one).

The request id is the one of the request being answered (``g.request_id``, from ``X-Request-ID`` or made up,
wallet/security.py); a background job runs with the id of the request that enqueued it (wallet/jobs.py passes it
in the broker message's headers and sets ``g.request_id`` in the job's app context), so one id follows a push
from the agency's request to its webhook delivery. Messages are redacted where records are made
(wallet/security.py install_log_redaction): no share token reaches a line in either format.

With ``LOG_FORMAT=json`` each request also leaves one ``wallet.access`` line (method, URL rule, status, time),
replacing gunicorn's access log (config/gunicorn.conf.py turns it off).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time

from flask import Flask, Response, g, has_app_context, request

from wallet.metrics import route_of

_MARK = "_wallet_json"
access_log = logging.getLogger("wallet.access")


def current_request_id() -> str | None:
    if has_app_context():
        rid = g.get("request_id")
        return str(rid) if rid else None
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside the message are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for key in ("method", "route", "status", "duration_ms"):
            if hasattr(record, key):
                body[key] = getattr(record, key)
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)


def install_json_logging(level: int = logging.INFO) -> None:
    """The root logger writes JSON lines to stderr (idempotent: one such handler, whoever calls first)."""
    logging.captureWarnings(True)  # a library's warnings become JSON lines too (logger "py.warnings")
    root = logging.getLogger()
    if any(getattr(h, _MARK, False) or isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)


def init_app(app: Flask, log_format: str) -> None:
    if log_format != "json":
        return
    install_json_logging()

    @app.before_request
    def _started() -> None:
        g.access_started = time.perf_counter()

    @app.after_request
    def _access(resp: Response) -> Response:
        started = g.pop("access_started", None)
        ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        route = route_of(request)
        access_log.info("%s %s %s", request.method, route, resp.status_code,
                        extra={"method": request.method, "route": route, "status": resp.status_code,
                               "duration_ms": ms})
        return resp
