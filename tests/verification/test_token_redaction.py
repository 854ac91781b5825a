"""Share tokens never reach a log, whatever the spelling of the path that carries them.

The real thing: gunicorn with config/gunicorn.conf.py (its RedactingLogger) on a free loopback port, writing its
access and error logs to files that the test reads. The spellings are generated: every single character of the
path percent-encoded (slashes included, upper and lower-case hex), the whole path encoded once and twice,
doubled slashes, the prefix in another case, and the token in the query or the referer.
"""
from __future__ import annotations

import http.client
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from wallet.security import redact

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ("/v/{t}", "/v/{t}/copy.pdf", "/v/{t}/original.pdf", "/api/v1/verify/{t}")


def enc(c: str, upper: bool = True) -> str:
    return "".join(f"%{b:02X}" if upper else f"%{b:02x}" for b in c.encode())


def spellings(token: str) -> list[str]:
    out: list[str] = []
    for template in TEMPLATES:
        path = template.format(t=token)
        prefix_len = template.index("{t}")
        for i, c in enumerate(path):  # one character encoded, each position in turn (the prefix's in both cases)
            out.append(path[:i] + enc(c, upper=i % 2 == 0) + path[i + 1:])
        out.append("".join(enc(c) for c in path))  # all of it
        out.append("".join(enc(enc(c)) for c in path[:prefix_len]) + path[prefix_len:])  # prefix twice over
        out.append(path[:prefix_len].replace("/", "//") + path[prefix_len:])  # doubled slashes
        out.append(path[:prefix_len].replace("/", "/%2F") + path[prefix_len:])  # a doubled encoded slash
        out.append(path[:prefix_len].upper() + path[prefix_len:])  # any case
        out.append(quote(path[:prefix_len].upper(), safe="") + path[prefix_len:])
        out.append(path[:prefix_len] + "./" + path[prefix_len:])  # dot segment before the token
        out.append(path[:prefix_len] + "%3F" + path[prefix_len:])  # an encoded '?' is no terminator
        out.append(path + "?x=1")
    out.append(f"/lang/fr?next=%2Fv%2F{token}")
    out.append(f"/lang/fr?next={quote(quote('/v/' + token, safe=''), safe='')}")
    return out


def leaked(token: str, text: str) -> bool:
    """The token in ``text`` in any spelling: as is, or after any number of percent-decodings, any case."""
    seen = text
    for _ in range(5):
        if token.lower() in seen.lower():
            return True
        seen = unquote(seen)
    return False


def test_the_spellings_hold_the_token_and_the_check_sees_them() -> None:
    token = secrets.token_urlsafe(16)
    forms = spellings(token)
    assert len(forms) > 150 and len(set(forms)) == len(forms)
    assert all(leaked(token, f) for f in forms)  # the leak check would catch every one of them if logged


@pytest.mark.parametrize("token", ["q3Zr8_Xk-LmN0pQrStUvWx", "AAAAAAAAAAAAAAAAAAAAAA", "a-_b" * 6])
def test_redact_on_every_spelling(token: str) -> None:
    for form in spellings(token):
        for text in (form, f"GET {form} HTTP/1.1", f"http://wallet.test{form}", f'"{form}" 404'):
            out = redact(text)
            assert not leaked(token, out), (text, out)
            assert "[redacted]" in out
            assert "\n" not in out and "\r" not in out


def test_redact_keeps_ordinary_lines() -> None:
    for text in ("GET /wallet HTTP/1.1", "/api/v1/verify", "/api/v1/verify/", "50% done", "/static/app.css?v=3",
                 "GET /documents/a%20b HTTP/1.1", "/v/"):
        assert redact(text) == text
    assert redact("GET /v/abc/copy.pdf HTTP/1.1") == "GET /v/[redacted]/copy.pdf HTTP/1.1"
    assert redact("GET /%76/abc%0Aforged HTTP/1.1") == "GET /v/[redacted] HTTP/1.1"
    assert redact("/%" + "25" * 20 + "76/abc").startswith("[redacted")  # "v" encoded 21 times over


