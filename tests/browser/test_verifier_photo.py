"""The offline verifier without BarcodeDetector (deleted by an init script): real shares' QR codes, drawn with the
`qrcode` library and set in a larger, tilted "photo", are read by the vendored jsQR through the photo input, offline
after one visit, in Arabic and English at 360 px; the offline banner speaks to the clerk. `OCLI_SHOTS=dir` also
saves screenshots (and French ones)."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image

from tests.browser.test_pwa import axe_violations
from tests.browser.test_verifier import online_once, shot
from tests.support.browser import ARGS, CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NO_DETECTOR = "delete window.BarcodeDetector;"
PHOTO = {"en": "Photo of the QR code", "fr": "Photo du QR", "ar": "صورة لرمز QR"}
VALID = {"en": "Valid", "fr": "Valide", "ar": "صالحة"}
BANNER = {"en": r"Offline — checks use keys and status as of \d\d:\d\d",
          "fr": r"Hors ligne — vérifications avec les clés et statuts au \d\d:\d\d",
          "ar": r"دون اتصال — يعتمد التحقق على المفاتيح والحالة بتاريخ \d\d:\d\d"}


def picture_of(text: str, size: tuple[int, int], box: int, angle: float) -> Any:
    """A phone-like picture: the QR (as the `qrcode` library draws it) tilted on a wider grey background."""
    code = qrcode.make(text, box_size=box, border=4).get_image().convert("L")
    code = code.rotate(angle, expand=True, fillcolor=200)
    picture = Image.new("L", size, 200)
    picture.paste(code, ((size[0] - code.width) // 2, (size[1] - code.height) // 2))
    return picture


def photo_of(text: str, path: Path) -> Path:
    buf = io.BytesIO()
    picture_of(text, (1600, 1200), 6, 7.0).convert("RGB").save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def video_of(text: str, path: Path, frames: int = 10) -> Path:
    """A Y4M clip (4:2:0) of the QR for Chromium's fake camera (--use-file-for-fake-video-capture)."""
    picture = picture_of(text, (640, 640), 4, -5.0).convert("YCbCr")
    y, cb, cr = picture.split()
    half = (picture.width // 2, picture.height // 2)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    header = f"YUV4MPEG2 W{picture.width} H{picture.height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path


@pytest.fixture
def real_qrs(app: Any, live_server: str, holder: Any, issue: Any, revoke: Any, tmp_path: Path) -> dict[str, Path]:
    """Two real shares made by the service (before the browser starts: sealing runs asyncio.run), the second's
    document then revoked by its agency; their qr_text as photos, and a photo with no QR in it."""
    rt = app.extensions["wallet.runtime"]
    rt.settings = rt.settings.with_(public_base_url=live_server)  # the payload's status URI on this server
    out: dict[str, Path] = {}
    for name in ("valid", "revoked"):
        doc = issue()
        r = holder.share([doc["id"]], expires_in=600)
        assert r.status_code == 201, r.get_data(as_text=True)
        text = r.get_json()["qr_text"]
        assert text.startswith(f"{live_server}/v/") and "#" in text
        out[name] = photo_of(text, tmp_path / f"{name}.jpg")
        out[f"{name}-video"] = video_of(text, tmp_path / f"{name}.y4m")
        if name == "revoked":
            revoke(doc["id"])
    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 600), (180, 200, 220)).save(blank)
    out["blank"] = blank
    return out


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect  # noqa: PLC0415 - as tests/browser/conftest.py

    return playwright_expect(locator)


def pick(page: Any, label: str, path: Path) -> str | None:
    page.reload(wait_until="load")
    assert page.evaluate("typeof window.BarcodeDetector") == "undefined"
    assert page.locator("[data-result]").count() == 0
    page.get_by_label(label, exact=True).set_input_files(str(path))
    page.wait_for_selector("[data-result], [data-note=no_qr_in_photo]", timeout=30000)
    got = page.locator("[data-result]")
    return str(got.get_attribute("data-result")) if got.count() else None


@pytest.mark.parametrize("lang", ["ar", "en"] + (["fr"] if os.environ.get("OCLI_SHOTS") else []))
def test_a_photo_of_a_real_qr_without_barcode_detector(real_qrs: dict[str, Path], live_server: str,
                                                        playwright_browser: Any, lang: str) -> None:
    _p, browser = playwright_browser
    ctx = browser.new_context(viewport={"width": 360, "height": 760}, locale="en-US")
    ctx.add_init_script(NO_DETECTOR)
    page = online_once(ctx, live_server, lang)
    assert page.locator("#offline").is_hidden()
    photo = page.get_by_label(PHOTO[lang], exact=True)
    assert photo.get_attribute("type") == "file" and photo.get_attribute("accept") == "image/*"
    assert photo.get_attribute("capture") == "environment"
    assert page.locator("label[for=photo]").is_visible()
    assert page.evaluate("typeof window.jsQR") == "undefined"  # loaded only when a picture is read

    ctx.set_offline(True)  # the decoder comes from the worker's cache, like the rest of the page
    assert pick(page, PHOTO[lang], real_qrs["valid"]) == "valid"
    assert page.evaluate("typeof window.jsQR") == "function"
    text = page.locator("[data-result]").inner_text()
    assert VALID[lang] in text and "Amina Benali" in text and "AB123456" in text, text
    banner = page.locator("#offline")  # filled once the script has read the saved copies' times
    expect(banner).to_have_text(re.compile(f"^{BANNER[lang]}$"), timeout=10000)
    assert banner.is_visible()
    assert "documents you have opened" not in page.locator("body").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, f"{lang}-photo-valid")

    assert pick(page, PHOTO[lang], real_qrs["revoked"]) == "revoked"  # the list synced at the visit has its bit
    shot(page, f"{lang}-photo-revoked")
    assert pick(page, PHOTO[lang], real_qrs["blank"]) is None  # no QR: said, and no verdict
    assert page.locator("#verdict").inner_text().strip() != ""
    assert [v for v in axe_violations(page) if v["id"] != "label-content-name-mismatch"] == []
    shot(page, f"{lang}-photo-none")
    ctx.close()


def test_the_camera_without_barcode_detector(real_qrs: dict[str, Path], live_server: str) -> None:
    """Chromium's fake camera plays a clip of a real share's QR: frames go through a canvas to jsQR."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - as tests/browser/conftest.py: at use

    fake = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={real_qrs['valid-video']}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS + fake)
        try:
            ctx = browser.new_context(viewport={"width": 360, "height": 760}, locale="en-US")
            ctx.add_init_script(NO_DETECTOR)
            ctx.grant_permissions(["camera"], origin=live_server)
            page = online_once(ctx, live_server, "en")
            page.get_by_role("button", name="Scan with the camera").click()
            page.wait_for_selector("[data-result]", timeout=20000)
            assert page.locator("[data-result]").get_attribute("data-result") == "valid"
            assert page.evaluate("typeof window.jsQR") == "function"
            assert page.locator("#camera").is_hidden()  # the camera stops once a code is read
            assert page.get_by_role("button", name="Scan with the camera").get_attribute("aria-pressed") == "false"
            assert "Amina Benali" in page.locator("[data-result]").inner_text()
            ctx.close()
        finally:
            browser.close()
