"""Web Push: a loopback push service receives what a document, a revocation, a replacement and a share's view
send; the browser's keys decrypt it (RFC 8291), the VAPID JWT verifies (RFC 8292) and no national ID or name is
in it. Endpoints on private addresses, other hosts, plain http and bad keys are refused with stable codes and
leave nothing behind; 410 removes the subscription; 5xx is retried."""
from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from config.settings import Settings, SettingsError
from tests.push.receiver import Browser, Receiver, unb64u, vapid_claims
from tests.support.shares import HOLDER, OTHER, token_of
from wallet import db, jobs
from wallet.push import endpoints
from wallet.push.models import PushSubscription

URL = "/api/v1/me/push-subscriptions"
MINOR, GUARDIAN = "MN200002", "GP100001"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def app(make_app: Any, receiver: Receiver) -> Any:
    return make_app(webpush_allowed_hosts=(f"127.0.0.1:{receiver.port}", "*.notify.windows.com",
                                           "fcm.googleapis.com"))


def vapid_key(client: Any) -> str:
    r = client.get("/api/v1/push/vapid-public-key")
    assert r.status_code == 200
    return str(r.get_json()["public_key"])


def subscriptions(app: Any, citizen_id: str | None = None) -> int:
    with app.app_context():
        q = select(func.count()).select_from(PushSubscription)
        if citizen_id:
            q = q.where(PushSubscription.citizen_id == citizen_id)
        return int(db.session().execute(q).scalar_one())


def subscribe(citizen: Any, browser: Browser, **extra: Any) -> Any:
    return citizen.client.post(URL, json=browser.subscription(**extra), headers=citizen.headers)


def test_the_vapid_key_is_made_once_under_instance_and_published(app: Any, client: Any, make_app: Any,
                                                                  settings: Settings) -> None:
    key = vapid_key(client)
    point = unb64u(key)
    assert len(point) == 65 and point[0] == 4
    pem = settings.instance_path / "vapid_key.pem"
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    assert vapid_key(make_app().test_client()) == key  # the next start reads the same key


def test_a_document_arrives_encrypted_signed_and_without_personal_data(app: Any, client: Any, holder: Any,
                                                                       issue: Any, receiver: Receiver) -> None:
    browser = Browser(f"{receiver.base}/push/abc?x=1")
    r = subscribe(holder, browser, lang="ar")
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["lang"] == "ar"
    doc = issue(HOLDER)
    assert len(receiver.received) == 1
    pushed = receiver.received[0]
    assert pushed.path == "/push/abc?x=1"
    message = browser.decrypt(pushed)
    assert message == {"kind": "document.arrived", "type": doc["type"], "url": f"/documents/{doc['id']}",
                       "lang": "ar"}
    plain = str(message)
    assert HOLDER not in plain and "Amina" not in plain and "Benali" not in plain
    assert HOLDER.encode() not in pushed.body  # nor in clear beside it
    claims = vapid_claims(pushed, vapid_key(client))
    assert claims["aud"] == receiver.base
    assert claims["sub"].startswith("mailto:")
    assert claims["exp"] <= dt.datetime.now(dt.UTC).timestamp() + 24 * 3600  # RFC 8292: at most 24 h
    assert pushed.headers["ttl"] == str(7 * 86400)
    with app.app_context():
        row = db.session().execute(select(PushSubscription)).scalar_one()
        assert row.last_sent_at is not None


def test_revoked_and_replaced_documents_are_told(app: Any, holder: Any, issue: Any, revoke: Any, push: Any,
                                                 signed_pdf: Any, receiver: Receiver) -> None:
    browser = Browser(f"{receiver.base}/p")
    assert subscribe(holder, browser).status_code == 201
    first = issue(HOLDER)
    revoke(first["id"])
    second = issue(HOLDER)
    new = push(signed_pdf("MJ"), replaces=second["id"])
    assert new.status_code == 201, new.get_data(as_text=True)
    kinds = [(m["kind"], m["url"]) for m in map(browser.decrypt, receiver.received)]
    assert kinds == [("document.arrived", f"/documents/{first['id']}"),
                     ("document.revoked", f"/documents/{first['id']}"),
                     ("document.arrived", f"/documents/{second['id']}"),
                     ("document.replaced", f"/documents/{new.get_json()['id']}")]
    assert all(m["lang"] == "fr" for m in map(browser.decrypt, receiver.received))  # the page language (default)


