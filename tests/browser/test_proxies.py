"""The proxies screen in Chromium at 360 px, text read in en and ar.

With JavaScript: a citizen opens "Proxies" from the settings ("Sessions" in the navigation), a refused grant (to oneself) is explained without
asking for a code, a grant long after sign-in asks "Confirm it's you" in place and goes through after a fresh
code; the proxy sees it under "People you act for"; the grantor ends it in Arabic after a confirmation in place.
Without JavaScript: the same grant through the server's form and its "Confirm it's you" page.

PROXY_SHOTS=/tmp/shots-mandates saves screenshots of the pages in ar, fr and en.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tests.browser.test_pwa import axe_violations
from tests.support.people import Person, enrol
from wallet import db
from wallet.citizens.models import Passkey

pytestmark = pytest.mark.browser

GRANTOR, PROXY = "AB123456", "PX400004"
SHOTS = os.environ.get("PROXY_SHOTS")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def sign_in(page: Any, base: str, person: Person) -> None:
    page.goto(f"{base}/lang/en?next=/")
    page.get_by_label("National ID").fill(person.national_id)
    page.get_by_label("Password").fill(person.password)
    page.get_by_label("One-time code").fill(person.code())
    page.locator("form:has(input[type=password]) [type=submit]").click()
    page.wait_for_url(f"{base}/wallet")


def until(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def fill_grant(page: Any, proxy_id: str, days: int = 20) -> None:
    page.get_by_label("National ID of the person").fill(proxy_id)
    page.get_by_label("Only these types:").check()
    page.get_by_label("Criminal record extract").check()
    page.get_by_label("Until (included)").fill(until(days))
    page.get_by_label("They may also share these documents (QR code or link)").check()


def test_grant_with_inline_step_up_list_and_end(app: Any, live_server: str, playwright_browser: Any) -> None:
    amina, karim = enrol(app, GRANTOR, "Amina Benali"), enrol(app, PROXY, "Karim Idrissi")
    _p, browser = playwright_browser
    ctx = browser.new_context(viewport={"width": 360, "height": 760}, locale="en")
    page = ctx.new_page()
    base = live_server
    sign_in(page, base, amina)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    page.get_by_role("link", name="Proxies: people who see your documents for you").click()
    page.wait_for_url(f"{base}/settings/proxies")
    assert "You have not given a proxy to anyone." in page.inner_text("main")

    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now + dt.timedelta(seconds=400), tick=True):
        # a grant to oneself is explained at once: no code asked for a grant that would be refused
        fill_grant(page, GRANTOR)
        page.get_by_role("button", name="Give the proxy").click()
        error = page.locator("#grant-error")
        error.wait_for(state="visible")
        assert "You cannot give a proxy to yourself" in error.inner_text()
        assert page.locator("#stepup").is_hidden()
        assert page.get_by_label("National ID of the person").get_attribute("aria-invalid") == "true"
        # the real grant: "Confirm it's you" in place, then the grant is made
        page.get_by_label("National ID of the person").fill(PROXY)
        page.get_by_role("button", name="Give the proxy").click()
        box = page.locator("#stepup")
        box.wait_for(state="visible")
        assert "Confirm it's you" in box.inner_text() and page.locator("#grant-error").is_hidden()
        # no passkey of hers: the code of her authenticator app is the one way offered, and the only one named
        assert "authenticator app." in box.inner_text() and "passkey" not in box.inner_text().lower()
        box.get_by_label("One-time code").fill("000000")
        box.get_by_role("button", name="Confirm", exact=True).click()
        box.locator("[data-stepup-error]").wait_for(state="visible")  # a wrong code: asked again
        shot(page, "inline-stepup-en")
        box.get_by_label("One-time code").fill(amina.code())
        box.get_by_role("button", name="Confirm", exact=True).click()
        page.wait_for_url(f"{base}/settings/proxies?done=granted")
    main = page.inner_text("main")
    assert "Proxy given." in main
    granted = page.locator("#granted li")
    assert granted.count() == 1
    card = granted.first.inner_text()
    for words in ("Karim Idrissi", PROXY, "Criminal record extract", "May share them", "Active"):
        assert words in card, (words, card)
    day = dt.date.fromisoformat(until(20))
    assert f"{day.day} {day.strftime('%B')} {day.year}" in card
    for lang in ("en", "fr", "ar"):
        page.goto(f"{base}/lang/{lang}?next=/settings/proxies")
        shot(page, f"proxies-{lang}")
        assert not axe_violations(page), f"proxies page ({lang})"

    # the proxy sees who they act for
    other = browser.new_context(viewport={"width": 360, "height": 760}, locale="en")
    kpage = other.new_page()
    sign_in(kpage, base, karim)
    kpage.goto(f"{base}/settings/proxies")
    received = kpage.locator("#received li").first.inner_text()
    assert "Amina Benali" in received and GRANTOR in received and "Criminal record extract" in received
    other.close()

    # the grantor ends it, in Arabic, after a confirmation in place
    page.goto(f"{base}/lang/ar?next=/settings/proxies")
    assert page.locator("html").get_attribute("dir") == "rtl"
    main = page.inner_text("main")
    assert "الأشخاص الذين ينوبون عنك" in main and "بطاقة السوابق العدلية" in main and "يمكنه مشاركتها" in main
    page.get_by_role("link", name="إنهاء هذه الوكالة").click()
    confirm = page.locator("#granted .proxy-confirm")
    confirm.wait_for(state="visible")
    assert "لن يرى هذا الشخص وثائقك" in confirm.inner_text()
    shot(page, "end-confirm-ar")
    page.get_by_role("button", name="نعم، أنهِها").click()
    page.wait_for_url(f"{base}/settings/proxies?done=ended")
    main = page.inner_text("main")
    assert "انتهت الوكالة." in main and "انتهت في" in main
    assert page.get_by_role("link", name="إنهاء هذه الوكالة").count() == 0
    ctx.close()


def test_without_javascript_the_server_asks_for_the_code(app: Any, live_server: str,
                                                          playwright_browser: Any) -> None:
    amina = enrol(app, GRANTOR, "Amina Benali")
    enrol(app, PROXY, "Karim Idrissi")
    _p, browser = playwright_browser
    ctx = browser.new_context(viewport={"width": 360, "height": 760}, locale="en", java_script_enabled=False)
    page = ctx.new_page()
    base = live_server
    sign_in(page, base, amina)
    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now + dt.timedelta(seconds=400), tick=True):
        page.goto(f"{base}/settings/proxies")
        fill_grant(page, PROXY)
        page.get_by_role("button", name="Give the proxy").click()
        assert page.locator("h1").inner_text() == "Confirm it's you"
        assert "enter a new code from your authenticator app" in page.inner_text("main")
        if SHOTS:
            for lang in ("fr", "ar"):  # the same page in the other languages (the form is posted again)
                page.goto(f"{base}/lang/{lang}?next=/settings/proxies")
                fill = {"fr": ("Numéro de CIN de la personne", "Seulement ces types :", "Extrait du casier judiciaire",
                               "Jusqu'au (inclus)", "Donner la procuration"),
                        "ar": ("رقم البطاقة الوطنية للشخص", "هذه الأنواع فقط:", "بطاقة السوابق العدلية",
                               "إلى غاية (مشمولاً)", "منح الوكالة")}[lang]
                page.get_by_label(fill[0]).fill(PROXY)
                page.get_by_label(fill[1]).check()
                page.get_by_label(fill[2]).check()
                page.get_by_label(fill[3]).fill(until(20))
                page.get_by_role("button", name=fill[4]).click()
                page.get_by_label({"fr": "Code à usage unique", "ar": "الرمز المؤقت"}[lang]).fill("000000")
                shot(page, f"stepup-page-{lang}")
            page.goto(f"{base}/lang/en?next=/settings/proxies")
            fill_grant(page, PROXY)
            page.get_by_role("button", name="Give the proxy").click()
        page.get_by_label("One-time code").fill("000000")
        page.get_by_role("button", name="Confirm", exact=True).click()
        assert "That did not work" in page.inner_text("main")
        shot(page, "stepup-page-en")
        page.get_by_label("One-time code").fill(amina.code())
        page.get_by_role("button", name="Confirm", exact=True).click()
        page.wait_for_url(f"{base}/settings/proxies?done=granted")
    card = page.locator("#granted li").first.inner_text()
    assert "Karim Idrissi" in card and "Criminal record extract" in card and "May share them" in card
    # ending it without JavaScript: the confirmation page
    page.get_by_role("link", name="End this proxy").click()
    assert page.locator("h1").inner_text() == "End this proxy?"
    shot(page, "end-page-en")
    page.get_by_role("button", name="Yes, end it").click()
    page.wait_for_url(f"{base}/settings/proxies?done=ended")
    assert "Proxy ended." in page.inner_text("main")

    # a passkey disabled after a cloned answer, as its holder sees it (the API tests make it happen for real)
    with app.app_context():
        db.session().add(Passkey(citizen_id=amina.id, credential_id=b"c" * 16, credential_data=b"-", name="Old phone",
                                 created_at=db.utcnow(), disabled_at=db.utcnow()))
        db.commit()
    for lang, words in (("en", "disabled — possibly copied"), ("fr", "désactivée — peut-être copiée"),
                        ("ar", "معطّل — ربما نُسخ")):
        page.goto(f"{base}/lang/{lang}?next=/settings/passkeys")
        card = page.locator("li.passkey").first.inner_text()
        assert "Old phone" in card and words in card
        shot(page, f"passkey-disabled-{lang}")
    ctx.close()
