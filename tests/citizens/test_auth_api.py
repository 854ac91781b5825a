"""Citizen sign-in, sessions and abuse cases through the JSON API."""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pyotp
import pytest

from tests.support.people import Person, api


def session_cookie(client: Any) -> str | None:
    c = client.get_cookie("wallet_sid")
    return c.value if c else None


def test_login_returns_csrf_and_sets_session(client: Any, alice: Person, login: Any) -> None:
    r = login(alice)
    assert r.status_code == 200, r.json
    assert r.json["csrf_token"] and r.json["citizen"]["national_id"] == "AB123456"
    assert session_cookie(client)
    assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]
    me = client.get("/api/v1/auth/session")
    assert me.status_code == 200 and me.json["csrf_token"] == r.json["csrf_token"]


def test_wrong_password_and_wrong_code_answered_alike(client: Any, alice: Person, login: Any) -> None:
    answers = [
        login(alice, password="wrong password!!"),
        login(alice, otp="000000" if alice.code() != "000000" else "111111"),
        login(alice, otp="¹²³⁴⁵⁶"),  # digits to str.isdigit(), not to the code check (was a 500)
        login(Person("ZZ999999", alice.password, alice.totp_secret)),
        login(Person("ZZ999998", "anything at all", pyotp.random_base32())),
    ]
    bodies = [(r.status_code, r.json["code"], r.json["title"], r.json["detail"]) for r in answers]
    assert all(b == (401, "invalid_credentials", "Invalid credentials", bodies[0][3]) for b in bodies), bodies
    assert not session_cookie(client)


def test_totp_code_is_usable_once(client: Any, alice: Person, login: Any, app: Any) -> None:
    assert login(alice).status_code == 200
    other = app.test_client()
    again = login(alice, c=other)  # the same code, another browser
    assert again.status_code == 401 and again.json["code"] == "invalid_credentials"
    assert login(alice, offset=1, c=other).status_code == 200  # the next step is fine


def test_session_id_changes_at_login(client: Any, alice: Person, login: Any) -> None:
    assert login(alice).status_code == 200
    first = session_cookie(client)
    assert login(alice, offset=1).status_code == 200
    second = session_cookie(client)
    assert first and second and first != second
    # the previous session of this browser ended with the rotation
    from wallet import db
    from wallet.citizens.models import CitizenSession
    from wallet.citizens.sessions import session_key

    with client.application.app_context():
        assert db.session().get(CitizenSession, session_key(first)).ended_at is not None


def test_logout_ends_the_session_on_the_server(client: Any, app: Any, alice: Person, login: Any) -> None:
    csrf = login(alice).json["csrf_token"]
    stolen = session_cookie(client)
    r = api(client, "POST", "/api/v1/auth/logout", csrf, json={})
    assert r.status_code == 204
    assert '"cache"' in r.headers["Clear-Site-Data"] and '"storage"' in r.headers["Clear-Site-Data"]
    thief = app.test_client()
    thief.set_cookie("wallet_sid", stolen)
    assert thief.get("/api/v1/me/documents").status_code == 401
    assert client.get("/api/v1/auth/session").status_code == 401


def test_sign_out_everywhere(app: Any, alice: Person, login: Any) -> None:
    phone, laptop = app.test_client(), app.test_client()
    assert login(alice, c=phone).status_code == 200
    csrf = login(alice, offset=1, c=laptop).json["csrf_token"]
    assert len(laptop.get("/api/v1/auth/sessions").json["sessions"]) == 2
    assert api(laptop, "POST", "/api/v1/auth/logout", csrf, json={"everywhere": True}).status_code == 204
    assert phone.get("/api/v1/me/documents").status_code == 401
    assert laptop.get("/api/v1/me/documents").status_code == 401


def test_csrf_token_required(client: Any, alice: Person, login: Any) -> None:
    assert login(alice).status_code == 200
    r = api(client, "POST", "/api/v1/auth/logout", None, json={})
    assert r.status_code == 403 and r.json["code"] == "csrf_failed"
    r = api(client, "POST", "/api/v1/auth/logout", "not-the-token", json={})
    assert r.status_code == 403 and r.json["code"] == "csrf_failed"
    assert client.get("/api/v1/auth/session").status_code == 200  # still signed in


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site"},
    {"Referer": "https://evil.example/page"},
])
def test_cross_site_post_refused(client: Any, alice: Person, headers: dict[str, str]) -> None:
    r = client.post("/api/v1/auth/login", headers=headers,
                    json={"national_id": alice.national_id, "password": alice.password, "otp": alice.code()})
    assert r.status_code == 403 and r.json["code"] == "cross_site_request"
    assert client.post("/login", headers=headers, data={}).status_code == 403


