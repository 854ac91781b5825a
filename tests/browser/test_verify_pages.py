"""What a clerk sees on a phone (360 px) in English, Arabic and French: the QR link's page with the document's
pages, the holder's national ID and key facts, the checks in plain words; the upload page with its big file
picker, a valid sealed copy, and the copy of a share the holder withdrew. No ETSI word outside the collapsed
technical details. CLERK_SHOTS=<dir> saves a screenshot of each page."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.shares import token_of

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 360, "height": 760}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
SHOTS = os.environ.get("CLERK_SHOTS", "")

WORDS = {
    "en": {"fact": "Convictions", "none": "None", "unchanged": "and unchanged since", "valid": "Currently valid",
           "link": "This link is valid until", "pick": "Choose the PDF file", "ok": "Valid",
           "sealed": "Sealed by the wallet on", "withdrawn": "Shared copy withdrawn", "todo": "What to do now:",
           "nofile": "No file chosen yet", "verify": "Verify"},
    "fr": {"fact": "Condamnations", "none": "Néant", "unchanged": "et inchangé depuis le", "valid": "Actuellement valide",
           "link": "Ce lien est valable jusqu'au", "pick": "Choisir le fichier PDF", "ok": "Valide",
           "sealed": "Scellé par le portefeuille le", "withdrawn": "Copie partagée retirée",
           "todo": "Que faire maintenant :", "nofile": "Aucun fichier choisi pour l'instant", "verify": "Vérifier"},
    "ar": {"fact": "الإدانات", "none": "لا شيء", "unchanged": "ولم تتغير منذ", "valid": "سارية حاليًا",
           "link": "هذا الرابط صالح حتى", "pick": "اختر ملف PDF", "ok": None,
           "sealed": "خُتمت من قِبل المحفظة في", "withdrawn": "النسخة المشتركة مسحوبة", "todo": "ما العمل الآن:",
           "nofile": "لم يتم اختيار أي ملف بعد", "verify": None},
}
JARGON = ("TOTAL_FAILED", "TOTAL_PASSED", "FORMAT_FAILURE", "Status: valid", "PdfReadError", "T0", "+00:00")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _no_jargon(text: str) -> None:
    for word in JARGON:
        assert word not in text, word


@pytest.fixture
def seeded(app: Any, holder: Any, issue: Any, tmp_path: Path) -> dict[str, Any]:
    """A live share and a withdrawn one, with their sealed copies on disk (made before the browser starts:
    sealing runs pyHanko's asyncio.run, which cannot run inside Playwright's loop)."""
    doc = issue(attributes={"convictions": "none"})
    share = holder.share([doc["id"]], allow_download=True).get_json()
    withdrawn = holder.share([doc["id"]], allow_download=True).get_json()
    anon = app.test_client()
    (tmp_path / "sealed-copy.pdf").write_bytes(anon.get(f"/v/{token_of(share)}/copy.pdf").data)
    (tmp_path / "withdrawn-copy.pdf").write_bytes(anon.get(f"/v/{token_of(withdrawn)}/copy.pdf").data)
    (tmp_path / "not-a-pdf.pdf").write_bytes(b"hello")
    holder.client.delete(f"/api/v1/me/shares/{withdrawn['id']}", headers=holder.headers)
    return {"share": share, "withdrawn": withdrawn}


def test_the_clerk_sees_the_document_and_plain_words(holder: Any, seeded: dict[str, Any], live_server: str,
                                                     tmp_path: Path, playwright_browser: Any) -> None:
    share, withdrawn = seeded["share"], seeded["withdrawn"]
    p, browser = playwright_browser
    ctx = browser.new_context(**PHONE)
    page = ctx.new_page()
    base = live_server
    for lang in ("en", "ar", "fr"):
        w = WORDS[lang]
        # the QR link's page
        page.goto(f"{base}/v/{token_of(share)}?lang={lang}")
        page.wait_for_load_state("load")
        img = page.locator(".v-pages img").first
        img.scroll_into_view_if_needed()
        page.wait_for_function("() => { const i = document.querySelector('.v-pages img'); "
                               "return i && i.complete && i.naturalWidth > 0; }")
        width = img.evaluate("i => i.getBoundingClientRect().width")
        assert 250 < width <= 360, width  # the page fits the phone
        text = page.locator("main").inner_text()
        assert holder.national_id in text and holder.name in text
        assert w["fact"] in text and w["none"] in text
        assert w["unchanged"] in text and w["valid"] in text and w["link"] in text
        _no_jargon(text)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        _shot(page, f"v-valid-{lang}")
        # the withdrawn link
        page.goto(f"{base}/v/{token_of(withdrawn)}?lang={lang}")
        assert w["todo"] in page.locator("main").inner_text()
        _shot(page, f"v-revoked-{lang}")

        # the upload page: the picker is labelled in the page's language, not the browser's
        page.goto(f"{base}/verify?lang={lang}")
        picker = page.locator("label.v-file")
        assert w["pick"] in picker.inner_text() and w["nofile"] in picker.inner_text()
        assert "Choose File" not in page.locator("main").inner_text()
        _shot(page, f"verify-empty-{lang}")
        page.set_input_files("#file", str(tmp_path / "sealed-copy.pdf"))
        assert "sealed-copy.pdf" in picker.inner_text()
        page.locator("form[enctype='multipart/form-data'] button.v-button[type=submit]").click()
        page.wait_for_selector("[data-verdict]")
        text = page.locator("main").inner_text()
        assert page.locator("[data-verdict]").get_attribute("data-verdict") == "valid"
        if w["ok"]:
            assert w["ok"] in page.locator("[data-verdict] .v-word").inner_text()
        assert w["unchanged"] in text and w["sealed"] in text and w["link"] in text
        _no_jargon(text)
        assert page.evaluate("() => document.documentElement.lang") == lang
        # the ETSI words are there, once the technical details are opened
        page.locator("details.v-details summary").click()
        assert "TOTAL_PASSED" in page.locator("main").inner_text()
        assert "TOTAL_FAILED" not in page.locator("main").inner_text()
        _shot(page, f"verify-valid-{lang}")
        # the copy of a withdrawn share
        page.set_input_files("#file", str(tmp_path / "withdrawn-copy.pdf"))
        page.locator("form[enctype='multipart/form-data'] button.v-button[type=submit]").click()
        page.wait_for_selector("[data-verdict='share_revoked']")
        text = page.locator("main").inner_text()
        assert w["withdrawn"] in text and w["todo"] in text
        _no_jargon(text)
        _shot(page, f"verify-withdrawn-{lang}")
        # not a PDF: said in the page's language, with what to do
        page.set_input_files("#file", str(tmp_path / "not-a-pdf.pdf"))
        page.locator("form[enctype='multipart/form-data'] button.v-button[type=submit]").click()
        page.wait_for_selector(".v-result.v-bad")
        assert w["todo"] in page.locator("main").inner_text()
        _shot(page, f"verify-failure-{lang}")
    ctx.close()
