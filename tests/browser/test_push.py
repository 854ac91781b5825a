"""Web Push in Chromium at 360 px (en, ar; fr for the screenshots): the wallet's "Notify me" box.

What is real: the page, its script, the permission asked only after the tap, the service worker and its push
handler (a push is delivered to the registered worker over CDP, ``ServiceWorker.deliverPushMessage``, and the
notification it shows is read back with ``registration.getNotifications()``), the POST of the subscription,
and the server then pushing to it. Not exercised: ``notificationclick`` (headless Chromium has no notification
to tap).
What is stubbed (an init script): ``PushManager.prototype.subscribe/getSubscription`` and the subscription's
``unsubscribe``. Headless Chromium has no push service: a real subscribe fails ("AbortError: Registration failed
- permission denied", even with the notifications permission granted), so
the stub hands the page a subscription whose endpoint is the test's loopback receiver and whose keys the test
holds: what the server then sends there is decrypted with them.

PUSH_SHOTS=/tmp/shots-webpush saves screenshots.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.push.receiver import Browser, Receiver
from tests.support.people import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NID = "AB123456"
PASSWORD = "correct horse battery 9"
SMALL = {"viewport": {"width": 360, "height": 760}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

STUB = """
(() => {
  const sub = %s;
  const key = "stub-push-subscription";
  const fake = () => ({ endpoint: sub.endpoint, toJSON: () => JSON.parse(JSON.stringify(sub)),
                        unsubscribe: () => { localStorage.removeItem(key); return Promise.resolve(true); } });
  PushManager.prototype.subscribe = function (options) {
    window.__subscribeOptions = { userVisibleOnly: options.userVisibleOnly,
                                  keyLength: new Uint8Array(options.applicationServerKey).length };
    localStorage.setItem(key, "1");
    return Promise.resolve(fake());
  };
  PushManager.prototype.getSubscription = function () {
    return Promise.resolve(localStorage.getItem(key) ? fake() : null);
  };
  window.__asked = 0;
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = function () { window.__asked += 1; return ask(); };
  if (%s) { Object.defineProperty(Notification, "permission", { get: () => "denied" });
            Notification.requestPermission = () => Promise.resolve("denied"); }
})();
"""


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("PUSH_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def app(make_app: Any, receiver: Receiver) -> Any:
    return make_app(webpush_allowed_hosts=(f"127.0.0.1:{receiver.port}",))


@pytest.fixture
def person(app: Any) -> Any:
    return enrol(app, NID, "Amina Benali", password=PASSWORD)


@pytest.fixture
def record(signed_pdf: Any, agencies: Any) -> dict[str, Any]:
    """A signed criminal record for NID, made before Playwright starts (its sync API runs an event loop; pyHanko's
    signing wants its own); pushed later through the live server (sealed in the server's thread)."""
    from tests.conftest import embedded_metadata

    pdf = signed_pdf("MJ", holder_id=NID)
    return {"pdf": pdf, "metadata": json.dumps(embedded_metadata(pdf)), "key": agencies["MJ"]["key"]}


def push_through(page: Any, base: str, record: dict[str, Any]) -> dict[str, Any]:
    r = page.request.post(f"{base}/api/v1/documents", headers={"Authorization": f"Bearer {record['key']}"},
                          multipart={"file": {"name": "doc.pdf", "mimeType": "application/pdf",
                                              "buffer": record["pdf"]}, "metadata": record["metadata"]})
    assert r.status == 201, r.text()
    return r.json()  # type: ignore[no-any-return]


def open_wallet(browser: Any, base: str, person: Any, lang: str, sub: dict[str, Any], denied: bool = False,
                step: int = 0) -> Any:
    """Signed in (the code ``step`` steps from now: each code works once) on the wallet page at 360 px."""
    ctx = browser.new_context(locale=lang, **SMALL)
    if not denied:
        ctx.grant_permissions(["notifications"], origin=base)
    ctx.add_init_script(STUB % (json.dumps(sub), "true" if denied else "false"))
    page = ctx.new_page()
    r = page.request.post(f"{base}/api/v1/auth/login", data={"national_id": NID, "password": PASSWORD,
                                                             "otp": person.code(step)})
    assert r.ok, r.text()
    page.goto(f"{base}/lang/{lang}?next=/wallet")
    page.locator("#push-box").wait_for(state="visible")
    return page


def shown_notifications(page: Any) -> list[dict[str, Any]]:
    """The worker's notifications, read as soon as there are some (headless Chromium may close them soon after:
    polled in the page, every 10 ms for at most 10 s; not a timed assertion, an empty list fails below)."""
    return page.evaluate("""async () => {
        const reg = await navigator.serviceWorker.ready;
        for (let i = 0; i < 1000; i++) {
            const list = await reg.getNotifications();
            if (list.length) {
                return list.map(n => ({title: n.title, body: n.body, lang: n.lang, dir: n.dir,
                                       url: n.data && n.data.url}));
            }
            await new Promise(r => setTimeout(r, 10));
        }
        return [];
    }""")


def test_notify_me_in_english_then_a_push_shown_in_arabic(app: Any, record: Any, person: Any, live_server: str,
                                                          receiver: Receiver, playwright_browser: Any) -> None:
    phone = Browser(f"{receiver.base}/push/phone-1")
    _p, browser = playwright_browser
    page = open_wallet(browser, live_server, person, "en", phone.subscription())
    box = page.locator("#push-box")
    text = box.inner_text()
    assert "Notifications" in text and "never shows your name" in text
    assert page.get_by_role("button", name="Notify me").is_visible()
    assert page.get_by_role("button", name="Turn off notifications").is_hidden()
    assert page.evaluate("window.__asked") == 0  # nothing asked before the tap
    shot(page, "wallet-push-off-en")

    page.get_by_role("button", name="Notify me").click()
    page.get_by_text("Notifications are on for this device.").wait_for()
    assert page.evaluate("window.__asked") == 1
    assert page.evaluate("window.__subscribeOptions") == {"userVisibleOnly": True, "keyLength": 65}
    assert page.get_by_role("button", name="Turn off notifications").is_visible()
    assert page.get_by_role("button", name="Notify me").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "wallet-push-on-en")

    # the server pushes to what the page posted: the receiver's copy decrypts with the browser's keys
    doc = push_through(page, live_server, record)
    [pushed] = receiver.received
    assert phone.decrypt(pushed) == {"kind": "document.arrived", "type": doc["type"],
                                     "url": f"/documents/{doc['id']}", "lang": "en"}

    # the worker shows a push in the payload's language, and a reload still says "on"
    page.reload()
    page.get_by_text("Notifications are on for this device.").wait_for()
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_timeout(300)  # the enable's registration events (not a timed assertion: only a wait)
    reg_id = next(r["registrationId"] for r in registrations if r["scopeURL"].startswith(live_server))
    message = {"kind": "document.arrived", "type": "criminal_record", "url": f"/documents/{doc['id']}", "lang": "ar"}
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_server, "registrationId": reg_id,
                                                  "data": json.dumps(message)})
    [shown] = shown_notifications(page)
    assert shown["title"] == "محفظة المواطن الإلكترونية"
    assert shown["body"] == "وثيقة جديدة في محفظتك: بطاقة السوابق العدلية"
    assert (shown["lang"], shown["dir"], shown["url"]) == ("ar", "rtl", f"/documents/{doc['id']}")

    # turning it off: the browser's subscription ends and the server forgets it
    page.get_by_role("button", name="Turn off notifications").click()
    page.get_by_text("Notifications are off on this device.").wait_for()
    assert page.get_by_role("button", name="Notify me").is_visible()
    from sqlalchemy import func, select

    from wallet import db
    from wallet.push.models import PushSubscription
    with app.app_context():
        assert db.session().execute(select(func.count()).select_from(PushSubscription)).scalar_one() == 0