def test_a_counted_view_of_a_share_tells_its_maker(app: Any, client: Any, holder: Any, issue: Any,
                                                   receiver: Receiver) -> None:
    doc = issue(HOLDER)
    browser = Browser(f"{receiver.base}/p")
    assert subscribe(holder, browser, lang="en").status_code == 201
    share = holder.share([doc["id"]]).get_json()
    assert client.get(f"/api/v1/verify/{token_of(share)}").status_code == 200
    assert client.get("/api/v1/verify/" + "A" * 22).status_code == 404  # unknown: nobody is told
    assert [browser.decrypt(p) for p in receiver.received] == [
        {"kind": "share.viewed", "type": doc["type"], "url": "/activity", "lang": "en"}]
    assert receiver.received[0].headers["ttl"] == "86400"


def test_a_share_viewed_again_and_again_tells_its_maker_once_per_window(app: Any, client: Any, holder: Any,
                                                                      issue: Any, receiver: Receiver) -> None:
    """Five looks in a row: one notice (wallet.push.gate), five views counted and logged; another share of the
    same holder still tells at once; once the window is over (another process: its memo empty, the shared
    window expired) the next look tells again."""
    doc = issue(HOLDER)
    browser = Browser(f"{receiver.base}/p")
    assert subscribe(holder, browser, lang="en").status_code == 201
    first, second = (holder.share([doc["id"]]).get_json() for _ in range(2))
    for _ in range(5):
        assert client.get(f"/api/v1/verify/{token_of(first)}").status_code == 200
    assert len(receiver.received) == 1
    assert client.get(f"/api/v1/verify/{token_of(second)}").status_code == 200
    assert len(receiver.received) == 2
    listed = {s["id"]: s["views_used"] for s in holder.client.get("/api/v1/me/shares").get_json()["shares"]}
    assert listed[first["id"]] == 5 and listed[second["id"]] == 1
    gate = app.extensions["wallet.runtime"].view_notices
    gate.forget()
    gate.storage.clear(f"notice/{first['id']}")
    assert client.get(f"/api/v1/verify/{token_of(first)}").status_code == 200
    assert len(receiver.received) == 3


def test_a_guardian_is_told_of_a_minor_s_document(app: Any, client: Any, citizen: Any, agencies: Any, issue: Any,
                                                  receiver: Receiver) -> None:
    guardian = citizen(GUARDIAN, "Fatima Zahra")
    r = client.post("/api/v1/guardianships", headers={"Authorization": f"Bearer {agencies['MI']['key']}"}, json={
        "guardian_id": GUARDIAN, "guardian_name": "Fatima Zahra", "minor_id": MINOR, "minor_name": "Yassine Zahra",
        "valid_until": (dt.date.today() + dt.timedelta(days=365)).isoformat(), "basis": "parent",
        "reference": "EC-PUSH-1"})
    assert r.status_code == 201, r.get_data(as_text=True)
    browser = Browser(f"{receiver.base}/g")
    assert subscribe(guardian, browser).status_code == 201
    doc = issue(MINOR)
    [message] = [browser.decrypt(p) for p in receiver.received]
    assert message == {"kind": "document.arrived", "type": doc["type"], "url": f"/documents/{doc['id']}",
                       "lang": "fr", "as": "guardian"}
    assert MINOR not in str(message) and "Yassine" not in str(message)


def test_a_gone_subscription_is_removed(app: Any, holder: Any, issue: Any, receiver: Receiver) -> None:
    from prometheus_client import REGISTRY

    def gone() -> float:
        return REGISTRY.get_sample_value("wallet_push_deliveries_total", {"outcome": "gone"}) or 0.0

    before = gone()
    receiver.status = 410
    assert subscribe(holder, Browser(f"{receiver.base}/gone")).status_code == 201
    issue(HOLDER)
    assert len(receiver.received) == 1
    assert subscriptions(app) == 0
    assert gone() == before + 1  # wallet_push_deliveries_total{outcome="gone"}


