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
    assert "download_url" not in by_code.get_json()["documents"][0]  # the links carry the token: not known here
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
    wrong = anon.post("/verify/code?lang=en", data={"csrf_token": token.group(1), "code": mistype(code)})
    assert wrong.status_code == 404
    assert anon.post("/verify/code", data={"code": code}).status_code == 403  # no form token


def test_a_code_in_a_path_is_redacted_from_logs() -> None:
    from wallet.security import redact

    assert "123456789012" not in redact("/api/v1/verify/code/123456789012", path=True)
    assert "123456789012" not in redact('"GET /api/v1/verify/code/123456789012 HTTP/1.1" 404')
