"""A real webhook receiver: http.server in a thread on 127.0.0.1 (a free port), listed in WEBHOOK_ALLOWED_HOSTS.

It answers from a script of (status, headers, body) and keeps every request's headers and exact body bytes."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from config.settings import Settings
from wallet import jobs


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    host: str  # "127.0.0.1:<port>", as listed
    url: str
    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)  # then 200
    requests: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering

    def answer(self, *statuses: int | tuple[int, dict[str, str], bytes]) -> None:
        self.answers.extend(s if isinstance(s, tuple) else (s, {}, b"") for s in statuses)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            rec = state["r"]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if rec.delay:
                time.sleep(rec.delay)
            status, headers, out = rec.answers.pop(0) if rec.answers else (200, {}, b"ok")
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender stopped reading (its cap) or timed out

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host = f"127.0.0.1:{server.server_port}"
    state["r"] = Receiver(host, f"http://{host}/hooks/wallet?src=test")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture
def settings(settings: Settings, receiver: Receiver) -> Settings:
    """Every app of these tests lists the receiver (and a public-looking https host for refusal tests)."""
    return settings.with_(webhook_allowed_hosts=(receiver.host, "hooks.example.org"))


@pytest.fixture(autouse=True)
def _no_stray_timers(request: pytest.FixtureRequest) -> Iterator[None]:
    """A retry's timer (the eager backend schedules TryLater on the local pool) never outlives its test."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        jobs.drain(app)
