"""Abuse: concurrent looks at a last view, floods, tokens in logs, hostile uploads."""
from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.livehttp import serve
from tests.support.people import enrol, sign_in
from tests.support.shares import token_of
from tests.support.transactions import watch_validation
from tests.support.uploads import verify_upload as _upload


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_last_view_under_concurrency_gives_exactly_one(app: Any, holder: Any, issue: Any) -> None:
    _exactly_the_views_left(app, holder, issue)


@pytest.mark.committed_db
def test_last_view_on_the_looks_own_connection_gives_exactly_one(app: Any, holder: Any, issue: Any) -> None:
    """The same race on the real look connection (``looks.look_connection``: autocommit, on SQLite the share
    read without a lock and the view taken in a short BEGIN IMMEDIATE of its own), committed data."""
    _exactly_the_views_left(app, holder, issue)


def _exactly_the_views_left(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    shares = [holder.share([doc["id"]], max_views=n).get_json() for n in (1, 3)]
    with serve(app) as base:
        for share, n in zip(shares, (1, 3)):
            url = f"{base}/api/v1/verify/{token_of(share)}"
            with cf.ThreadPoolExecutor(8) as ex:
                results = list(ex.map(lambda u: json.loads(fetch(u)[1])["result"], [url] * 8))
            assert results.count("valid") == n, results
            assert results.count("views_exhausted") == 8 - n, results
    listed = {s["id"]: s for s in holder.client.get("/api/v1/me/shares").get_json()["shares"]}
    assert listed[shares[0]["id"]]["views_used"] == 1 and listed[shares[1]["id"]]["views_used"] == 3
    assert len(holder.client.get("/api/v1/me/activity").get_json()["events"]) == 16


def test_verification_flood_gets_429(make_app: Any, issue: Any) -> None:
    app = make_app(rate_limits=True)
    anon = app.test_client()
    codes = [anon.get("/api/v1/verify/" + "A" * 22).status_code for _ in range(61)]
    assert codes[:60] == [404] * 60 and codes[60] == 429
    r = anon.get("/api/v1/verify/" + "B" * 22)
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert r.get_json()["code"] == "rate_limited" and r.headers.get("Retry-After")
    # the page shares the same budget
    assert anon.get("/v/" + "A" * 22).status_code == 429
    # another address still gets through
    assert anon.get("/api/v1/verify/" + "A" * 22, environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 404


def test_tokens_never_reach_the_logs(app: Any, holder: Any, issue: Any, caplog: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], allow_download=True).get_json()
    tok = token_of(share)
    caplog.set_level(logging.DEBUG)
    with serve(app) as base:
        for path in (f"/v/{tok}", f"/v/{tok}?lang=ar", f"/v/{tok}/copy.pdf", f"/api/v1/verify/{tok}",
                     f"/api/v1/verify/{tok}x", f"/v/{tok}/original.pdf"):
            fetch(base + path)
    text = caplog.text
    assert "[redacted]" in text  # werkzeug's access log went through the filter
    assert tok not in text
    for record in caplog.records:
        assert tok not in record.getMessage()

    # gunicorn's access log (dict args) and a plain message through the same filter
    from wallet.security import RedactTokens

    access = logging.getLogger("gunicorn.access")
    assert any(isinstance(f, RedactTokens) for f in access.filters)
    caplog.clear()
    access.info('%(h)s "%(r)s" %(s)s %(U)s%(q)s', {"h": "203.0.113.7", "r": f"GET /v/{tok}/copy.pdf HTTP/1.1",
                                                   "s": "200", "U": f"/api/v1/verify/{tok}", "q": ""})
    logging.getLogger("wallet").warning("looked at %s", f"/v/{tok}/copy.pdf")
    assert caplog.records and tok not in caplog.text


def test_creation_log_and_audit_do_not_hold_the_token(app: Any, holder: Any, issue: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    doc = issue()
    r = holder.share([doc["id"]])
    tok = r.get_json()["token"]
    assert tok not in caplog.text
    from sqlalchemy import text

    from wallet import db

    with app.app_context():
        rows = db.session().execute(text("SELECT * FROM audit_events")).all()
    assert tok not in repr(rows)


def test_upload_not_a_pdf_and_too_large(app: Any) -> None:
    anon = app.test_client()
    r = _upload(anon, b"GIF89a not a pdf at all")
    assert r.status_code == 415 and r.get_json()["code"] == "not_a_pdf"
    r = _upload(anon, b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024))
    assert r.status_code == 413 and r.get_json()["code"] == "too_large"
    r = anon.post("/api/v1/verify", data={}, content_type="multipart/form-data")
    assert r.status_code in (400, 415)


def test_hostile_uploads_get_a_report_never_a_5xx(app: Any, signed_pdf: Any, agencies: Any) -> None:
    from tests.support import pdfgen

    good = signed_pdf("MJ")
    files = {
        "garbage": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> broken",
        "truncated": pdfgen.truncated(good),
        "flipped": pdfgen.flip_byte_in_signed_content(good),
        "page_added": pdfgen.add_page_after(good),
        "appended": pdfgen.append_bytes_after(good),
        "polyglot": pdfgen.polyglot(good),
        "encrypted": pdfgen.encrypted(good),
        "bomb": pdfgen.decompression_bomb(),
        "many": pdfgen.many_signatures(60),
        "unsigned": pdfgen.base_pdf("hello"),
    }
    anon = app.test_client()
    verdicts = {}
    for name, data in files.items():
        r = _upload(anon, data)
        assert r.status_code < 500, name
        if r.status_code == 200:
            verdicts[name] = r.get_json()["verdict"]
    assert verdicts["flipped"] == "invalid_signature"
    assert verdicts["page_added"] in ("modified", "invalid_signature")
    assert verdicts["unsigned"] == "unsigned"
    assert all(v != "valid" for v in verdicts.values()), verdicts


def test_upload_of_an_original_and_of_a_revoked_document(app: Any, holder: Any, issue: Any, revoke: Any) -> None:
    doc = issue()
    original = holder.client.get(f"/api/v1/me/documents/{doc['id']}/file").data
    anon = app.test_client()
    rep = _upload(anon, original).get_json()
    assert rep["verdict"] == "valid" and rep["registry"]["match"] == "original"
    assert rep["registry"]["document_id"] == doc["id"] and rep["registry"]["status"] == "valid"
    assert "share" not in rep["registry"]
    share = holder.share([doc["id"]], allow_download=True).get_json()
    copy = anon.get(f"/v/{token_of(share)}/copy.pdf").data
    revoke(doc["id"])
    rep = _upload(anon, copy).get_json()
    assert rep["verdict"] == "revoked" and rep["registry"]["status"] == "revoked"
    assert rep["registry"]["share"]["status"] == "active"
    # a sealed copy changed after sealing is still found through its original, but reported modified
    from tests.support import pdfgen

    rep = _upload(anon, pdfgen.add_page_after(copy)).get_json()
    assert rep["registry"]["match"] == "sealed_copy_with_later_changes"
    assert rep["verdict"] in ("modified", "invalid_signature")


def test_unknown_signed_file(app: Any, signed_pdf: Any, agencies: Any) -> None:
    rep = _upload(app.test_client(), signed_pdf("MJ")).get_json()
    assert rep["verdict"] == "unknown_document" and rep["registry"] == {"known": False, "sha256": rep["sha256"]}
    assert rep["signatures"][0]["role"] == "agency" and rep["signatures"][0]["trusted"]


@pytest.mark.parametrize("who", ["holder", "other"])
def test_share_ids_are_not_reachable_across_citizens(app: Any, holder: Any, issue: Any, who: str) -> None:
    doc = issue()
    share = holder.share([doc["id"]]).get_json()
    actor = holder if who == "holder" else sign_in(app, enrol(app, "EF555555", "Someone Else"))
    r = actor.client.delete(f"/api/v1/me/shares/{share['id']}", headers=actor.headers)
    assert r.status_code == (200 if who == "holder" else 404)


def test_an_upload_holds_no_transaction_while_it_is_validated(app: Any, signed_pdf: Any, agencies: Any,
                                                              monkeypatch: Any) -> None:
    """pyHanko's work on an anonymous upload must not hold the database: on SQLite every transaction takes
    the one writer lock (BEGIN IMMEDIATE), so a stream of heavy uploads would stall every look and push."""
    from wallet.verification import uploads

    seen = watch_validation(monkeypatch, uploads)
    r = _upload(app.test_client(), signed_pdf("MJ"))
    assert r.status_code == 200 and r.get_json()["signatures"][0]["role"] == "agency"
    assert seen == [False]