def test_a_failing_push_service_is_retried_and_the_subscription_kept(app: Any, holder: Any,
                                                                     receiver: Receiver) -> None:
    receiver.status, receiver.extra_headers = 503, {"Retry-After": "120"}
    r = subscribe(holder, Browser(f"{receiver.base}/busy"))
    with pytest.raises(jobs.TryLater) as caught:
        jobs.run(app, "push.send", [r.get_json()["id"], "document.arrived", '{"kind":"document.arrived"}'])
    assert caught.value.after == 120.0
    assert len(receiver.received) == 1 and subscriptions(app) == 1


@pytest.mark.parametrize(("endpoint", "code"), [
    ("http://10.0.0.1/push/1", "push_endpoint_private"),
    ("https://10.0.0.1/push/1", "push_endpoint_private"),
    ("https://169.254.169.254/latest/meta-data", "push_endpoint_private"),
    ("http://127.0.0.1:9/push", "push_endpoint_private"),  # loopback, but not the listed port
    ("https://[::1]/push", "push_endpoint_private"),
    ("https://[::ffff:10.0.0.1]/push", "push_endpoint_private"),
    ("https://0.0.0.0/push", "push_endpoint_private"),
    ("https://push.example.com/x", "push_endpoint_not_allowed"),
    ("https://8.8.8.8/x", "push_endpoint_not_allowed"),  # a public address must be listed itself
    ("https://notify.windows.com/x", "push_endpoint_not_allowed"),  # *.domain is not the domain itself
    ("https://fcm.googleapis.com:8443/x", "push_endpoint_not_allowed"),  # no port listed: 443 only
    ("https://fcm.googleapis.com.evil.test/x", "push_endpoint_not_allowed"),
    ("http://fcm.googleapis.com:443/x", "push_endpoint_not_allowed"),
    ("http://fcm.googleapis.com/x", "push_endpoint_not_https"),
    ("https://user:pw@fcm.googleapis.com/x", "push_endpoint_invalid"),
    ("https://fcm.googleapis.com/x#frag", "push_endpoint_invalid"),
    ("ftp://fcm.googleapis.com/x", "push_endpoint_invalid"),
    ("https://fcm.googleapis.com/" + "a" * 1000, "push_endpoint_invalid"),
    ("https://fcm.googleapis.com:99999/x", "push_endpoint_invalid"),
])
def test_endpoints_that_are_refused(app: Any, holder: Any, endpoint: str, code: str) -> None:
    r = subscribe(holder, Browser(endpoint))
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.get_json()["code"] == code
    assert subscriptions(app) == 0


def test_http_only_for_an_address_listed_exactly(make_app: Any) -> None:
    app = make_app(webpush_allowed_hosts=("push.example.com:8080", "*.example.net"))
    with app.app_context(), pytest.raises(endpoints.EndpointRefused) as caught:
        endpoints.parse("http://push.example.com:8080/x", ("push.example.com:8080",))
    assert caught.value.code == "push_endpoint_not_https"
    target = endpoints.parse("https://push.example.com:8080/x?y", ("push.example.com:8080",))
    assert (target.port, target.path, target.exact) == (8080, "/x?y", True)
    assert not endpoints.parse("https://a.b.example.net/x", ("*.example.net",)).exact


