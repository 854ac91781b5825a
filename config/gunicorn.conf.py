"""gunicorn settings: threads for I/O-bound requests, access log with share tokens redacted."""
import gc
import os

from gunicorn.glogging import Logger

from wallet.security import redact

_default_host = "0.0.0.0" if os.environ.get("DATABASE_URL") else "127.0.0.1"  # noqa: S104 - production sits behind its proxy
bind = f"{os.environ.get('HOST', _default_host)}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 4094


class RedactingLogger(Logger):
    """Share tokens never reach the access log (request line, URL and referer)."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f", "{raw_uri}e"):
            if key in atoms and isinstance(atoms[key], str):
                atoms[key] = redact(atoms[key])
        return atoms


logger_class = RedactingLogger
control_socket_disable = True  # several servers (make run, bench) may run side by side


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """The app is loaded: tune the cyclic garbage collector for the worker's life.

    - ``gc.freeze()``: the ~160,000 objects the app allocated at start-up (modules, SQLAlchemy and pyHanko
      tables, catalogues) are long-lived; full collections stop walking them.
    - A young-generation threshold of 5,000 allocations instead of 700: a sealed copy allocates hundreds of
      thousands of short-lived ASN.1 and PDF objects, most freed by reference counting before any collection.
    Measured on 200 share creations: GC time 0.92 → 0.24 ms per share (freeze alone: 0.50 ms).
    """
    gc.freeze()
    gc.set_threshold(5000, 10, 10)
    _warm_validators(worker)


def _warm_validators(worker):  # type: ignore[no-untyped-def]
    """Start the worker's validator processes now (signing/sandbox.py), not at the first upload or push."""
    app = getattr(worker, "wsgi", None)
    rt = getattr(app, "extensions", {}).get("wallet.runtime") if app is not None else None
    if rt is not None:
        try:
            rt.validator.warm()
        except Exception as exc:  # noqa: BLE001 - a validator that cannot start now is started at first use
            worker.log.warning("validator pool not started: %s", exc.__class__.__name__)


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    """A stopping worker stops its validator processes (atexit does too; this also covers gunicorn's os._exit)."""
    from signing.sandbox import close_all

    close_all()
