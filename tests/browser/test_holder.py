"""Issue 13, the holder, in Chromium at 360 px (and a Pixel 7), in English, Arabic and French: what a person
sees of the header, the cards, a revoked document, the share screen (field messages, the list, the QR shown
again, the revocation asked twice), the Activity page after a look, and the sessions page.

HOLDER_SHOTS=/some/dir also saves a screenshot of every page in ar, fr and en (to look at, not compared)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.people import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NID = "AB123456"
PASSWORD = "correct horse battery 9"
SMALL = {"viewport": {"width": 360, "height": 760}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/126.0.0.0 Mobile Safari/537.36")}


@pytest.fixture
def holder_docs(app: Any, issue: Any, revoke: Any) -> dict[str, Any]:
    person = enrol(app, NID, "Amina Benali", password=PASSWORD)
    valid = issue(NID, attributes={"convictions": "none"}, reference="CJ-2026-000117")
    revoked = issue(NID, reference="CJ-2026-000042")
    revoke(revoked["id"], "erreur matérielle")
    return {"person": person, "valid": valid, "revoked": revoked}


def sign_in(page: Any, base: str, person: Any, lang: str) -> None:
    r = page.request.post(f"{base}/api/v1/auth/login", data={"national_id": NID, "password": PASSWORD,
                                                             "otp": person.code()})
    assert r.ok, r.text()
    page.goto(f"{base}/lang/{lang}?next=/wallet")


def shot(page: Any, name: str, lang: str) -> None:
    folder = os.environ.get("HOLDER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}-{lang}.png", full_page=True)


def header_is_compact(page: Any) -> None:
    """Sign out on the nav's line, and the header + nav well under a quarter of a 760 px screen."""
    out = page.get_by_role("button", name=re.compile("sign out|déconnexion|تسجيل الخروج", re.I)).bounding_box()
    nav = page.locator("nav.main-nav").bounding_box()
    first = page.locator("nav.main-nav ul a").first.bounding_box()
    assert out and nav and first
    assert first["y"] <= out["y"] + out["height"] / 2 <= first["y"] + first["height"]  # same line as a link
    assert out["height"] < 60  # not wrapped
    tops = {round(box["y"]) for a in page.locator("nav.main-nav ul a").all() if (box := a.bounding_box())}
    assert len(tops) == 1, f"the nav wraps onto {len(tops)} lines"
    assert nav["y"] + nav["height"] < 190, nav


