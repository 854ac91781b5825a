"""The bombs of issue 11 (item 2) over real HTTP: refused in seconds, memory bounded, the service keeps answering.

Each bomb goes to the anonymous upload verifier and to the agency push of a live threaded server; the validator
processes' resident memory is sampled while it runs. With the structural limits relaxed, a bomb runs into the
sandbox's CPU budget instead, and while it burns its budget /healthz, a QR look and an ordinary upload answer.
"""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import pdfgen as g
from tests.support.livehttp import serve
from tests.support.shares import token_of
from tests.support.transactions import watch_validation

MiB = 1024 * 1024
BUDGET_SECONDS = 15  # the issue's budget for a refusal
ANSWER_SECONDS = 3  # what /healthz and a look may take while a bomb runs


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextmanager
def rss_sampler(app: Any) -> Iterator[dict[str, int]]:
    """Peak growth of the validators' resident memory (summed over the pool) while the block runs."""
    pool = app.extensions["wallet.runtime"].validator
    pool.warm()
    base = sum(_rss(p) for p in pool.pids())
    out = {"base": base, "peak": base}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            out["peak"] = max(out["peak"], sum(_rss(p) for p in pool.pids()))
            stop.wait(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield out
    finally:
        stop.set()
        t.join(2)
        out["growth"] = out["peak"] - out["base"]


def upload(base: str, data: bytes, timeout: float = 60) -> requests.Response:
    return requests.post(f"{base}/api/v1/verify", files={"file": ("f.pdf", data, "application/pdf")}, timeout=timeout)


def push_http(base: str, key: str, data: bytes, timeout: float = 60) -> requests.Response:
    meta = {"holder_id": "AB123456", "type": "criminal_record", "reference": f"BOMB-{uuid.uuid4().hex[:10]}",
            "issued_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    return requests.post(f"{base}/api/v1/documents", headers={"Authorization": f"Bearer {key}"},
                         files={"file": ("f.pdf", data, "application/pdf")}, data={"metadata": json.dumps(meta)},
                         timeout=timeout)


BOMBS: dict[str, Callable[[bytes], bytes]] = {
    "byterange_100000": lambda s: g.byterange_bomb(s, 100_000),
    "loop_certificates_9": lambda s: g.loop_certificates_signed(g.base_pdf("boucle"), 9),
    "revisions_3000": lambda s: g.many_revisions(s, 3000),
    "xref_entries_5M": lambda s: g.xref_entries_bomb(s, 5_000_000),
}


@pytest.fixture
def big_app(make_app: Callable[..., Any]) -> Any:
    return make_app(max_upload_bytes=20 * MiB)  # the production default: the bombs fit under it


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BOMBS))
def test_each_bomb_is_refused_quickly_with_bounded_memory(name: str, big_app: Any, agencies: Any,
                                                           signed_pdf: Callable[..., bytes]) -> None:
    data = BOMBS[name](signed_pdf("MJ"))
    with serve(big_app) as base, rss_sampler(big_app) as rss:
        t0 = time.monotonic()
        r = upload(base, data)
        up_s = time.monotonic() - t0
        t0 = time.monotonic()
        p = push_http(base, agencies["MJ"]["key"], data)
        push_s = time.monotonic() - t0
    print(f"{name}: {len(data)} bytes; upload {up_s:.2f} s, push {push_s:.2f} s, "
          f"validator RSS +{rss['growth'] // MiB} MB")
    assert r.status_code == 200, r.text
    body = r.json()
    if name == "byterange_100000":  # a signature whose ranges are not its own: invalid, never hashed
        assert body["verdict"] == "invalid_signature"
        assert body["signatures"][-1]["problems"] == ["byte_range_invalid"]
        assert p.status_code == 422 and p.json()["code"] == "signature_invalid", p.text
    else:
        assert (body["verdict"], body["error"]) == ("unreadable", "too_complex"), body
        assert body["error_detail"] and "Error" not in body["error_detail"]
        assert p.status_code == 422 and p.json()["code"] == "too_complex", p.text
    assert up_s < BUDGET_SECONDS and push_s < BUDGET_SECONDS
    assert rss["growth"] <= 600 * MiB


def test_the_page_explains_a_refused_file_in_three_languages(app: Any, signed_pdf: Callable[..., bytes]) -> None:
    data = g.many_revisions(signed_pdf("MJ"), 100)
    words = {"en": "This file was not checked", "fr": "Ce fichier n’a pas été vérifié",
             "ar": "لم يتم التحقق من هذا الملف"}
    for lang, text in words.items():
        client = app.test_client()
        page = client.get(f"/verify?lang={lang}")
        assert page.status_code == 200
        token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = client.post(f"/verify?lang={lang}", data={"csrf_token": token, "file": (__import__("io").BytesIO(data),
                                                                                     "f.pdf", "application/pdf")},
                        content_type="multipart/form-data")
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and 'data-error="too_complex"' in html and text in html, (lang, html[:2000])


