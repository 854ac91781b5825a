"""Passkeys in Chromium's virtual authenticator (CDP WebAuthn), at 360 px, en and ar (fr for the shots).

Sign in with password + code, add a passkey on /settings/passkeys, sign out, "Sign in with a passkey" signs in
alone (no ID typed); sharing a criminal record long after sign-in asks "Confirm it's you" inline and the share
goes through after a fresh code (en) or the passkey (ar). Browsers refuse 127.0.0.1 as an RP ID: the pages are
opened on http://localhost:PORT, the app's PUBLIC_BASE_URL being the live server's http://127.0.0.1:PORT.

PASSKEY_SHOTS=/tmp/shots-passkey saves screenshots.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tests.support.people import enrol

pytestmark = pytest.mark.browser

NID = "AB123456"


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("PASSKEY_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def share_after_step_up(page: Any, base: str, doc_id: str, lang: str, confirm: Any, title: str) -> None:
    page.goto(f"{base}/lang/{lang}?next=/share?doc={doc_id}")
    page.locator("#share-form button[type=submit]").click()
    box = page.locator("#stepup")
    box.wait_for(state="visible")
    assert title in box.inner_text()
    # the passkey is named in the text exactly when it is offered (the button)
    offered = box.locator("[data-stepup-passkey]").is_visible()
    assert box.locator('[data-stepup-text="passkey"]').is_visible() is offered
    assert box.locator('[data-stepup-text="otp"]').is_visible() is not offered
    shot(page, f"stepup-{lang}")
    confirm(box)
    page.locator("#share-result").wait_for(state="visible")
    assert box.is_hidden()
    assert page.locator("#share-url").input_value().startswith("http")


@pytest.fixture
def criminal_record(push: Any, signed_pdf: Any) -> str:
    """Pushed before Playwright starts (its sync API runs an event loop; pyHanko's signing wants its own)."""
    r = push(signed_pdf("MJ"), holder_id=NID, type="criminal_record")
    assert r.status_code == 201
    return str(r.get_json()["id"])


def test_passkey_journey_and_inline_step_up(app: Any, criminal_record: str, live_server: str,
                                            playwright_browser: Any) -> None:
    rt = app.extensions["wallet.runtime"]
    rt.settings = rt.settings.with_(public_base_url=live_server)  # 127.0.0.1:PORT → RP ID localhost
    base = live_server.replace("://127.0.0.1", "://localhost")
    person = enrol(app, NID, "Amina Benali")
    doc_id = criminal_record

    _p, browser = playwright_browser
    ctx = browser.new_context(viewport={"width": 360, "height": 760}, locale="en")
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True}})

    # password + code, then add a passkey
    page.goto(f"{base}/lang/en?next=/")
    page.get_by_label("National ID").fill(NID)
    page.get_by_label("Password").fill(person.password)
    page.get_by_label("One-time code").fill(person.code())
    page.locator("form:has(input[type=password]) [type=submit]").click()
    page.wait_for_url(f"{base}/wallet")
    page.goto(f"{base}/settings/sessions")
    page.get_by_role("link", name=re.compile("Passkeys")).click()
    page.get_by_label("Name of the new passkey").fill("Amina's phone")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(f"{base}/settings/passkeys?added=1")
    text = page.inner_text("main")
    assert "Passkey added." in text and "Amina's phone" in text and "Not used yet" in text
    shot(page, "passkeys-en")

    # sign out; the passkey alone signs in (no national ID typed)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/")
    login_text = page.inner_text("main")
    assert login_text.index("Sign in with a passkey") > login_text.index("One-time code")
    shot(page, "login-en")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{base}/wallet")
    assert page.get_by_role("button", name="Sign out").count() == 1

    now = dt.datetime.now(dt.UTC)
    # long after sign-in: sharing a criminal record asks inline; a fresh code confirms (en)
    with time_machine.travel(now + dt.timedelta(seconds=400), tick=True):
        def by_code(box: Any) -> None:
            box.get_by_label("One-time code").fill(person.code())
            box.get_by_role("button", name="Confirm", exact=True).click()

        share_after_step_up(page, base, doc_id, "en", by_code, "Confirm it's you")
    # later again, in Arabic: the passkey confirms
    with time_machine.travel(now + dt.timedelta(seconds=800), tick=True):
        def by_passkey(box: Any) -> None:
            box.get_by_role("button", name="استعمال مفتاح مرور").click()

        share_after_step_up(page, base, doc_id, "ar", by_passkey, "تأكيد هويتك")
        assert page.locator("html").get_attribute("dir") == "rtl"
    if os.environ.get("PASSKEY_SHOTS"):  # the French step-up box, and the pages in ar and fr
        with time_machine.travel(now + dt.timedelta(seconds=1200), tick=True):
            def by_code_fr(box: Any) -> None:
                shot(page, "stepup-fr")
                box.get_by_label("Code à usage unique").fill(person.code())
                box.get_by_role("button", name="Confirmer", exact=True).click()

            share_after_step_up(page, base, doc_id, "fr", by_code_fr, "Confirmez que c'est vous")
            for lang in ("ar", "fr"):
                page.goto(f"{base}/lang/{lang}?next=/settings/passkeys")
                shot(page, f"passkeys-{lang}")
            page.locator("form.logout [type=submit]").click()
            for lang in ("ar", "fr"):
                page.goto(f"{base}/lang/{lang}?next=/")
                shot(page, f"login-{lang}")
    ctx.close()