def test_holder_in_english_at_360(app: Any, holder_docs: dict[str, Any], live_server: str,
                                  playwright_browser: Any) -> None:
    p, browser = playwright_browser
    base, valid, revoked = live_server, holder_docs["valid"], holder_docs["revoked"]
    ctx = browser.new_context(**SMALL, locale="en-GB")
    page = ctx.new_page()
    sign_in(page, base, holder_docs["person"], "en")

    # the wallet: cards told apart by reference and date; the official name in the header
    body = page.inner_text("main")
    assert "CJ-2026-000117" in body and "CJ-2026-000042" in body and re.search(r"Issued:?\s*\d{1,2} \w+ 20\d\d", body)
    assert "Citizen e-wallet" in page.inner_text("header") and "◆" not in page.inner_text("header")
    header_is_compact(page)
    shot(page, "wallet", "en")

    # a revoked document: no Share button, and why; the status wins over "Verified"
    page.goto(f"{base}/documents/{revoked['id']}")
    assert page.get_by_role("link", name="Share").count() == 0
    text = page.inner_text("main")
    assert "The issuing administration has revoked this document." in text and "can no longer be shared" in text
    assert "Verified" not in text
    shot(page, "document-revoked", "en")
    page.goto(f"{base}/documents/{valid['id']}")
    assert "Convictions" in page.inner_text("main") and "None" in page.inner_text("main")  # key facts, visible
    shot(page, "document", "en")

    # the share screen: the field's own message next to the field
    page.get_by_role("link", name="Share").click()
    page.fill("#max_views", "0")
    page.get_by_role("button", name="Create the QR code").click()
    msg = page.locator("#max_views-error")
    assert msg.is_visible() and "Enter a whole number from 1 to 10,000" in msg.inner_text()
    field, note = page.locator("#max_views").bounding_box(), msg.bounding_box()
    assert field and note and 0 <= note["y"] - (field["y"] + field["height"]) < 40  # right under the field
    assert "see errors" not in page.inner_text("main")
    box = page.locator("#allow_download").bounding_box()
    assert box and box["width"] < 40  # a checkbox, not a stretched bar
    shot(page, "share-errors", "en")
    page.fill("#max_views", "")
    page.fill("#label", "Banque Populaire")
    page.get_by_role("button", name="Create the QR code").click()
    page.wait_for_selector("#share-result:not([hidden]) #share-qr svg")
    mine = page.locator("#share-list li[data-share]")
    mine.first.wait_for()
    assert "No share yet." not in page.inner_text("main") and "Banque Populaire" in mine.first.inner_text()
    url = page.input_value("#share-url")
    # a counter share (10 minutes by default) shows its 12-digit code in groups of four, to read out
    assert page.locator("#share-code").is_visible()
    assert re.fullmatch(r"Share code: \d{4} \d{4} \d{4}", page.inner_text("#share-code").strip())
    code = page.inner_text("#share-code-digits")
    shot(page, "share-created", "en")

    # the verifier looks; the holder's Activity shows it
    look = ctx.new_page()
    look.goto(base + "/" + url.split("://", 1)[1].split("/", 1)[1])  # the public base is wallet.test
    look.close()
    page.get_by_role("link", name="Activity").click()
    activity = page.inner_text("main")
    assert "Nobody has viewed" not in activity
    assert "Share for Banque Populaire" in activity and "The verification page was opened" in activity
    assert "From a local network, Chrome on Android" in activity
    shot(page, "activity", "en")

    # back on the share screen: the QR code of this phone's live share can be shown again
    page.goto(f"{base}/share")
    page.get_by_role("button", name="Show the QR code").click()
    assert page.locator("#share-qr svg").is_visible() and page.input_value("#share-url") == url
    assert page.inner_text("#share-code-digits") == code  # kept on this phone with the link

    # revoking asks first
    page.get_by_role("link", name="Revoke").click()
    question = page.locator(".s-confirm")
    assert question.is_visible() and "cannot be undone" in question.inner_text()
    assert page.locator("#share-list li").first.get_attribute("data-status") == "active"
    shot(page, "share-confirm", "en")
    page.get_by_role("button", name="Keep it").click()
    assert not question.is_visible()
    page.get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Yes, revoke it").click()
    page.wait_for_selector("#share-list li.s-revoked")
    assert page.get_by_role("button", name="Show the QR code").count() == 0
    page.reload()
    assert page.get_by_role("button", name="Show the QR code").count() == 0  # forgotten on this phone too

    # where I am signed in
    page.get_by_role("link", name="Sessions").click()
    assert "Where you are signed in" in page.inner_text("main")
    assert "Chrome on Android — this device" in page.inner_text("main")
    assert "Mozilla" not in page.inner_text("main")
    shot(page, "sessions", "en")
    ctx.close()


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_holder_in_arabic_and_french(app: Any, holder_docs: dict[str, Any], live_server: str,
                                     playwright_browser: Any, lang: str) -> None:
    p, browser = playwright_browser
    base, valid, revoked = live_server, holder_docs["valid"], holder_docs["revoked"]
    words = {"ar": {"name": "محفظة المواطن الإلكترونية", "why": "لم يعد بالإمكان مشاركتها", "views": "أدخل عددًا صحيحًا",
                    "create": "إنشاء رمز QR", "device": "Chrome على Android"},
             "fr": {"name": "Portefeuille électronique du citoyen", "why": "Il ne peut plus être partagé",
                    "views": "Saisissez un nombre entier", "create": "Créer le QR code", "device": "Chrome sur Android"}}[lang]
    ctx = browser.new_context(**SMALL, locale=lang)  # a Pixel 7's browser at 360 px wide
    page = ctx.new_page()
    sign_in(page, base, holder_docs["person"], lang)
    assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    assert words["name"] in page.inner_text("header")
    header_is_compact(page)
    assert "CJ-2026-000117" in page.inner_text("main")
    shot(page, "wallet", lang)
    page.goto(f"{base}/documents/{revoked['id']}")
    assert words["why"] in page.inner_text("main") and page.locator("a[href^='/share?doc=']").count() == 0
    shot(page, "document-revoked", lang)
    page.goto(f"{base}/documents/{valid['id']}")
    shot(page, "document", lang)
    page.goto(f"{base}/share?doc={valid['id']}")
    page.fill("#max_views", "0")
    page.locator("#share-form button[type=submit]").click()
    assert words["views"] in page.locator("#max_views-error").inner_text()
    page.fill("#max_views", "")
    page.locator("#share-form button[type=submit]").click()
    page.wait_for_selector("#share-result:not([hidden]) #share-qr svg")
    page.locator("#share-list li[data-share]").first.wait_for()
    url = page.input_value("#share-url")
    shot(page, "share-created", lang)
    look = ctx.new_page()
    look.goto(base + "/" + url.split("://", 1)[1].split("/", 1)[1])  # the public base is wallet.test
    look.close()
    page.goto(f"{base}/activity")
    assert words["device"] in page.inner_text("main")
    shot(page, "activity", lang)
    page.goto(f"{base}/share")
    page.locator("[data-revoke]").first.click()
    assert page.locator(".s-confirm").first.is_visible()
    shot(page, "share-confirm", lang)
    page.goto(f"{base}/settings/sessions")
    assert words["device"] in page.inner_text("main")
    shot(page, "sessions", lang)
    ctx.close()
