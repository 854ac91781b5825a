"""The citizen PWA in Chromium on a Pixel 7: enrol, sign in, read offline, Arabic, sign out, axe-core."""
from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest

from tests.support.browser import AXE
from tests.support.people import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    assert AXE.exists(), f"axe-core missing: run `npm ci --prefix frontend` ({AXE})"
    page.evaluate(AXE.read_text())  # not add_script_tag: the strict CSP blocks inline scripts
    found = page.evaluate("async () => (await axe.run(document, {runOnly: ['wcag2a','wcag2aa','wcag21a',"
                          "'wcag21aa','best-practice']})).violations.map(v => ({id: v.id, impact: v.impact,"
                          " n: v.nodes.length, target: v.nodes[0].target}))")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def field(page: Any, rx: str) -> Any:
    return page.get_by_label(re.compile(rx, re.IGNORECASE)).and_(page.locator(
        "input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=submit])"))


def fresh(secret: str, offset: int = 0) -> str:
    if time.time() % 30 > 27:  # not a code about to roll over
        time.sleep(30 - time.time() % 30 + 0.2)
    return pyotp.TOTP(secret).at(time.time() + 30 * offset)


NID = "AB123456"


@pytest.fixture
def invite_code(app: Any, push: Any, signed_pdf: Any) -> str:
    """Demo documents for NID (pushed before enrolment) and for somebody else; an invite code for NID."""
    for agency, doc_type in (("MJ", "criminal_record"), ("MEN", "school_report")):
        assert push(signed_pdf(agency), agency=agency, holder_id=NID, type=doc_type).status_code == 201
    other = enrol(app, "ZZ000999")
    assert push(signed_pdf("MJ"), holder_id=other.national_id, type="nationality").status_code == 201
    return str(app.test_cli_runner().invoke(args=["citizen", "invite", NID]).output.strip().splitlines()[-1])


def test_citizen_journey(invite_code: str, live_server: str, playwright_browser: Any) -> None:
    p, browser = playwright_browser
    base, nid, code = live_server, NID, invite_code

    ctx = browser.new_context(**p.devices["Pixel 7"], locale="en-US")
    foreign: list[str] = []
    ctx.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
    page = ctx.new_page()

    # enrol with the invite code
    page.goto(base + "/enrol")
    field(page, "national id").fill(nid)
    field(page, "enrolment code").fill(code)
    page.get_by_role("button", name="Continue").click()
    field(page, "^new password").fill("my long pass phrase")
    field(page, "repeat").fill("my long pass phrase")
    page.get_by_role("button", name="Continue").click()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    assert page.locator("img.qr").evaluate("e => e.complete && e.naturalWidth > 0")
    field(page, "one-time code").fill(fresh(secret))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(base + "/wallet")
    # sign out, then sign in with a TOTP code through the form (labels in English)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/")
    assert not axe_violations(page), "login page"
    field(page, "national id").fill(nid)
    field(page, "password").fill("my long pass phrase")
    field(page, "code").fill(fresh(secret, 1))
    page.get_by_role("button", name="Sign in", exact=True).click()  # not "Sign in with a passkey"
    page.wait_for_url(base + "/wallet")
    page.wait_for_load_state("networkidle")
    body = page.inner_text("body")
    assert "Criminal record extract" in body and "School report card" in body
    assert "Certificate of Moroccan nationality" not in body  # another citizen's document
    assert not axe_violations(page), "wallet"

    # open a document: preview drawn on the server
    page.locator("a[href*='/documents/']").first.click()
    page.wait_for_load_state("networkidle")
    doc_url = page.url
    img = page.locator("section.pages img").first
    assert img.evaluate("e => e.complete && e.naturalWidth > 100")
    preview_src = img.get_attribute("src")
    assert page.get_by_role("button", name="Read aloud").count() == 1
    assert page.get_by_role("link", name="Share").get_attribute("href").startswith("/share?doc=")
    assert not axe_violations(page), "document page"

    # the service worker controls the wallet; offline, the wallet and the opened document still read
    page.goto(base + "/wallet")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("!!navigator.serviceWorker.controller")
    page.goto(doc_url)  # through the worker now: the page and its preview go into the citizen's cache
    page.wait_for_load_state("networkidle")
    ctx.set_offline(True)
    page.goto(base + "/wallet")
    assert "Criminal record extract" in page.inner_text("body")
    assert page.locator("#offline").is_visible()
    page.goto(doc_url)
    assert page.locator(f"img[src='{preview_src}']").first.evaluate("e => e.complete && e.naturalWidth > 100")
    ctx.set_offline(False)

    # Arabic, right to left
    page.goto(base + "/wallet")
    page.locator("a[hreflang=ar]").click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert "بطاقة السوابق العدلية" in page.inner_text("body")
    ar = browser.new_context(**p.devices["Pixel 7"], locale="ar-MA")
    ap = ar.new_page()
    ap.goto(base + "/")
    assert ap.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    ar.close()
    page.locator("a[hreflang=en]").click()
    page.wait_for_load_state("networkidle")

    # sign out: nothing readable online or offline
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("caches.keys().then(k => k.filter(n => n.startsWith('user-')).length)") == 0
    for url in (base + "/wallet", doc_url):
        page.goto(url)
        assert "Criminal record extract" not in page.inner_text("body")
    ctx.set_offline(True)
    for url in (base + "/wallet", doc_url):
        try:
            page.goto(url)
        except Exception:  # noqa: BLE001, S112 - Chromium's own offline error page is fine
            continue
        assert "Criminal record extract" not in page.inner_text("body")
        assert page.locator(f"img[src='{preview_src}']").count() == 0
    ctx.set_offline(False)
    assert not foreign, foreign
    ctx.close()
