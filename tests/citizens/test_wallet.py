"""Enrolment with invite codes, the citizen's documents, previews, and the HTML pages."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
import pytest

from tests.support.enrolment import enrol_api, invite
from tests.support.people import Person, api


def test_invite_is_stored_hashed_and_works_once(app: Any, client: Any) -> None:
    from wallet import db
    from wallet.citizens.models import Invite

    code = invite(app, "ef112233")
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    with app.app_context():
        row = db.session().query(Invite).one()
        assert row.national_id == "EF112233" and code not in row.code_hash
        assert dt.timedelta(hours=71) < row.expires_at - row.created_at <= dt.timedelta(hours=72)
    r, secret = enrol_api(client, "EF112233", code.lower().replace("-", ""))
    assert r.status_code == 200 and r.json["citizen"]["national_id"] == "EF112233"
    assert client.get("/api/v1/me/documents").status_code == 200
    # used: refused
    again = app.test_client().post("/api/v1/enrol/start", json={"national_id": "EF112233", "code": code})
    assert again.status_code == 400 and again.json["code"] == "invalid_invite"
    # and the new account signs in with its password and a later code
    other = app.test_client().post("/api/v1/auth/login", json={
        "national_id": "EF112233", "password": "a long enough passphrase",
        "otp": pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))})
    assert other.status_code == 200


def test_expired_or_foreign_invite_refused(app: Any, client: Any) -> None:
    import time_machine

    code = invite(app, "GH445566")
    assert client.post("/api/v1/enrol/start", json={"national_id": "GH445567", "code": code}).status_code == 400
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=72, minutes=1)):
        r = client.post("/api/v1/enrol/start", json={"national_id": "GH445566", "code": code})
    assert r.status_code == 400 and r.json["code"] == "invalid_invite"


def test_invite_used_between_steps_is_refused(app: Any) -> None:
    code = invite(app, "JK778899")
    first, second = app.test_client(), app.test_client()
    t1 = first.post("/api/v1/enrol/start", json={"national_id": "JK778899", "code": code}).json["ticket"]
    t2 = second.post("/api/v1/enrol/start", json={"national_id": "JK778899", "code": code}).json["ticket"]
    p1 = first.post("/api/v1/enrol/password", json={"ticket": t1, "password": "first long passphrase"}).json
    p2 = second.post("/api/v1/enrol/password", json={"ticket": t2, "password": "second long passphrase"}).json
    ok = first.post("/api/v1/enrol/confirm", json={"ticket": p1["ticket"], "otp": pyotp.TOTP(p1["totp_secret"]).now()})
    late = second.post("/api/v1/enrol/confirm", json={"ticket": p2["ticket"],
                                                      "otp": pyotp.TOTP(p2["totp_secret"]).now()})
    assert ok.status_code == 200 and late.status_code == 400 and late.json["code"] == "invalid_invite"


@pytest.mark.parametrize("password,reason", [("short", "too_short"), ("1234567890", "too_common"),
                                             ("aaaaaaaaaaaa", "too_common"), ("my id KL000111!", "contains_id")])
def test_weak_passwords_refused(app: Any, client: Any, password: str, reason: str) -> None:
    code = invite(app, "KL000111")
    t = client.post("/api/v1/enrol/start", json={"national_id": "KL000111", "code": code}).json["ticket"]
    r = client.post("/api/v1/enrol/password", json={"ticket": t, "password": password})
    assert r.status_code == 400 and r.json["code"] == "weak_password" and r.json["reason"] == reason


def test_tampered_ticket_refused(app: Any, client: Any) -> None:
    r = client.post("/api/v1/enrol/password", json={"ticket": "eyJuIjoiWCJ9.abc.def", "password": "x" * 20})
    assert r.status_code == 400 and r.json["code"] == "enrolment_expired"


# ------------------------------------------------------------------------------------------- documents

@pytest.fixture
def docs(push: Any, signed_pdf: Any, alice: Person, bob: Person) -> dict[str, str]:
    a = push(signed_pdf("MJ"), holder_id=alice.national_id)
    b = push(signed_pdf("MEN"), agency="MEN", holder_id=bob.national_id, type="school_report")
    assert a.status_code == 201 and b.status_code == 201, (a.json, b.json)
    return {"alice": a.json["id"], "bob": b.json["id"]}


def test_documents_pushed_before_enrolment_appear(app: Any, client: Any, push: Any, signed_pdf: Any) -> None:
    r = push(signed_pdf("MJ"), holder_id="MN123123")
    assert r.status_code == 201
    code = invite(app, "MN123123")
    resp, _ = enrol_api(client, "MN123123", code)
    assert resp.status_code == 200
    listed = client.get("/api/v1/me/documents", headers={"Accept-Language": "en"}).json["documents"]
    assert [d["id"] for d in listed] == [r.json["id"]]
    assert listed[0]["type_name"] == "Criminal record extract" and listed[0]["issuer"] == "Ministry of Justice"
    assert listed[0]["status"] == "valid"


def test_citizen_reads_own_documents_only(app: Any, client: Any, docs: dict[str, str], alice: Person,
                                          login: Any) -> None:
    assert login(alice).status_code == 200
    assert [d["id"] for d in client.get("/api/v1/me/documents").json["documents"]] == [docs["alice"]]
    own = client.get(f"/api/v1/me/documents/{docs['alice']}")
    assert own.status_code == 200 and own.json["signature"]["signer"]
    f = client.get(f"/api/v1/me/documents/{docs['alice']}/file")
    assert f.status_code == 200 and f.data.startswith(b"%PDF-") and f.mimetype == "application/pdf"
    page = client.get(f"/documents/{docs['alice']}/preview/1.png?w=480")
    assert page.status_code == 200 and page.data.startswith(b"\x89PNG") and page.headers["Cache-Control"] == \
        "private, no-store"
    for url in (f"/api/v1/me/documents/{docs['bob']}", f"/api/v1/me/documents/{docs['bob']}/file",
                f"/documents/{docs['bob']}", f"/documents/{docs['bob']}/preview/1.png",
                f"/documents/{docs['bob']}/file", "/api/v1/me/documents/" + "0" * 32,
                f"/documents/{docs['alice']}/preview/99.png"):
        assert client.get(url).status_code == 404, url


def test_anonymous_gets_nothing(client: Any, docs: dict[str, str]) -> None:
    for url in ("/api/v1/me/documents", f"/api/v1/me/documents/{docs['alice']}",
                f"/api/v1/me/documents/{docs['alice']}/file"):
        assert client.get(url).status_code == 401
    for url in ("/wallet", f"/documents/{docs['alice']}", f"/documents/{docs['alice']}/preview/1.png"):
        r = client.get(url)
        assert r.status_code == 302 and r.headers["Location"].startswith("/?next=")


def test_previews_cached_encrypted(app: Any, client: Any, docs: dict[str, str], alice: Person, login: Any) -> None:
    from wallet.citizens.previews import preview_key
    from wallet.extensions import runtime

    login(alice)
    first = client.get(f"/documents/{docs['alice']}/preview/1.png?w=960").data
    with app.app_context():
        stored = runtime().store.get(preview_key(docs["alice"], 1, 960))
    assert b"PNG" not in stored[:64] and b"IHDR" not in stored
    assert client.get(f"/documents/{docs['alice']}/preview/1.png?w=1000").data == first  # snapped, from cache


# ------------------------------------------------------------------------------------------- HTML pages

def form_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def test_html_login_wallet_document_logout(client: Any, docs: dict[str, str], alice: Person) -> None:
    page = client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert 'lang="en"' in page and "National ID" in page and "One-time code" in page
    bad = client.post("/login", data={"csrf_token": form_token(page), "national_id": alice.national_id,
                                      "password": "nope nope nope", "otp": "000000"},
                      headers={"Accept-Language": "en"})
    assert bad.status_code == 401 and "wrong" in bad.get_data(as_text=True)
    r = client.post("/login", data={"csrf_token": form_token(page), "national_id": alice.national_id,
                                    "password": alice.password, "otp": alice.code()})
    assert r.status_code == 303 and r.headers["Location"] == "/wallet"
    w = client.get("/wallet", headers={"Accept-Language": "en"})
    html = w.get_data(as_text=True)
    assert w.headers["Cache-Control"] == "private, no-store" and w.headers["X-Wallet-Cache"]
    assert "Criminal record extract" in html and f"/documents/{docs['alice']}" in html and docs["bob"] not in html
    d = client.get(f"/documents/{docs['alice']}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Extrait du casier judiciaire" in d and f"/documents/{docs['alice']}/preview/1.png" in d
    assert f"/share?doc={docs['alice']}" in d and 'width="960"' in d
    # sign-out needs the session's CSRF token in the form
    assert client.post("/logout", data={}).status_code == 403
    out = client.post("/logout", data={"csrf_token": form_token(html)})
    assert out.status_code == 303 and "Clear-Site-Data" in out.headers
    assert client.get("/wallet").status_code == 302


def test_html_login_needs_form_token(client: Any, alice: Person) -> None:
    r = client.post("/login", data={"national_id": alice.national_id, "password": alice.password,
                                    "otp": alice.code()})
    assert r.status_code == 403


def test_html_enrolment(app: Any, client: Any) -> None:
    code = invite(app, "PQ900900")
    page = client.get("/enrol").get_data(as_text=True)
    step2 = client.post("/enrol", data={"csrf_token": form_token(page), "step": "start", "national_id": "PQ900900",
                                        "code": code}).get_data(as_text=True)
    ticket = re.search(r'name="ticket" value="([^"]+)"', step2).group(1)
    mismatch = client.post("/enrol", data={"csrf_token": form_token(page), "step": "password", "ticket": ticket,
                                           "password": "a long passphrase", "confirm": "another"})
    assert mismatch.status_code == 400
    step3 = client.post("/enrol", data={"csrf_token": form_token(page), "step": "password", "ticket": ticket,
                                        "password": "a long passphrase", "confirm": "a long passphrase"})
    html = step3.get_data(as_text=True)
    assert step3.status_code == 200 and 'src="data:image/svg+xml;base64,' in html
    secret = re.search(r'<code class="secret" dir="ltr">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    ticket = re.search(r'name="ticket" value="([^"]+)"', html).group(1)
    done = client.post("/enrol", data={"csrf_token": form_token(page), "step": "totp", "ticket": ticket,
                                       "otp": pyotp.TOTP(secret).now()})
    assert done.status_code == 303 and done.headers["Location"] == "/wallet"
    assert client.get("/wallet").status_code == 200


def test_arabic_is_rtl_and_language_switch(client: Any) -> None:
    html = client.get("/", headers={"Accept-Language": "ar-MA,ar;q=0.9"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    r = client.get("/lang/en?next=/enrol")
    assert r.status_code == 302 and r.headers["Location"] == "/enrol" and "lang=en" in r.headers["Set-Cookie"]
    assert client.get("/lang/fr?next=//evil.example").headers["Location"] == "/"
    assert '<html lang="fr" dir="ltr">' in client.get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)


def test_pwa_plumbing(client: Any) -> None:
    m = client.get("/manifest.webmanifest").json
    assert m["start_url"] == "/wallet" and m["display"] == "standalone"
    assert {"192x192", "512x512"} <= {i["sizes"] for i in m["icons"]}
    assert any(i.get("purpose") == "maskable" for i in m["icons"])
    for icon in m["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/sw.js")
    assert sw.headers["Service-Worker-Allowed"] == "/" and "__SHELL__" not in sw.get_data(as_text=True)
    for url in re.search(r"var SHELL = (\[.*?\]);", sw.get_data(as_text=True)).group(1).strip("[]").split(","):
        assert client.get(url.strip().strip('"')).status_code == 200
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_pages_have_no_inline_script_or_style(client: Any, alice: Person, docs: dict[str, str]) -> None:
    page = client.get("/").get_data(as_text=True)
    client.post("/login", data={"csrf_token": form_token(page), "national_id": alice.national_id,
                                "password": alice.password, "otp": alice.code()})
    for url in ("/", "/enrol", "/wallet", f"/documents/{docs['alice']}", "/activity", "/settings/sessions",
                "/offline"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert " style=" not in html and "<style" not in html, url
        assert not re.search(r"""(src|href)=["']https?://""", html), url


