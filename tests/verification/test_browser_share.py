"""Playwright on Debian's Chromium: a citizen shares, an anonymous phone opens the link (French, Arabic),
the citizen revokes, the phone sees red."""
from __future__ import annotations

import os
from typing import Any

import pyotp
import pytest

from tests.support.browser import ARGS, CHROMIUM
from tests.support.people import enrol

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's Chromium is not installed")]


@pytest.fixture
def citizen_secret(app: Any) -> str:
    return enrol(app, "AB123456", "Amina Benali", password="correct horse battery 9").totp_secret


def test_share_open_revoke(app: Any, issue: Any, citizen_secret: str, live_server: str, tmp_path: Any) -> None:
    doc = issue()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            phone = p.devices["Pixel 7"]
            holder = browser.new_context(**phone, locale="fr-FR")
            page = holder.new_page()
            r = page.request.post(f"{live_server}/api/v1/auth/login", data={
                "national_id": "AB123456", "password": "correct horse battery 9",
                "otp": pyotp.TOTP(citizen_secret).now()})
            assert r.ok, r.text()
            page.goto(f"{live_server}/share?doc={doc['id']}")
            page.select_option("#expires_in", "600")
            page.fill("#label", "Guichet")
            page.check("#allow_download")
            page.click("#share-form button[type=submit]")
            page.wait_for_selector("#share-result:not([hidden])")
            url = page.input_value("#share-url")
            assert "/v/" in url
            assert page.locator("#share-qr svg").count() == 1
            box = page.locator("#share-qr svg").bounding_box()
            assert box and box["width"] >= 250  # large, on a 412 px wide phone
            shot = tmp_path / "qr.png"
            page.locator("#share-qr").screenshot(path=str(shot))
            import zxingcpp
            from PIL import Image

            with Image.open(shot) as img:
                read = [b.text for b in zxingcpp.read_barcodes(img)]
            # the share's QR text: the link, then the signed offline payload after '#' (never sent to the server)
            assert len(read) == 1 and read[0].startswith(url + "#") and len(read[0]) <= 600
            page.wait_for_function("document.getElementById('share-countdown').textContent.includes(':')")
            page.screenshot(path=str(tmp_path / "holder.png"))
            page.click("#share-counter")
            assert page.locator("#counter").is_visible()
            page.click("#counter-close")

            path = url.split("://", 1)[1].split("/", 1)[1]
            verifier = browser.new_context(**phone)
            v = verifier.new_page()
            v.goto(f"{live_server}/{path}?lang=fr")
            assert v.locator("section.v-result.v-ok[data-result=valid]").is_visible()
            assert v.locator("html").get_attribute("lang") == "fr"
            v.screenshot(path=str(tmp_path / "valid-fr.png"), full_page=True)
            v.click("a[hreflang=ar]")
            assert v.locator("html").get_attribute("dir") == "rtl"
            assert v.locator("section.v-result.v-ok[data-result=valid]").is_visible()
            v.screenshot(path=str(tmp_path / "valid-ar.png"), full_page=True)

            page.reload()
            page.click("[data-revoke]")
            page.click("[data-revoke-confirm]")  # revoking asks first (issue 13)
            page.wait_for_selector(".s-item.s-revoked")

            v.goto(f"{live_server}/{path}?lang=ar")
            red = v.locator("section.v-result.v-bad[data-result=share_revoked]")
            assert red.is_visible()
            assert v.locator(".v-doc").count() == 0
            v.screenshot(path=str(tmp_path / "revoked-ar.png"), full_page=True)
        finally:
            browser.close()