def test_a_listed_name_resolving_to_a_private_address_is_refused(app: Any, holder: Any, issue: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import ipaddress

    answers = {"wns2.notify.windows.com": [ipaddress.ip_address("10.0.0.1")]}
    monkeypatch.setattr(endpoints, "resolve", lambda host, port: answers.get(host, []))
    r = subscribe(holder, Browser("https://wns2.notify.windows.com/w/?token=1"))
    assert r.status_code == 400 and r.get_json()["code"] == "push_endpoint_private"
    # DNS rebinding: public when subscribing, private when sending -> nothing sent, the subscription dropped
    answers["wns2.notify.windows.com"] = [ipaddress.ip_address("52.1.2.3")]
    assert subscribe(holder, Browser("https://wns2.notify.windows.com/w/?token=1")).status_code == 201
    answers["wns2.notify.windows.com"] = [ipaddress.ip_address("127.0.0.1")]
    issue(HOLDER)
    assert subscriptions(app) == 0


@pytest.mark.parametrize(("keys", "why"), [
    ({"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "short point"),
    ({"p256dh": "BA" + "A" * 85, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "not on the curve"),
    (None, "auth of 15 bytes"),
    ({"p256dh": "!!!", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "not base64url"),
])
def test_bad_keys_are_refused(app: Any, holder: Any, receiver: Receiver, keys: Any, why: str) -> None:
    body = Browser(f"{receiver.base}/k").subscription()
    if keys is None:
        keys = {"p256dh": body["keys"]["p256dh"], "auth": "A" * 20}
    body["keys"] = keys
    r = holder.client.post(URL, json=body, headers=holder.headers)
    assert r.status_code == 400, why
    assert r.get_json()["code"] == "push_key_invalid", why
    assert subscriptions(app) == 0


def test_subscriptions_are_capped_per_citizen_and_a_browser_is_one_row(app: Any, holder: Any, other: Any,
                                                                       receiver: Receiver) -> None:
    browsers = [Browser(f"{receiver.base}/b{i}") for i in range(10)]
    for b in browsers:
        assert subscribe(holder, b).status_code == 201
    assert subscribe(holder, browsers[0], lang="en").status_code == 201  # the same browser again: updated
    r = subscribe(holder, Browser(f"{receiver.base}/b10"))
    assert r.status_code == 409 and r.get_json()["code"] == "push_subscriptions_full"
    assert subscriptions(app) == 10
    # another citizen signing in on that browser takes it over: the first one's news never shows there
    assert subscribe(other, browsers[0]).status_code == 201
    with app.app_context():
        owner = db.session().execute(select(PushSubscription.citizen_id).where(
            PushSubscription.endpoint == browsers[0].endpoint)).scalar_one()
    assert subscriptions(app, owner) == 1 and subscriptions(app) == 10


def test_unsubscribe_by_endpoint_only_the_citizen_s_own(app: Any, holder: Any, other: Any,
                                                        receiver: Receiver) -> None:
    b = Browser(f"{receiver.base}/u")
    assert subscribe(holder, b).status_code == 201
    r = other.client.delete(URL, json={"endpoint": b.endpoint}, headers=other.headers)
    assert r.status_code == 204 and subscriptions(app) == 1  # someone else's: nothing happens, same answer
    r = holder.client.delete(URL, json={"endpoint": b.endpoint}, headers=holder.headers)
    assert r.status_code == 204 and subscriptions(app) == 0
    assert holder.client.delete(URL, json={"endpoint": b.endpoint}, headers=holder.headers).status_code == 204


def test_subscribing_needs_a_session_and_the_csrf_token(app: Any, client: Any, holder: Any,
                                                        receiver: Receiver) -> None:
    body = Browser(f"{receiver.base}/c").subscription()
    assert client.post(URL, json=body).status_code == 401
    r = holder.client.post(URL, json=body)
    assert r.status_code == 403 and r.get_json()["code"] == "csrf_failed"
    assert subscriptions(app) == 0


@pytest.mark.nodb
def test_the_allowed_hosts_setting() -> None:
    s = Settings.from_env({"WEBPUSH_ALLOWED_HOSTS": " FCM.googleapis.com, 127.0.0.1:8123 ,*.push.example.org"})
    assert s.webpush_allowed_hosts == ("fcm.googleapis.com", "127.0.0.1:8123", "*.push.example.org")
    assert "web.push.apple.com" in Settings.from_env({}).webpush_allowed_hosts
    for bad in ("*.com", "https://fcm.googleapis.com", "host:0", "a b", "*"):
        with pytest.raises(SettingsError, match="WEBPUSH_ALLOWED_HOSTS"):
            Settings.from_env({"WEBPUSH_ALLOWED_HOSTS": bad})
    with pytest.raises(SettingsError, match="VAPID_SUBJECT"):
        Settings.from_env({"VAPID_SUBJECT": "push@example.org"})


def test_production_needs_its_vapid_key(settings: Settings, tmp_path: Any) -> None:
    from wallet.push.keys import load_vapid

    with pytest.raises(SettingsError, match="VAPID_PRIVATE_KEY_PEM"):
        load_vapid(settings.with_(env="production"))
    bad = tmp_path / "rsa.pem"
    bad.write_text("not a key")
    with pytest.raises(SettingsError, match="VAPID_PRIVATE_KEY_PEM"):
        load_vapid(settings.with_(vapid_private_key_pem=str(bad)))


def _endpoints(app: Any) -> set[str]:
    with app.app_context():
        return set(db.session().execute(select(PushSubscription.endpoint)).scalars())


def _signed_in(app: Any, holder: Any, offset: int, client: Any = None) -> tuple[Any, dict[str, str]]:
    """The holder signed in with the code ``offset`` steps away (client, CSRF headers). Each code works once and
    never one older than the last used: the last step used is forgotten first (three sign-ins within a minute)."""
    from sqlalchemy import update

    from wallet.citizens.models import Citizen as CitizenRow

    client = client or app.test_client()
    person = holder.person
    with app.app_context():
        db.session().execute(update(CitizenRow).where(CitizenRow.national_id == person.national_id)
                             .values(totp_last_step=0))
        db.commit()
    r = client.post("/api/v1/auth/login", json={"national_id": person.national_id, "password": person.password,
                                                "otp": person.code(offset)})
    assert r.status_code == 200, r.get_data(as_text=True)
    return client, {"X-CSRF-Token": r.get_json()["csrf_token"]}


def test_signing_out_stops_the_notifications_turned_on_in_that_session(app: Any, holder: Any, issue: Any,
                                                                       receiver: Receiver) -> None:
    """A phone and a tablet, each signed in and notified. Signing out on the tablet stops the tablet's, not the
    phone's; the holder signing in again on the phone keeps the phone's; "sign out everywhere" stops every one.
    A document then tells nobody."""
    phone, tablet = Browser(f"{receiver.base}/phone"), Browser(f"{receiver.base}/tablet")
    assert subscribe(holder, phone).status_code == 201
    tab, tab_headers = _signed_in(app, holder, 1)
    assert tab.post(URL, json=tablet.subscription(), headers=tab_headers).status_code == 201
    assert _endpoints(app) == {phone.endpoint, tablet.endpoint}

    assert tab.post("/api/v1/auth/logout", json={}, headers=tab_headers).status_code == 204
    assert _endpoints(app) == {phone.endpoint}

    _, headers = _signed_in(app, holder, -1, client=holder.client)  # the phone's old cookie goes with it
    assert _endpoints(app) == {phone.endpoint}
    issue(HOLDER)
    assert [m["kind"] for m in map(phone.decrypt, receiver.received)] == ["document.arrived"]

    assert holder.client.post("/api/v1/auth/logout", json={"everywhere": True}, headers=headers).status_code == 204
    assert _endpoints(app) == set()
    issue(HOLDER)
    assert len(receiver.received) == 1


def test_another_citizen_signing_in_on_a_shared_browser_ends_the_first_one_s_notifications(
        app: Any, holder: Any, receiver: Receiver) -> None:
    from tests.support.people import enrol

    shared = Browser(f"{receiver.base}/shared")
    assert subscribe(holder, shared).status_code == 201
    other = enrol(app, "ZZ900001", "Karim Idrissi")
    r = holder.client.post("/api/v1/auth/login", json={"national_id": other.national_id, "password": other.password,
                                                       "otp": other.code()})
    assert r.status_code == 200
    assert _endpoints(app) == set()


def test_the_wallet_page_lists_the_browsers_the_server_still_notifies(app: Any, holder: Any,
                                                                      receiver: Receiver) -> None:
    import hashlib

    phone = Browser(f"{receiver.base}/phone")
    page = holder.client.get("/wallet").get_data(as_text=True)
    assert 'data-known=""' in page
    assert subscribe(holder, phone).status_code == 201
    page = holder.client.get("/wallet").get_data(as_text=True)
    assert f'data-known="{hashlib.sha256(phone.endpoint.encode()).hexdigest()}"' in page