def test_sign_out_everywhere_form(app: Any, alice: Person, login: Any) -> None:
    other = app.test_client()
    assert login(alice, c=other).status_code == 200
    c = app.test_client()
    page = c.get("/").get_data(as_text=True)
    c.post("/login", data={"csrf_token": form_token(page), "national_id": alice.national_id,
                           "password": alice.password, "otp": alice.code(1)})
    html = c.get("/settings/sessions").get_data(as_text=True)
    assert "Sign out everywhere" in html or "Déconnexion" in html or "everywhere" in html
    r = c.post("/logout", data={"csrf_token": form_token(html), "everywhere": "1"})
    assert r.status_code == 303
    assert other.get("/api/v1/me/documents").status_code == 401
    assert api(c, "GET", "/api/v1/me/documents").status_code == 401


def test_current_documents_listed_before_withdrawn_ones(client: Any, push: Any, signed_pdf: Any, agencies: Any,
                                                       alice: Person, login: Any) -> None:
    ten_days_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)).isoformat(timespec="seconds")
    older = push(signed_pdf("MJ"), holder_id=alice.national_id, issued_at=ten_days_ago).json["id"]
    newer = push(signed_pdf("MJ"), holder_id=alice.national_id).json["id"]
    revoked = client.post(f"/api/v1/documents/{newer}/revoke", json={"reason": "error"},
                          headers={"Authorization": f"Bearer {agencies['MJ']['key']}"})
    assert revoked.status_code == 200
    assert login(alice).status_code == 200
    listed = client.get("/api/v1/me/documents").json["documents"]
    assert [(d["id"], d["status"]) for d in listed] == [(older, "valid"), (newer, "revoked")]


ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
           "Mobile Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