def test_cross_site_logout_refused_even_with_token(client: Any, alice: Person, login: Any) -> None:
    csrf = login(alice).json["csrf_token"]
    r = api(client, "POST", "/api/v1/auth/logout", csrf, json={},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert client.get("/api/v1/auth/session").status_code == 200


def test_idle_and_absolute_timeouts(make_app: Any, alice: Person) -> None:
    import time_machine

    app = make_app(session_idle_seconds=600, session_absolute_seconds=3600)
    c = app.test_client()
    body = {"national_id": alice.national_id, "password": alice.password, "otp": alice.code()}
    assert c.post("/api/v1/auth/login", json=body).status_code == 200
    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now + dt.timedelta(seconds=300), tick=False):
        assert c.get("/api/v1/auth/session").status_code == 200  # touched: idle clock restarts
    with time_machine.travel(now + dt.timedelta(seconds=850), tick=False):
        assert c.get("/api/v1/auth/session").status_code == 200
    with time_machine.travel(now + dt.timedelta(seconds=2000), tick=False):
        assert c.get("/api/v1/auth/session").status_code == 401  # idle > 600 s
    c2 = app.test_client()
    body["otp"] = alice.code(1)
    assert c2.post("/api/v1/auth/login", json=body).status_code == 200
    t = now
    for _ in range(8):  # active every 9 minutes: the absolute limit still ends it after an hour
        t += dt.timedelta(seconds=540)
        with time_machine.travel(t, tick=False):
            status = c2.get("/api/v1/auth/session").status_code
    assert status == 401


def test_throttling_kicks_in_for_known_and_unknown_ids(make_app: Any, alice: Person) -> None:
    app = make_app(rate_limits=True)
    c = app.test_client()

    def attempt(nid: str, ip: str) -> Any:
        return c.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": ip},
                      json={"national_id": nid, "password": "wrong password!!", "otp": "123456"})

    for nid, ip in (("AB123456", "10.0.0.1"), ("ZZ000001", "10.0.0.2")):
        codes = [attempt(nid, ip).status_code for _ in range(7)]
        assert codes[:5] == [401] * 5 and codes[-1] == 429, (nid, codes)
        r = attempt(nid, ip)
        assert r.json["code"] == "rate_limited" and r.headers.get("Retry-After")
    # per IP: many IDs from one address
    codes = [attempt(f"XY{i:06d}", "10.0.0.3").status_code for i in range(35)]
    assert 429 in codes and codes[0] == 401


def test_growing_delay_without_lock_out(make_app: Any, alice: Person) -> None:
    # was: the delay lived on the account row (failed_logins, throttled_until); it now lives in the rate-limit
    # storage per (ID, address), so the same checks go through the throttle at one address
    import time_machine

    from wallet import db
    from wallet.citizens import credentials as service
    from wallet.errors import RateLimited
    from wallet.extensions import runtime

    app = make_app(rate_limits=True)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.9.0.1"}):
        sess = db.session()
        now = dt.datetime.now(dt.UTC)
        with time_machine.travel(now, tick=False):
            for _ in range(5):
                with pytest.raises(service.InvalidCredentials):
                    service.authenticate(sess, runtime().envelope, alice.national_id, "bad", "000000")
                db.commit()
            with pytest.raises(RateLimited) as err:  # the same address waits, even with the right credentials
                service.authenticate(sess, runtime().envelope, alice.national_id, alice.password, alice.code())
            assert 0 < int(err.value.headers["Retry-After"]) <= 60
        # the delay is bounded: later, the right credentials work again from the same address
        later = now + dt.timedelta(seconds=61)
        with time_machine.travel(later, tick=False):
            code = pyotp.TOTP(alice.totp_secret).at(later)
            assert service.authenticate(sess, runtime().envelope, alice.national_id, alice.password, code)


def test_unknown_id_spends_the_same_argon2_time(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    from wallet.citizens import credentials as service

    calls = []
    real = service.hasher

    class Spy:
        def verify(self, h: str, p: str) -> bool:
            calls.append(h)
            return real.verify(h, p)

    monkeypatch.setattr(service, "hasher", Spy())
    r = client.post("/api/v1/auth/login", json={"national_id": "QQ111111", "password": "x" * 12, "otp": "123456"})
    assert r.status_code == 401 and calls == [service._DUMMY_HASH]


def test_bad_input_is_400_not_500(client: Any) -> None:
    assert client.post("/api/v1/auth/login", json={"national_id": "A"}).status_code == 400
    assert client.post("/api/v1/auth/login", data="nope", content_type="application/json").status_code == 400
    assert client.post("/api/v1/auth/login", json={"national_id": "é" * 60, "password": "p",
                                                   "otp": "12"}).status_code == 401


def test_slow_is_fine_time_moves(alice: Person) -> None:  # sanity of the helper used everywhere
    assert alice.code(0) == pyotp.TOTP(alice.totp_secret).at(time.time())


def test_a_code_typed_in_arabic_indic_digits_signs_in(client: Any, alice: Person, login: Any) -> None:
    """An Arabic keyboard types ٠-٩ (or the Persian ۰-۹): the same code, read as 0-9."""
    arabic = alice.code().translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    r = login(alice, otp=arabic[:3] + " " + arabic[3:])
    assert r.status_code == 200, r.json
    assert session_cookie(client)
