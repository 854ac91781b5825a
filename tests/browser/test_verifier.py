"""The offline verifier (/verifier) in Chromium at 360 px: one online visit, then offline checks of QR payloads
made with `cwt` (tests/support/offline.py), in English and Arabic; `OCLI_SHOTS=dir` also saves screenshots."""
from __future__ import annotations

import os
import re
from typing import Any

import pytest

from tests.browser.test_pwa import axe_violations
from tests.support.offline import Platform, b64u, serve_on

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REVOKED_IDX, VALID_IDX = 9, 8
CACHED = ("async () => { const c = await caches.open('verifier-data');"
          " return !!(await c.match('/.well-known/wallet-keys.json')) && !!(await c.match('/api/v1/status-lists/1'))"
          " && !!(await caches.match('/verifier')); }")


@pytest.fixture
def platform(app: Any, agencies: Any) -> Platform:
    p = Platform()
    p.revoke(REVOKED_IDX)
    serve_on(app, p)  # before the live server starts
    return p


def online_once(ctx: Any, base: str, lang: str) -> Any:
    page = ctx.new_page()
    # as a clerk's phone (and the acceptance check) does it: the page settles, the worker is ready, and by then it
    # controls the page: the expression is true at its first evaluation (polling it would need 'unsafe-eval')
    page.goto(f"{base}/lang/{lang}?next=/verifier", wait_until="networkidle")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)  # an expression
    page.wait_for_function(CACHED, timeout=15000)
    return page


def run_check(page: Any, label: str, button: str, qr: str) -> str:
    page.reload(wait_until="load")
    assert page.locator("[data-result]").count() == 0  # nothing before the check
    page.get_by_label(label, exact=True).fill(qr)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_selector("[data-result]", timeout=10000)
    return str(page.locator("[data-result]").get_attribute("data-result"))


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("OCLI_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def test_verifier_offline_after_one_visit(platform: Platform, live_server: str, playwright_browser: Any) -> None:
    p, browser = playwright_browser
    platform.base = live_server
    valid = platform.qr(platform.claims(idx=VALID_IDX))
    revoked = platform.qr(platform.claims(idx=REVOKED_IDX))
    raw = platform.sign(platform.claims(idx=VALID_IDX))
    i = raw.index(b"AB123456")
    altered = f"{live_server}/v/tok123#{b64u(raw[:i] + b'AB123457' + raw[i + 8:])}"
    cases = [(valid, "valid"), (revoked, "revoked"), (altered, "invalid"), (valid[:-6] + "AAAAAA", "invalid"),
             (Platform(base=live_server).qr(), "unknown_key"), (f"{live_server}/v/tok123#hello", "invalid"),
             (platform.qr(platform.claims(exp_in=-60)), "expired")]

    ctx = browser.new_context(viewport={"width": 360, "height": 760}, locale="en-US")
    page = online_once(ctx, live_server, "en")
    # no BarcodeDetector in this Chromium: the camera reads frames with the vendored decoder instead
    assert page.get_by_role("button", name="Scan with the camera").is_visible()
    ctx.set_offline(True)
    for qr, want in cases:
        got = run_check(page, "QR content", "Check", qr)
        assert got == want, (want, qr)
        text = page.locator("[data-result]").inner_text()
        if want in ("valid", "revoked"):
            assert "Checked offline, status as of" in text and "Amina El Fassi" in text and "AB123456" in text
            assert "Criminal record" in text or "criminal" in text.lower()
            assert re.search(r"\b2 November 2026\b", text), text
        if want in ("invalid", "unknown_key"):
            assert "Amina" not in text  # nothing unsigned is shown
        if want != "invalid" or qr is altered:
            shot(page, f"en-{want}")
    ctx.set_offline(False)

    # Arabic: right to left, translated words, the same answers offline
    page = online_once(ctx, live_server, "ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    ctx.set_offline(True)
    assert run_check(page, "محتوى رمز QR", "تحقق", valid) == "valid"
    text = page.locator("[data-result]").inner_text()
    assert "صالحة" in text and "تم التحقق دون اتصال" in text and "Amina El Fassi" in text, text
    shot(page, "ar-valid")
    assert run_check(page, "محتوى رمز QR", "تحقق", revoked) == "revoked"
    assert "ملغاة" in page.locator("[data-result]").inner_text()
    # the language links of base.html ("FR" named "Français") are the shared header's, not this page's
    assert [v for v in axe_violations(page) if v["id"] != "label-content-name-mismatch"] == []
    shot(page, "ar-revoked")
    assert run_check(page, "محتوى رمز QR", "تحقق", altered) == "invalid"
    assert "غير صالحة" in page.locator("[data-result]").inner_text()
    shot(page, "ar-invalid")
    ctx.set_offline(False)

    # a cache older than the list's ttl (0 here): still valid, with a warning to reconnect; a 1 stays revoked
    platform.ttl = 0
    page = online_once(ctx, live_server, "en")
    ctx.set_offline(True)
    assert run_check(page, "QR content", "Check", valid) == "valid"
    assert re.search(r"Valid as of \d\d:\d\d, reconnect to refresh", page.locator("[data-result]").inner_text())
    shot(page, "en-stale")
    assert run_check(page, "QR content", "Check", revoked) == "revoked"
    assert "reconnect" not in page.locator("[data-result]").inner_text()
    ctx.set_offline(False)

    if os.environ.get("OCLI_SHOTS"):  # French wording, for the eyes
        page = online_once(ctx, live_server, "fr")
        for qr, want in ((valid, "valid"), (revoked, "revoked"), (altered, "invalid")):
            assert run_check(page, "Contenu du QR", "Vérifier", qr) == want
            shot(page, f"fr-{want}")
    ctx.close()
