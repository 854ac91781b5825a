"""The citizen's shares API: create, list, revoke, activity; permissions and input rules."""
from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.support.shares import token_of


def test_create_share_returns_token_url_qr_and_stores_only_the_hash(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    r = holder.share([doc["id"]], expires_in=600, max_views=3, label="Banque Populaire")
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert set(body) >= {"id", "token", "url", "qr_svg", "expires_at"}
    assert body["url"] == "http://wallet.test/v/" + body["token"]
    assert len(body["token"]) == 22  # 128 bits, URL-safe base64
    assert body["qr_svg"].lstrip().startswith("<svg")
    assert body["status"] == "active" and body["views_left"] == 3 and body["sheet"] is False
    assert body["documents"][0]["copy_kind"] == "sealed"
    assert r.headers["Cache-Control"] == "no-store"

    from sqlalchemy import select

    from wallet import db
    from wallet.shares.models import Share, ShareItem

    with app.app_context():
        share = db.session().execute(select(Share)).scalar_one()
        assert share.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
        item = db.session().execute(select(ShareItem)).scalar_one()
        from wallet.extensions import runtime

        stored = runtime().store.get(item.copy_blob_key)
        assert b"%PDF" not in stored  # encrypted at rest
        # nowhere in the database in clear
        for table in ("shares", "share_items", "audit_events"):
            from sqlalchemy import text

            rows = db.session().execute(text(f"SELECT * FROM {table}")).all()
            assert body["token"] not in repr(rows)


def test_listing_and_revocation(holder: Any, other: Any, issue: Any) -> None:
    doc = issue()
    a = holder.share([doc["id"]]).get_json()
    b = holder.share([doc["id"]], max_views=1).get_json()
    listed = holder.client.get("/api/v1/me/shares").get_json()["shares"]
    assert [s["id"] for s in listed] == [b["id"], a["id"]]
    assert all(s["status"] == "active" and s["views_used"] == 0 for s in listed)
    assert "token" not in listed[0]

    # another citizen cannot see or revoke it
    assert other.client.get("/api/v1/me/shares").get_json()["shares"] == []
    assert other.client.delete(f"/api/v1/me/shares/{a['id']}", headers=other.headers).status_code == 404
    # no CSRF header: refused
    assert holder.client.delete(f"/api/v1/me/shares/{a['id']}").status_code == 403

    r = holder.client.delete(f"/api/v1/me/shares/{a['id']}", headers=holder.headers)
    assert r.status_code == 200 and r.get_json()["status"] == "revoked"
    assert holder.client.get(f"/api/v1/verify/{token_of(a)}").get_json()["result"] == "share_revoked"
    assert holder.client.get(f"/api/v1/verify/{token_of(b)}").get_json()["result"] == "valid"
    states = {s["id"]: s["status"] for s in holder.client.get("/api/v1/me/shares").get_json()["shares"]}
    assert states == {a["id"]: "revoked", b["id"]: "exhausted"}


@pytest.mark.parametrize("body, status", [
    ({"document_ids": []}, 400),
    ({"document_ids": "x"}, 400),
    ({"expires_in": 59}, 400),
    ({"expires_in": 30 * 86400 + 1}, 400),
    ({"expires_in": 10 ** 9}, 400),
    ({"expires_in": "600"}, 400),
    ({"max_views": 0}, 400),
    ({"label": "x" * 121}, 400),
])
def test_bad_input_is_refused(holder: Any, issue: Any, body: dict[str, Any], status: int) -> None:
    doc = issue()
    payload = {"document_ids": [doc["id"]], **body}
    r = holder.client.post("/api/v1/me/shares", json=payload, headers=holder.headers)
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"


def test_bounds_are_accepted(holder: Any, issue: Any) -> None:
    doc = issue()
    assert holder.share([doc["id"]], expires_in=60).status_code == 201
    assert holder.share([doc["id"]], expires_in=30 * 86400).status_code == 201


def test_default_lifetime_is_ten_minutes(holder: Any, issue: Any) -> None:
    import datetime as dt

    doc = issue()
    r = holder.client.post("/api/v1/me/shares", json={"document_ids": [doc["id"]]}, headers=holder.headers)
    assert r.status_code == 201
    expires = dt.datetime.fromisoformat(r.get_json()["expires_at"])
    left = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert 590 <= left <= 601
    assert r.get_json()["allow_download"] is False


def test_sharing_another_citizens_document_is_404(holder: Any, other: Any, issue: Any) -> None:
    theirs = issue(holder_id=other.national_id)
    mine = issue()
    assert holder.share([theirs["id"]]).status_code == 404
    assert holder.share([mine["id"], theirs["id"]]).status_code == 404
    assert holder.share(["0" * 32]).status_code == 404
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"] == []


def test_share_creation_needs_csrf_and_a_session(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    r = holder.client.post("/api/v1/me/shares", json={"document_ids": [doc["id"]]})
    assert r.status_code == 403 and r.get_json()["code"] == "csrf_failed"
    r = holder.client.post("/api/v1/me/shares", json={"document_ids": [doc["id"]]}, headers={"X-CSRF-Token": "no"})
    assert r.status_code == 403
    anon = app.test_client()
    assert anon.post("/api/v1/me/shares", json={"document_ids": [doc["id"]]}).status_code in (401, 403)
    assert anon.get("/api/v1/me/shares").status_code == 401
    assert anon.get("/api/v1/me/activity").status_code == 401
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"] == []


def test_a_share_made_before_the_revocation_tells_the_truth(app: Any, holder: Any, issue: Any, revoke: Any) -> None:
    # (issue 13: a revoked document can no longer be shared, tests/shares/test_share_people.py; one shared before
    # its revocation tells the verifier)
    doc = issue()
    r = holder.share([doc["id"]])
    revoke(doc["id"])
    body = app.test_client().get(f"/api/v1/verify/{token_of(r.get_json())}").get_json()
    assert body["result"] == "document_revoked"


def test_activity_lists_every_look_newest_first(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], label="Employer").get_json()
    tok = token_of(share)
    anon = app.test_client()
    anon.get(f"/api/v1/verify/{tok}", headers={"User-Agent": "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 "
                                                             "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"},
             environ_base={"REMOTE_ADDR": "203.0.113.77"})
    anon.get(f"/v/{tok}", environ_base={"REMOTE_ADDR": "2001:db8:1234:5678::1"},
             headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"})
    anon.get(f"/v/{tok}/copy.pdf")
    holder.client.delete(f"/api/v1/me/shares/{share['id']}", headers=holder.headers)
    anon.get(f"/api/v1/verify/{tok}")
    events = holder.client.get("/api/v1/me/activity").get_json()["events"]
    assert [e["channel"] for e in events] == ["json", "copy", "page", "json"]
    assert [e["result"] for e in events] == ["share_revoked", "valid", "valid", "valid"]
    assert events[-1]["ip"] == "203.0.113.0/24" and events[-1]["browser"] == "Chrome on Android"
    assert events[-2]["ip"] == "2001:db8:1234::/48" and events[-2]["browser"] == "Firefox on Linux"
    assert all(e["share_id"] == share["id"] and e["share_label"] == "Employer" for e in events)
    listed = holder.client.get("/api/v1/me/shares").get_json()["shares"][0]
    assert listed["views_used"] == 3


@pytest.mark.filterwarnings("ignore:.*CitizenDocumentOut.*:UserWarning")
def test_openapi_documents_the_share_and_verification_api(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/api/v1/me/shares"]) == {"get", "post"}
    assert "201" in paths["/api/v1/me/shares"]["post"]["responses"]
    assert "delete" in paths["/api/v1/me/shares/{share_id}"]
    assert "get" in paths["/api/v1/me/activity"]
    assert "404" in paths["/api/v1/verify/{token}"]["get"]["responses"]
    assert {"413", "415"} <= set(paths["/api/v1/verify"]["post"]["responses"])
    assert not any(p.startswith("/v/") or p in ("/share", "/verify") for p in paths)  # pages stay out


def test_qr_svg_decodes_to_the_url() -> None:
    """Draw the SVG's runs back into a bitmap and read it with a real decoder (zxing-cpp)."""
    import re as _re

    import zxingcpp
    from PIL import Image, ImageDraw

    from signing.seal import qr_code
    from wallet.present import qr_svg

    url = "http://wallet.test/v/" + "Ab3_-" * 4 + "xy"
    svg = qr_svg(qr_code(url).get_matrix())
    size = int(_re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    scale = 8
    img = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(img)
    for x, y, w in _re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        x, y, w = int(x), int(y), int(w)
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + 1) * scale - 1], fill=0)
    assert [r.text for r in zxingcpp.read_barcodes(img)] == [url]


def _share_rows(app: Any) -> int:
    from sqlalchemy import func, select

    from wallet import db
    from wallet.shares.models import Share, ShareItem

    with app.app_context():
        return int(db.session().execute(select(func.count()).select_from(Share)).scalar_one()
                   + db.session().execute(select(func.count()).select_from(ShareItem)).scalar_one())


def test_a_failed_copy_write_creates_no_share(app: Any, holder: Any, issue: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The sealed copy's blob write runs beside the database inserts: when it fails, the share fails."""
    from wallet.extensions import runtime

    doc = issue()
    with app.app_context():
        store = runtime().store

    def broken_put(key: str, data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "put", broken_put)
    r = holder.share([doc["id"]])
    assert r.status_code == 500 and r.get_json()["code"] == "internal_error"
    assert "disk full" not in r.get_data(as_text=True)
    assert _share_rows(app) == 0


def test_a_failed_insert_waits_for_the_copy_write_then_deletes_it(app: Any, holder: Any, issue: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A database failure while the copy is still being written: the write is awaited, then undone."""
    import time

    from wallet import audit
    from wallet.extensions import runtime

    doc = issue()
    with app.app_context():
        store = runtime().store
    real_put = store.put
    written: list[str] = []

    def slow_put(key: str, data: bytes) -> None:
        time.sleep(0.3)  # still writing when the insert below fails
        real_put(key, data)
        written.append(key)

    def failing_record(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "put", slow_put)
    monkeypatch.setattr(audit, "record", failing_record)
    r = holder.share([doc["id"]])
    assert r.status_code == 500 and r.get_json()["code"] == "internal_error"
    assert len(written) == 1  # the write finished ...
    assert not store.exists(written[0])  # ... before the rollback deleted it
    assert _share_rows(app) == 0