def test_arabic_box_and_blocked_notifications(app: Any, person: Any, live_server: str, receiver: Receiver,
                                              playwright_browser: Any) -> None:
    _p, browser = playwright_browser
    phone = Browser(f"{receiver.base}/push/phone-2")
    page = open_wallet(browser, live_server, person, "ar", phone.subscription())
    assert page.locator("html").get_attribute("dir") == "rtl"
    text = page.locator("#push-box").inner_text()
    assert "الإشعارات" in text and "لا يُظهر الإشعار اسمك" in text
    page.get_by_role("button", name="نبّهني").click()
    page.get_by_text("الإشعارات مفعّلة على هذا الجهاز.").wait_for()
    assert page.get_by_role("button", name="إيقاف الإشعارات").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "wallet-push-on-ar")
    if os.environ.get("PUSH_SHOTS"):  # the same page in French, on then off
        page.goto(f"{live_server}/lang/fr?next=/wallet")
        page.get_by_text("Les notifications sont activées sur cet appareil.").wait_for()
        shot(page, "wallet-push-on-fr")
        page.get_by_role("button", name="Désactiver les notifications").click()
        page.get_by_text("Les notifications sont désactivées sur cet appareil.").wait_for()
        shot(page, "wallet-push-off-fr")
    page.context.close()

    blocked = open_wallet(browser, live_server, person, "ar", phone.subscription(), denied=True, step=1)
    blocked.get_by_text("الإشعارات محظورة لهذا الموقع").wait_for()
    assert blocked.get_by_role("button", name="نبّهني").is_hidden()
    shot(blocked, "wallet-push-blocked-ar")
    blocked.context.close()


@pytest.mark.parametrize("lang,notify,off", [("en", "Notify me", "Notifications are off on this device."),
                                             ("ar", "نبّهني", "الإشعارات متوقفة على هذا الجهاز.")])
def test_signed_out_everywhere_then_back_the_phone_says_off(app: Any, person: Any, live_server: str,
                                                            receiver: Receiver, playwright_browser: Any,
                                                            lang: str, notify: str, off: str) -> None:
    """Notifications on, then "sign out everywhere" (say from another phone): the server stops them. Signed in
    again on this phone, the page does not claim they are on: it ends the browser's subscription too and offers
    "Notify me" again."""
    _p, browser = playwright_browser
    phone = Browser(f"{receiver.base}/push/phone-3")
    page = open_wallet(browser, live_server, person, lang, phone.subscription())
    page.get_by_role("button", name=notify).click()
    page.locator("#push-box[data-state=on]").wait_for()
    csrf = page.locator("#push-box").get_attribute("data-csrf")
    r = page.request.post(f"{live_server}/api/v1/auth/logout", data={"everywhere": True},
                          headers={"X-CSRF-Token": csrf or ""})
    assert r.status == 204, r.text()
    r = page.request.post(f"{live_server}/api/v1/auth/login", data={"national_id": NID, "password": PASSWORD,
                                                                    "otp": person.code(1)})
    assert r.ok, r.text()
    page.goto(f"{live_server}/wallet")
    page.locator("#push-box[data-state=off]").wait_for()
    assert page.get_by_role("button", name=notify).is_visible()
    assert page.locator("#push-status").inner_text() == ""
    assert page.evaluate("localStorage.getItem('stub-push-subscription')") is None  # the browser's ended too
    page.get_by_role("button", name=notify).click()  # and it can be turned on again
    page.locator("#push-box[data-state=on]").wait_for()
    assert off not in page.locator("#push-box").inner_text()
    page.context.close()