@pytest.mark.slow
def test_while_a_bomb_burns_its_budget_the_service_answers(make_app: Callable[..., Any], agencies: Any,
                                                            signed_pdf: Callable[..., bytes], issue: Any,
                                                            holder: Any) -> None:
    """Limits relaxed so that the path-building bomb reaches the sandbox: it burns its CPU budget in a validator
    while /healthz, a QR look and an ordinary upload are answered; then it is refused, within the budget."""
    app = make_app(max_same_subject_certs=100, max_embedded_certs=100, validation_cpu_seconds=4,
                   validation_wall_seconds=12)
    holder_app_share = holder.share([issue()["id"]]).get_json()
    token = token_of(holder_app_share)
    bomb = g.loop_certificates_signed(g.base_pdf("boucle"), 9)
    ordinary = signed_pdf("MJ")
    with serve(app) as base:
        app.extensions["wallet.runtime"].validator.warm()
        result: dict[str, Any] = {}

        def run() -> None:
            t0 = time.monotonic()
            result["r"] = upload(base, bomb)
            result["s"] = time.monotonic() - t0

        t = threading.Thread(target=run)
        t.start()
        time.sleep(1.0)  # the bomb is in a validator now
        answers = []
        while t.is_alive() and len(answers) < 12:
            for url in (f"{base}/healthz", f"{base}/api/v1/verify/{token}"):
                t0 = time.monotonic()
                code = requests.get(url, timeout=ANSWER_SECONDS).status_code
                answers.append(("healthz" if url.endswith("healthz") else "look", code, round(time.monotonic() - t0, 2)))
            time.sleep(0.2)
        t0 = time.monotonic()
        normal = upload(base, ordinary, timeout=ANSWER_SECONDS * 3)
        normal_s = time.monotonic() - t0
        t.join(30)
    print("answers while the bomb ran:", answers, f"ordinary upload {normal_s:.2f} s; bomb {result.get('s')}")
    assert answers and all(code == 200 and s < ANSWER_SECONDS for _u, code, s in answers), answers
    assert normal.status_code == 200 and normal.json()["signatures"][0]["role"] == "agency"
    body = result["r"].json()
    assert (body["verdict"], body["error"]) == ("unreadable", "too_complex"), body
    assert result["s"] < BUDGET_SECONDS


@pytest.mark.slow
def test_work_stops_when_the_client_leaves(make_app: Callable[..., Any], agencies: Any) -> None:
    app = make_app(max_same_subject_certs=100, max_embedded_certs=100, validation_cpu_seconds=60,
                   validation_wall_seconds=60)
    pool = app.extensions["wallet.runtime"].validator
    bomb = g.loop_certificates_signed(g.base_pdf("parti"), 9)
    boundary = "b" + uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + bomb + f"\r\n--{boundary}--\r\n".encode()
    with serve(app) as base:
        pool.warm()
        before = set(pool.pids())
        host, port = base.rsplit("/", 1)[-1].split(":")
        sock = socket.create_connection((host, int(port)))
        sock.sendall(f"POST /api/v1/verify HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
                     f"boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        deadline = time.monotonic() + 10
        while pool.stats["files"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        busy = before - {p for p in pool.pids()} or before
        sock.close()  # the client leaves
        t0 = time.monotonic()
        while pool.stats["cancelled"] == 0 and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        stopped = time.monotonic() - t0
    assert pool.stats["cancelled"] == 1, pool.stats
    assert stopped < 3
    gone = [p for p in before if not Path(f"/proc/{p}").exists()]
    assert gone and busy, (before, pool.pids())


def test_a_push_holds_no_transaction_while_it_is_validated(app: Any, signed_pdf: Any, agencies: Any, push: Any,
                                                           monkeypatch: Any) -> None:
    """The push twin of test_abuse's upload test: on SQLite every transaction holds the one writer lock (BEGIN
    IMMEDIATE); a push that kept it while pyHanko worked froze logins and looks ("database is locked")."""
    from wallet.documents import service

    seen = watch_validation(monkeypatch, service)
    pdf = signed_pdf("MJ")
    r = push(pdf, reference="LOCK-1")
    assert r.status_code == 201, r.get_data(as_text=True)
    assert push(pdf, reference="LOCK-1").status_code == 200  # the replay is answered before any validation
    assert seen == [False]
