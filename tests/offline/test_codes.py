"""Numeric codes for counter shares: 12 digits with a Luhn check digit, stored as a keyed hash, the same counted
look as the link; mistyped codes never reach the database; guessing is rate-limited per client and overall."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from wallet import db
from wallet.shares import codes
from wallet.shares.models import Share
from wallet.verification import looks


def mistype(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def test_luhn() -> None:
    assert codes.luhn_digit("7992739871") == "3"  # the textbook example
    assert codes.well_formed("000000000000") and not codes.well_formed("000000000001")
    assert not codes.well_formed("00000000000") and not codes.well_formed("٠٠٠٠٠٠٠٠٠٠٠٠")  # Arabic-Indic digits


def test_a_counter_share_has_a_code_that_verifies_and_counts_a_view(app: Any, holder: Any,
                                                                    issue: Callable[..., Any]) -> None:
    body = holder.share([issue()["id"]], expires_in=600, max_views=2).get_json()
    code = body["code"]
    assert re.fullmatch(r"\d{12}", code) and codes.well_formed(code)
    with app.app_context():
        stored = db.session().execute(select(Share.code_hash).where(Share.id == body["id"])).scalar_one()
        assert stored == codes.code_hash(app.extensions["wallet.runtime"].settings.secret_key, code)
        rows = [repr(db.session().execute(text(f"SELECT * FROM {t}")).all()) for t in ("shares", "audit_events")]
        assert not any(code in r for r in rows)  # only its keyed hash
    anon = app.test_client()
    by_code = anon.get(f"/api/v1/verify/code/{code}")
    assert by_code.status_code == 200 and by_code.get_json()["result"] == "valid"
    by_token = anon.get(f"/api/v1/verify/{body['token']}").get_json()
    assert set(by_code.get_json()) == set(by_token)
    # the same share; each look counted one view
    assert by_code.get_json()["share"]["views_left"] == 1 and by_token["share"]["views_left"] == 0
    assert by_code.get_json()["share"]["expires_at"] == by_token["share"]["expires_at"]
    # the copy too, as the token's look gives it: under /verify/code/, by the look's grant (the code knows no token)
    link = by_code.get_json()["documents"][0]["download_url"]
    assert link.startswith("http://wallet.test/verify/code/copy.pdf?item=0&g=") and body["token"] not in link
    copy = anon.get(link.removeprefix("http://wallet.test"))
    assert copy.status_code == 200 and copy.data.startswith(b"%PDF") and copy.mimetype == "application/pdf"
    assert anon.get(f"/api/v1/verify/{body['token']}").get_json()["result"] == "views_exhausted"  # not counted
    assert anon.get(f"/api/v1/verify/code/{code}").get_json()["result"] == "views_exhausted"
    assert holder.client.delete(f"/api/v1/me/shares/{body['id']}", headers=holder.headers).status_code == 200
    assert anon.get(f"/api/v1/verify/code/{code}").get_json()["result"] == "share_revoked"


def test_a_mistyped_code_is_unknown_without_touching_the_database(app: Any, holder: Any, issue: Callable[..., Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    code = holder.share([issue()["id"]], expires_in=600).get_json()["code"]

    def forbidden(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the database was asked")

    monkeypatch.setattr(looks, "token_hash_of_code", forbidden)
    monkeypatch.setattr(looks, "look_token", forbidden)
    monkeypatch.setattr(looks, "look_connection", forbidden)
    for bad in (mistype(code), code[:11], code + "0", "abcdefghijkl"):
        r = app.test_client().get(f"/api/v1/verify/code/{bad}")
        assert r.status_code == 404 and r.get_json() == {"result": "unknown", "documents": [], "share": None}


def test_a_well_formed_code_nobody_has_is_unknown(app: Any) -> None:
    body = "12345678901"
    r = app.test_client().get(f"/api/v1/verify/code/{body}{codes.luhn_digit(body)}")
    assert r.status_code == 404 and r.get_json()["result"] == "unknown"


@pytest.mark.parametrize("seconds", [1801, 7 * 86400])
def test_longer_shares_get_no_code(app: Any, holder: Any, issue: Callable[..., Any], seconds: int) -> None:
    body = holder.share([issue()["id"]], expires_in=seconds).get_json()
    assert body["code"] is None
    assert holder.share([issue()["id"]], expires_in=1800).get_json()["code"]


def test_guessing_is_rate_limited_per_client_and_overall(make_app: Any) -> None:
    app = make_app(rate_limits=True)
    anon = app.test_client()
    body = "12345678901"
    url = f"/api/v1/verify/code/{body}{codes.luhn_digit(body)}"
    got = [anon.get(url).status_code for _ in range(11)]
    assert got[:10] == [404] * 10 and got[10] == 429
    assert anon.get(url, environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 404  # another client
    # every client together: 300 a minute
    got = [anon.get(url, environ_base={"REMOTE_ADDR": f"203.0.113.{i % 250}"}).status_code for i in range(300)]
    assert got.count(429) >= 1 and got[-1] == 429


def test_the_verify_page_checks_a_code_in_three_languages(app: Any, holder: Any, issue: Callable[..., Any]) -> None:
    code = holder.share([issue()["id"]], expires_in=600).get_json()["code"]
    anon = app.test_client()
    for lang, label in (("en", "Share code"), ("fr", "Code de partage"), ("ar", "رمز المشاركة")):
        page = anon.get(f"/verify?lang={lang}").get_data(as_text=True)
        assert label in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    r = anon.post("/verify/code?lang=en", data={"csrf_token": token.group(1), "code": f"{code[:4]} {code[4:8]} {code[8:]}"})
    assert r.status_code == 200 and 'data-result="valid"' in r.get_data(as_text=True)
    # the same page images and download links as the link's page, by the look's grant
    html = r.get_data(as_text=True).replace("&amp;", "&")
    images = re.findall(r'<img src="(/verify/code/pages/0/\d+\.png\?g=[^"&]+&lang=en)"', html)
    download = re.search(r'href="(/verify/code/copy\.pdf\?item=0&g=[^"]+)" download', html)
    assert images and download, html
    for url in images:
        png = anon.get(url)
        assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert anon.get(download.group(1)).data.startswith(b"%PDF")
    grant = download.group(1).split("&g=")[1]
    # no grant, a forged one, another share's look's grant, a page out of range: 404, nothing served
    other = holder.share([issue()["id"]], expires_in=600).get_json()
    other_grant = re.search(r"&g=([^\"&]+)", anon.get(f"/v/{other['token']}").get_data(as_text=True).replace(
        "&amp;", "&")).group(1)
    for bad in ("/verify/code/copy.pdf?item=0", "/verify/code/pages/0/1.png", f"/verify/code/copy.pdf?item=0&g={grant}x",
                f"/verify/code/pages/9/1.png?g={grant}", f"/verify/code/copy.pdf?item=1&g={grant}",
                f"/verify/code/original.pdf?item=0&g={grant}"):
        assert anon.get(bad).status_code == 404, bad
    assert anon.get(f"/verify/code/copy.pdf?item=0&g={other_grant}").data.startswith(b"%PDF")  # its own share's
    # the holder withdraws the share: the grant serves nothing more
    assert holder.client.delete(f"/api/v1/me/shares/{other['id']}", headers=holder.headers).status_code == 200
    assert anon.get(f"/verify/code/copy.pdf?item=0&g={other_grant}").status_code == 404
    assert anon.get(images[0]).status_code == 200
    wrong = anon.post("/verify/code?lang=en", data={"csrf_token": token.group(1), "code": mistype(code)})
    assert wrong.status_code == 404
    assert anon.post("/verify/code", data={"code": code}).status_code == 403  # no form token


def test_a_code_in_a_path_is_redacted_from_logs() -> None:
    from wallet.security import redact

    assert "123456789012" not in redact("/api/v1/verify/code/123456789012", path=True)
    assert "123456789012" not in redact('"GET /api/v1/verify/code/123456789012 HTTP/1.1" 404')
