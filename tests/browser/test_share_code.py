"""A clerk at 360 px types the holder's 12-digit share code on /verify (en, ar, fr) and sees the same result as the
link's page; a mistyped code says the link is unknown. CODE_SHOTS=<dir> saves screenshots."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 360, "height": 760}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
SHOTS = os.environ.get("CODE_SHOTS", "")
LABEL = {"en": "Share code", "fr": "Code de partage", "ar": "رمز المشاركة"}
BUTTON = {"en": "Check the code", "fr": "Vérifier le code", "ar": "تحقق من الرمز"}


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def codes(live_server: str, holder: Any, issue: Any) -> dict[str, str]:
    """One counter share per language (sealed before the browser starts: pyHanko runs asyncio.run)."""
    return {lang: holder.share([issue()["id"]], expires_in=600).get_json()["code"] for lang in LABEL}


def test_a_clerk_checks_a_share_code(live_server: str, codes: dict[str, str], playwright_browser: Any) -> None:
    _p, browser = playwright_browser
    context = browser.new_context(**PHONE)
    page = context.new_page()
    for lang, code in codes.items():
        page.goto(f"{live_server}/verify?lang={lang}")
        field = page.get_by_role("textbox", name=LABEL[lang], exact=True)
        assert field.is_visible()
        _shot(page, f"verify-code-form-{lang}")
        field.fill(f"{code[:4]} {code[4:8]} {code[8:]}")
        page.get_by_role("button", name=BUTTON[lang]).click()
        result = page.locator("[data-result]")
        assert result.get_attribute("data-result") == "valid"
        assert result.is_visible()
        # the same page images and download link as the link's page (served by the look's grant)
        image = page.locator("img[src^='/verify/code/pages/0/1.png?g=']")
        image.scroll_into_view_if_needed()
        page.wait_for_load_state("networkidle")
        assert image.is_visible() and image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert page.locator("a[download][href^='/verify/code/copy.pdf?item=0&g=']").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        _shot(page, f"verify-code-result-{lang}")
    page.goto(f"{live_server}/verify?lang=en")
    page.get_by_role("textbox", name="Share code", exact=True).fill(codes["en"][:-1] + str((int(codes["en"][-1]) + 1) % 10))
    page.get_by_role("button", name="Check the code").click()
    assert page.locator("[data-result]").get_attribute("data-result") == "unknown"
    _shot(page, "verify-code-unknown-en")
    context.close()
