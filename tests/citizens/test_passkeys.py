"""Passkeys (WebAuthn) over the API with a software authenticator, and step-up.

The hostile cases of issue 14: a replayed or cloned assertion (sign count not increasing), a wrong origin or RP
ID, no user verification → 401 (a count that stays 0 is accepted); citizen A's passkey used as B → 401; another
citizen's passkey → 404. Step-up: a criminal record shared long after sign-in → 401 step_up_required, then 201
after a fresh code; a school report needs none.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from fido2.utils import websafe_decode
from sqlalchemy import select

from tests.support.authenticator import UP, SoftAuthenticator
from tests.support.people import Citizen, Person, sign_in
from wallet import db
from wallet.audit import AuditEvent
from wallet.citizens.models import CitizenSession
from wallet.citizens.passkeys import relying_party
from wallet.citizens.stepup import StepUpRequired, require_recent_auth


def add_passkey(who: Citizen, key: SoftAuthenticator, name: str = "My phone", **kw: Any) -> Any:
    options = who.client.post("/api/v1/auth/passkeys/register/options", headers=who.headers)
    assert options.status_code == 200, options.get_data(as_text=True)
    return who.client.post("/api/v1/auth/passkeys/register", headers=who.headers,
                           json={"credential": key.make_credential(options.get_json(), **kw), "name": name})


def passkey_login(client: Any, key: SoftAuthenticator, **kw: Any) -> Any:
    options = client.post("/api/v1/auth/passkeys/login/options")
    assert options.status_code == 200
    return client.post("/api/v1/auth/passkeys/login", json={"credential": key.get_assertion(options.get_json(), **kw)})


@pytest.fixture
def alice_in(app: Any, alice: Person) -> Citizen:
    return sign_in(app, alice)


@pytest.fixture
def bob_in(app: Any, bob: Person) -> Citizen:
    return sign_in(app, bob)


def test_relying_party_for_a_domain_and_for_the_demo_loopback() -> None:
    assert relying_party("https://wallet.gov.ma").id == "wallet.gov.ma"
    rp = relying_party("http://127.0.0.1:5000")
    assert rp.id == "localhost" and rp.origins == {"http://127.0.0.1:5000", "http://localhost:5000"}
    assert relying_party("https://wallet.gov.ma").origins == {"https://wallet.gov.ma"}


def test_options_ask_for_a_discoverable_user_verified_passkey_without_attestation(alice_in: Citizen) -> None:
    o = alice_in.client.post("/api/v1/auth/passkeys/register/options", headers=alice_in.headers).get_json()
    assert o["rp"]["id"] == "wallet.test"
    assert o["authenticatorSelection"]["residentKey"] == "required"
    assert o["authenticatorSelection"]["userVerification"] == "required"
    assert o["attestation"] == "none" and len(o["challenge"]) >= 43
    assert alice_in.national_id not in o["user"]["id"]  # the user handle is the account's random id


def test_register_then_sign_in_alone_and_list(app: Any, alice_in: Citizen) -> None:
    key = SoftAuthenticator()
    r = add_passkey(alice_in, key, "Téléphone d'Amina")
    assert r.status_code == 201, r.get_data(as_text=True)
    listed = alice_in.client.get("/api/v1/me/passkeys").get_json()["passkeys"]
    assert [p["name"] for p in listed] == ["Téléphone d'Amina"] and listed[0]["last_used_at"] is None

    fresh = app.test_client()
    r = passkey_login(fresh, key)
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["citizen"]["national_id"] == alice_in.national_id and body["csrf_token"]
    assert fresh.get("/api/v1/me/documents").status_code == 200  # the same session as password + code
    assert alice_in.client.get("/api/v1/me/passkeys").get_json()["passkeys"][0]["last_used_at"]


def test_registration_refusals(alice_in: Citizen) -> None:
    assert add_passkey(alice_in, SoftAuthenticator(), flags=UP).status_code == 401  # no user verification
    assert add_passkey(alice_in, SoftAuthenticator(), rp_id="evil.test").status_code == 401
    assert add_passkey(alice_in, SoftAuthenticator(), origin="http://evil.test").status_code == 401
    assert alice_in.client.get("/api/v1/me/passkeys").get_json()["passkeys"] == []
    # a challenge from another session does not register
    options = alice_in.client.post("/api/v1/auth/passkeys/register/options", headers=alice_in.headers).get_json()
    key = SoftAuthenticator()
    cred = key.make_credential(options)
    assert alice_in.client.post("/api/v1/auth/passkeys/register", headers=alice_in.headers,
                                json={"credential": cred, "name": "x"}).status_code == 201
    again = alice_in.client.post("/api/v1/auth/passkeys/register", headers=alice_in.headers,
                                 json={"credential": cred, "name": "x"})
    assert again.status_code == 401  # the challenge is spent
    bad = alice_in.client.post("/api/v1/auth/passkeys/register", headers=alice_in.headers,
                               json={"credential": {"response": []}, "name": "x"})
    assert bad.status_code == 400 and bad.get_json()["code"] == "bad_passkey_response"


@pytest.mark.parametrize("hostile", ["wrong_origin", "wrong_rp_id", "no_uv", "replay", "clone", "backwards"])
def test_hostile_assertions_are_refused(app: Any, alice_in: Citizen, hostile: str) -> None:
    key = SoftAuthenticator()
    assert add_passkey(alice_in, key).status_code == 201
    c = app.test_client()
    if hostile == "replay":  # the same signed answer (same challenge) twice
        options = c.post("/api/v1/auth/passkeys/login/options").get_json()
        answer = key.get_assertion(options)
        assert c.post("/api/v1/auth/passkeys/login", json={"credential": answer}).status_code == 200
        r = c.post("/api/v1/auth/passkeys/login", json={"credential": answer})
    elif hostile in ("clone", "backwards"):
        assert passkey_login(c, key).status_code == 200  # count 1
        assert passkey_login(c, key).status_code == 200  # count 2
        r = passkey_login(c, key, counter=2 if hostile == "clone" else 1)
    else:
        kw = {"wrong_origin": {"origin": "http://evil.test"}, "wrong_rp_id": {"rp_id": "evil.test"},
              "no_uv": {"flags": UP}}[hostile]
        r = passkey_login(c, key, **kw)
    assert r.status_code == 401, r.get_data(as_text=True)
    assert r.get_json()["code"] in ("passkey_rejected",)


def test_a_cloned_passkey_is_disabled_shown_and_removable(app: Any, alice_in: Citizen) -> None:
    """A sign count going backwards: refused, and the passkey stays disabled (even for its genuine holder's next,
    correctly counted answer) until the holder removes it; step-up no longer offers it."""
    key, other = SoftAuthenticator(), SoftAuthenticator()
    assert add_passkey(alice_in, key).status_code == 201
    assert add_passkey(alice_in, other, "Tablet").status_code == 201
    assert passkey_login(app.test_client(), key).status_code == 200  # count 1
    assert passkey_login(app.test_client(), key).status_code == 200  # count 2
    cloned = passkey_login(app.test_client(), key, counter=1)
    assert cloned.status_code == 401 and cloned.get_json()["code"] == "passkey_rejected"
    listed = {p["name"]: p for p in alice_in.client.get("/api/v1/me/passkeys").get_json()["passkeys"]}
    assert listed["My phone"]["disabled_at"] and listed["Tablet"]["disabled_at"] is None
    again = passkey_login(app.test_client(), key)  # count 3: would be fine, but the passkey is disabled
    assert again.status_code == 401 and again.get_json()["code"] == "passkey_disabled"
    assert passkey_login(app.test_client(), other).status_code == 200  # the other passkey still works
    with app.app_context():
        actions = list(db.session().execute(select(AuditEvent.action).where(
            AuditEvent.action == "citizen.passkey_disable")).scalars())
    assert actions == ["citizen.passkey_disable"]  # disabled once, audited once
    # the holder sees it on /settings/passkeys, in their language
    en = " ".join(alice_in.client.get("/settings/passkeys?lang=en").get_data(as_text=True).split())
    assert "disabled — possibly copied" in en and en.count("disabled — possibly copied") == 1
    ar = alice_in.client.get("/settings/passkeys?lang=ar").get_data(as_text=True)
    assert "معطّل" in ar
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301)
    with time_machine.travel(later, tick=False):
        # step-up offers only the usable passkey; the disabled one cannot step up
        options = alice_in.client.post("/api/v1/auth/step-up/options", headers=alice_in.headers).get_json()
        assert len(options["allowCredentials"]) == 1
        r = alice_in.client.post("/api/v1/auth/step-up", headers=alice_in.headers,
                                 json={"credential": key.get_assertion(options)})
        assert r.status_code == 401 and r.get_json()["code"] == "passkey_disabled"
        assert alice_in.client.post("/api/v1/auth/step-up", headers=alice_in.headers,
                                    json={"otp": alice_in.person.code()}).status_code == 200  # type: ignore[union-attr]
        pid = listed["My phone"]["id"]
        assert alice_in.client.delete(f"/api/v1/me/passkeys/{pid}", headers=alice_in.headers).status_code == 204
    assert [p["name"] for p in alice_in.client.get("/api/v1/me/passkeys").get_json()["passkeys"]] == ["Tablet"]


def test_a_count_that_stays_zero_is_accepted(app: Any, alice_in: Citizen) -> None:
    key = SoftAuthenticator(step=0)
    assert add_passkey(alice_in, key).status_code == 201
    for _ in range(3):
        assert passkey_login(app.test_client(), key).status_code == 200


def test_options_are_bound_to_the_browser_that_asked(app: Any, alice_in: Citizen) -> None:
    key = SoftAuthenticator()
    assert add_passkey(alice_in, key).status_code == 201
    asker, thief = app.test_client(), app.test_client()
    options = asker.post("/api/v1/auth/passkeys/login/options").get_json()
    thief.post("/api/v1/auth/passkeys/login/options")  # has a cookie of its own
    r = thief.post("/api/v1/auth/passkeys/login", json={"credential": key.get_assertion(options)})
    assert r.status_code == 401


def test_a_passkey_of_a_used_as_b_is_refused(app: Any, alice_in: Citizen, bob_in: Citizen) -> None:
    key = SoftAuthenticator()
    assert add_passkey(alice_in, key).status_code == 201
    bob_handle = bob_in.client.post("/api/v1/auth/passkeys/register/options",
                                    headers=bob_in.headers).get_json()["user"]["id"]
    r = passkey_login(app.test_client(), key, user_handle=websafe_decode(bob_handle))
    assert r.status_code == 401
    # nor can Bob step up with Alice's passkey
    options = bob_in.client.post("/api/v1/auth/step-up/options", headers=bob_in.headers).get_json()
    r = bob_in.client.post("/api/v1/auth/step-up", headers=bob_in.headers,
                           json={"credential": key.get_assertion({**options, "rpId": "wallet.test"})})
    assert r.status_code == 401


def test_remove_own_passkey_with_step_up_and_others_are_404(app: Any, alice_in: Citizen, bob_in: Citizen) -> None:
    key = SoftAuthenticator()
    assert add_passkey(alice_in, key).status_code == 201
    pid = alice_in.client.get("/api/v1/me/passkeys").get_json()["passkeys"][0]["id"]
    assert bob_in.client.delete(f"/api/v1/me/passkeys/{pid}", headers=bob_in.headers).status_code == 404
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301)
    with time_machine.travel(later, tick=False):
        r = alice_in.client.delete(f"/api/v1/me/passkeys/{pid}", headers=alice_in.headers)
        assert r.status_code == 401 and r.get_json()["code"] == "step_up_required"
        assert r.get_json()["methods"] == ["otp", "passkey"]
        # step up with the passkey itself
        options = alice_in.client.post("/api/v1/auth/step-up/options", headers=alice_in.headers).get_json()
        assert [c["id"] for c in options["allowCredentials"]]
        r = alice_in.client.post("/api/v1/auth/step-up", headers=alice_in.headers,
                                 json={"credential": key.get_assertion(options)})
        assert r.status_code == 200, r.get_data(as_text=True)
        assert alice_in.client.delete(f"/api/v1/me/passkeys/{pid}", headers=alice_in.headers).status_code == 204
    assert alice_in.client.get("/api/v1/me/passkeys").get_json()["passkeys"] == []
    assert passkey_login(app.test_client(), key).status_code == 401  # a removed passkey signs nobody in


def _document(issue: Any, push: Any, signed_pdf: Any, holder: str, type_: str) -> str:
    if type_ == "school_report":
        r = push(signed_pdf("MEN"), agency="MEN", holder_id=holder, type="school_report")
        assert r.status_code == 201, r.get_data(as_text=True)
        return str(r.get_json()["id"])
    return str(issue(holder_id=holder)["id"])


def test_sharing_a_criminal_record_long_after_sign_in_needs_step_up(app: Any, alice: Person, issue: Any,
                                                                     push: Any, signed_pdf: Any) -> None:
    crim = _document(issue, push, signed_pdf, alice.national_id, "criminal_record")
    school = _document(issue, push, signed_pdf, alice.national_id, "school_report")
    who = sign_in(app, alice)
    assert who.share([crim]).status_code == 201  # the sign-in itself counts
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=400)
    with time_machine.travel(later, tick=False):
        assert who.share([school]).status_code == 201  # not a sensitive type
        r = who.share([crim])
        assert r.status_code == 401, r.get_data(as_text=True)
        assert r.get_json()["code"] == "step_up_required" and r.get_json()["methods"] == ["otp"]
        assert r.headers["Content-Type"].startswith("application/problem+json")
        # the code that signed in cannot be replayed; a wrong one neither
        used = who.client.post("/api/v1/auth/step-up", headers=who.headers, json={"otp": "000000"})
        assert used.status_code == 401
        r = who.client.post("/api/v1/auth/step-up", headers=who.headers, json={"otp": alice.code()})
        assert r.status_code == 200, r.get_data(as_text=True)
        assert who.share([crim]).status_code == 201
        again = who.client.post("/api/v1/auth/step-up", headers=who.headers, json={"otp": alice.code()})
        assert again.status_code == 401  # each code once
    assert who.client.post("/api/v1/auth/step-up", headers=who.headers, json={}).status_code == 400


def test_the_sign_in_code_cannot_step_up(app: Any, alice: Person) -> None:
    code = alice.code()
    c = app.test_client()
    r = c.post("/api/v1/auth/login", json={"national_id": alice.national_id, "password": alice.password, "otp": code})
    assert r.status_code == 200
    r = c.post("/api/v1/auth/step-up", headers={"X-CSRF-Token": r.get_json()["csrf_token"]}, json={"otp": code})
    assert r.status_code == 401 and r.get_json()["code"] == "invalid_credentials"


def test_step_up_needs_a_session_and_csrf(app: Any, alice_in: Citizen) -> None:
    c = app.test_client()
    assert c.post("/api/v1/auth/step-up", json={"otp": "123456"}).status_code == 401
    assert alice_in.client.post("/api/v1/auth/step-up", json={"otp": "123456"}).status_code == 403
    assert c.post("/api/v1/auth/passkeys/login", json={"credential": {}}).status_code == 401  # no options asked


def test_require_recent_auth_is_reusable(app: Any, alice_in: Citizen) -> None:
    with app.app_context():
        row = db.session().query(CitizenSession).filter_by(citizen_id=alice_in.person.id).one()  # type: ignore[union-attr]
        require_recent_auth(row)
        with pytest.raises(StepUpRequired) as refused:
            require_recent_auth(row, now=row.authenticated_at + dt.timedelta(seconds=301))
        assert refused.value.extra == {"methods": ["otp"]}