def test_every_app_logger_redacts(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Children of a filtered logger skip its filters; libraries log on their own: records are redacted when
    they are made."""
    token = secrets.token_urlsafe(16)
    caplog.set_level(logging.DEBUG)
    for name in ("wallet.db", "wallet.shares.anything", "sqlalchemy.engine", "pyhanko", "root"):
        logging.getLogger(name).warning("request for %s", f"/%76/{token}")
        logging.getLogger(name).warning("looked up %s", f"/api/%761/verify/{token}")
    assert len(caplog.records) == 10
    assert not leaked(token, caplog.text)
    assert all(not leaked(token, r.getMessage()) for r in caplog.records)


# ------------------------------------------------------------------------------- gunicorn, for real

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


EXTENDED_FORMAT = ('%(h)s "%(r)s" %(s)s U=%(U)s q=%(q)s f="%(f)s" ref="%({referer}i)s" raw=%({raw_uri}e)s '
                   'path=%({path_info}e)s loc=%({location}o)s')


@pytest.fixture(scope="module", params=["real-format", "every-path-atom"])
def gunicorn(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from wallet.migrate import upgrade

    instance = tmp_path_factory.mktemp("gunicorn-instance")
    upgrade(f"sqlite:///{instance / 'wallet.sqlite3'}")
    port = free_port()
    access, errors = instance / "access.log", instance / "error.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STORAGE_URL")}
    env.update(WALLET_INSTANCE=str(instance), PORT=str(port), HOST="127.0.0.1", WEB_CONCURRENCY="1",
               GUNICORN_THREADS="2", WALLET_RATE_LIMITS="off", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
           "--access-logfile", str(access), "--error-logfile", str(errors), "--log-level", "debug"]
    if request.param == "every-path-atom":
        cmd += ["--access-logformat", EXTENDED_FORMAT]
    proc = subprocess.Popen([*cmd, "wallet:create_app()"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if raw_get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start: {errors.read_text() if errors.exists() else ''}")
            time.sleep(0.2)
        # gunicorn logs a request after answering it: wait for the probe's line, so that no test counts it as its own
        read_log(access, 1)
        yield {"port": port, "access": access, "errors": errors, "format": request.param}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """The request line exactly as given (http.client does not normalise it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Location") or ""
    finally:
        conn.close()


def read_log(path: Path, min_lines: int, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if text.count("\n") >= min_lines:
            break
        time.sleep(0.2)
    return text


def test_gunicorn_access_log_never_holds_a_token(gunicorn: dict[str, Any]) -> None:
    token = secrets.token_urlsafe(16)
    port = gunicorn["port"]
    start = gunicorn["access"].read_text().count("\n") if gunicorn["access"].exists() else 0
    forms = spellings(token)
    statuses = {form: raw_get(port, form)[0] for form in forms}
    # the token in the Referer, in any spelling, on an innocent path
    referers = [f"http://127.0.0.1:{port}{form}" for form in forms[::7]]
    for ref in referers:
        raw_get(port, "/healthz", {"Referer": ref})
    routed = [form for form in forms if form.startswith("/")]
    # the app answered each path (gunicorn itself refuses, with a 400 on its error log, a target that does not
    # begin with a slash: "%2Fv/<token>")
    assert {statuses[f] for f in routed} <= {200, 302, 308, 404}, statuses
    assert {statuses[f] for f in forms if f not in routed} <= {400}
    log = read_log(gunicorn["access"], start + len(routed) + len(referers))
    lines = log.splitlines()[start:]
    assert len(lines) >= len(routed) + len(referers)
    assert sum("[redacted]" in line for line in lines) >= len(routed)  # each spelling was seen and redacted
    for line in lines:
        assert not leaked(token, line), line
    assert not leaked(token, gunicorn["errors"].read_text(errors="replace"))
    if gunicorn["format"] == "every-path-atom":
        # the 308 that merges /v//<token> names the token in Location: that atom is redacted as well
        assert any("loc=/v/[redacted]" in line for line in lines)
        assert any('ref="http://127.0.0.1' in line and "[redacted]" in line for line in lines)


def test_gunicorn_error_log_on_a_refused_request_line(gunicorn: dict[str, Any]) -> None:
    """gunicorn refuses an over-long request line and logs it on its error log (through the same redaction)."""
    token = secrets.token_urlsafe(16)
    path = f"/%76/{token}?pad=" + "x" * 5000
    status, _ = raw_get(gunicorn["port"], path)
    assert status in (400, 414)
    time.sleep(0.5)
    assert not leaked(token, gunicorn["errors"].read_text(errors="replace"))
    assert not leaked(token, gunicorn["access"].read_text(errors="replace"))


def test_no_control_characters_reach_the_access_log(gunicorn: dict[str, Any]) -> None:
    token = secrets.token_urlsafe(16)
    start = gunicorn["access"].read_text().count("\n")
    raw_get(gunicorn["port"], f"/%76/{token}%0A127.0.0.1%20%22GET%20/forged%20HTTP/1.1%22%20200")
    lines = read_log(gunicorn["access"], start + 1).splitlines()[start:]
    assert len(lines) == 1 and "[redacted]" in lines[0] and not leaked(token, lines[0])
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", lines[0])


def test_redact_a_decoded_path() -> None:
    """PATH_INFO is decoded already: a "?" or a space in it is part of the token, not its end."""
    assert redact("/v/?abc def", path=True) == "/v/[redacted]"
    assert redact("/api/v1/verify/a#b/copy.pdf", path=True) == "/api/v1/verify/[redacted]/copy.pdf"
    assert redact("/wallet?x", path=True) == "/wallet?x"