def test_sessions_page_names_browsers_and_ends_one_session(app: Any, alice: Person, bob: Person,
                                                           login: Any) -> None:
    phone = app.test_client()
    r = phone.post("/api/v1/auth/login", json={"national_id": alice.national_id, "password": alice.password,
                                               "otp": alice.code()}, headers={"User-Agent": IPHONE},
                   environ_base={"REMOTE_ADDR": "203.0.113.77"})
    assert r.status_code == 200
    c = app.test_client()
    page = c.get("/").get_data(as_text=True)
    c.post("/login", data={"csrf_token": form_token(page), "national_id": alice.national_id,
                           "password": alice.password, "otp": alice.code(1)}, headers={"User-Agent": ANDROID})
    html = c.get("/settings/sessions?lang=en").get_data(as_text=True)
    plain = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Where you are signed in" in plain
    assert "Chrome on Android — this device" in plain and "Safari on iOS" in plain
    # where each was opened from: the network, never the address (this device: the test client's loopback)
    assert "From network 203.0.113.x" in plain and "203.0.113.77" not in html
    assert "From a local network" in plain
    assert "Mozilla/5.0" not in html and "AppleWebKit" not in html  # no raw User-Agent
    assert re.search(r"Last active: \d{1,2} \w+ 20\d\d, \d\d:\d\d", plain)
    fr = " ".join(re.sub(r"<[^>]+>", " ", c.get("/settings/sessions?lang=fr").get_data(as_text=True)).split())
    assert "Chrome sur Android" in fr and "Safari sur iOS" in fr
    handles = re.findall(r'name="session" value="([0-9a-f]+)"', html)
    assert len(handles) == 1  # the other device only: this one ends through "Sign out"
    # another citizen cannot end it, nor can a form without the CSRF token
    b = app.test_client()
    bpage = b.get("/").get_data(as_text=True)
    b.post("/login", data={"csrf_token": form_token(bpage), "national_id": bob.national_id,
                           "password": bob.password, "otp": bob.code()})
    bhtml = b.get("/settings/sessions").get_data(as_text=True)
    b.post("/settings/sessions/end", data={"csrf_token": form_token(bhtml), "session": handles[0]})
    assert phone.get("/api/v1/me/documents").status_code == 200
    assert c.post("/settings/sessions/end", data={"session": handles[0]}).status_code == 403
    assert phone.get("/api/v1/me/documents").status_code == 200
    r = c.post("/settings/sessions/end", data={"csrf_token": form_token(html), "session": handles[0]})
    assert r.status_code == 303 and "ended=1" in r.headers["Location"]
    assert phone.get("/api/v1/me/documents").status_code == 401  # that phone is signed out
    assert c.get("/api/v1/me/documents").status_code == 200  # this one is not
    assert "That device is signed out." in c.get(r.headers["Location"] + "&lang=en").get_data(as_text=True)
