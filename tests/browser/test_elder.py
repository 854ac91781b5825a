"""An elderly citizen on one phone (issue 13, items 13-14), in Chromium at 360 px, in en, fr and ar.

- Enrolment: the authenticator step offers a link that opens the authenticator app on the same phone (its
  ``otpauth://`` address carries the key), a "Copy the key" button that says "Copied" (and puts the key on the
  clipboard), and the steps in plain words.
- Sign-in links to the counter-visit explanation; a reset code from ``citizen reset`` leads, through a new password
  and a new authenticator, to the wallet.
- Read aloud: with a fake ``speechSynthesis`` (headless Chromium has no voice): the label becomes "Stop" and comes
  back when the speech ends or is stopped; without a voice for the language (or without speech at all), a sentence
  says so.

``ELDER_SHOTS=/some/dir`` also saves screenshots of every step.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.support.people import enrol

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = os.environ.get("ELDER_SHOTS")
PHONE = {"viewport": {"width": 360, "height": 760}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

WORDS = {
    "en": {"continue": "Continue", "confirm": "Confirm", "open": "Open my authenticator app", "copy": "Copy the key",
           "copied": "Copied", "forgot": "Forgot your password or lost your phone?", "have": "I have a reset code",
           "reset": "Set a new password", "sign_out": "Sign out", "read": "Read aloud", "stop": "Stop",
           "no_voice": "This phone has no voice for this language.", "counter": "national identity card",
           "steps": "Install a free authenticator app"},
    "fr": {"continue": "Continuer", "confirm": "Confirmer", "open": "Ouvrir mon application d'authentification",
           "copy": "Copier la clé", "copied": "Copié", "forgot": "Mot de passe oublié ou téléphone perdu\u00a0?",
           "have": "J'ai un code de réinitialisation", "reset": "Choisir un nouveau mot de passe",
           "sign_out": "Déconnexion", "read": "Lire à voix haute", "stop": "Arrêter",
           "no_voice": "Ce téléphone n'a pas de voix pour cette langue.", "counter": "carte nationale d'identité",
           "steps": "Installez sur ce téléphone"},
    "ar": {"continue": "متابعة", "confirm": "تأكيد", "open": "افتح تطبيق المصادقة", "copy": "انسخ المفتاح",
           "copied": "تم النسخ", "forgot": "نسيت كلمة المرور أو أضعت هاتفك؟", "have": "لديّ رمز إعادة التعيين",
           "reset": "تعيين كلمة مرور جديدة", "sign_out": "تسجيل الخروج", "read": "اقرأ بصوت عالٍ", "stop": "إيقاف",
           "no_voice": "لا يتوفر هذا الهاتف على صوت لهذه اللغة.", "counter": "بطاقتك الوطنية",
           "steps": "ثبّت على هذا الهاتف"},
}


def fresh(secret: str, offset: int = 0) -> str:
    if time.time() % 30 > 27:  # not a code about to roll over
        time.sleep(30 - time.time() % 30 + 0.2)
    return pyotp.TOTP(secret).at(time.time() + 30 * offset)


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def cli_code(app: Any, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["citizen", *args])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


def authenticator_step(page: Any, w: dict[str, str], lang: str, name: str) -> str:
    """The authenticator step as a person sees it; returns the key (from the copy button's clipboard)."""
    assert w["steps"] in page.inner_text("main")
    link = page.get_by_role("link", name=w["open"])
    href = link.get_attribute("href")
    key = page.locator("code.secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", key)
    assert href.startswith("otpauth://totp/Wallet:") and f"secret={key}" in href and "issuer=Wallet" in href
    assert link.bounding_box()["width"] >= 300  # a big target across the 360 px screen
    copy = page.get_by_role("button", name=w["copy"])
    copy.click()
    page.get_by_role("button", name=w["copied"]).wait_for()
    assert page.locator(".copy-status").inner_text() == w["copied"]
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling"
    shot(page, f"{name}-totp-{lang}")
    return key


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_enrol_and_reset_on_one_phone(app: Any, live_server: str, playwright_browser: Any, lang: str) -> None:
    w = WORDS[lang]
    invite = cli_code(app, "invite", "AB123456")
    bob = enrol(app, "CD654321")
    reset = cli_code(app, "reset", bob.national_id)
    p, browser = playwright_browser
    ctx = browser.new_context(**PHONE, locale=lang)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    ctx.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    page = ctx.new_page()

    # enrolment, three steps
    page.goto(live_server + "/enrol")
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    shot(page, f"enrol-start-{lang}")
    page.locator("#national_id").fill("AB123456")
    page.locator("#code").fill(invite)
    page.get_by_role("button", name=w["continue"]).click()
    page.locator("#new_password").fill("my long pass phrase")
    page.locator("#confirm_password").fill("my long pass phrase")
    shot(page, f"enrol-password-{lang}")
    page.get_by_role("button", name=w["continue"]).click()
    key = authenticator_step(page, w, lang, "enrol")
    page.locator("#otp").fill(fresh(key))
    page.get_by_role("button", name=w["confirm"]).click()
    page.wait_for_url(live_server + "/wallet")

    # signed out: the way back when the password or the phone is lost
    page.get_by_role("button", name=w["sign_out"]).click()
    page.wait_for_url(live_server + "/")
    shot(page, f"login-{lang}")
    page.get_by_role("link", name=w["forgot"]).click()
    page.wait_for_url(live_server + "/recover")
    assert page.get_by_role("heading", level=1).inner_text() == w["forgot"]
    assert w["counter"] in page.inner_text("main")
    shot(page, f"recover-{lang}")
    page.get_by_role("link", name=w["have"]).click()
    page.wait_for_url(live_server + "/reset")
    assert page.get_by_role("heading", level=1).inner_text() == w["reset"]
    shot(page, f"reset-start-{lang}")
    page.locator("#national_id").fill(bob.national_id)
    page.locator("#code").fill("WRON-GCOD-E234")
    page.get_by_role("button", name=w["continue"]).click()
    assert page.get_by_role("alert").is_visible()
    shot(page, f"reset-refused-{lang}")
    page.locator("#code").fill(reset)
    page.get_by_role("button", name=w["continue"]).click()
    page.locator("#new_password").fill("another long phrase")
    page.locator("#confirm_password").fill("another long phrase")
    page.get_by_role("button", name=w["continue"]).click()
    new_key = authenticator_step(page, w, lang, "reset")
    assert new_key != bob.totp_secret
    page.locator("#otp").fill(fresh(new_key))
    page.get_by_role("button", name=w["confirm"]).click()
    page.wait_for_url(live_server + "/wallet")
    ctx.close()


# a fake speech engine: records what is said, ends on demand (__speech.finish()); voices as given
FAKE_SPEECH = """
(() => {
  const voices = %s;
  const said = [];
  let current = null;
  const synth = {
    getVoices: () => voices,
    addEventListener: () => {}, removeEventListener: () => {},
    speak(u) { said.push({text: u.text, lang: u.lang, voice: u.voice && u.voice.name}); current = u; },
    cancel() { const u = current; current = null; if (u && u.onerror) u.onerror({error: "interrupted"}); },
    get speaking() { return current !== null; },
  };
  Object.defineProperty(window, "speechSynthesis", {value: synth, configurable: true});
  window.SpeechSynthesisUtterance = function (text) { this.text = text; this.lang = ""; this.voice = null; };
  window.__speech = {said, finish() { const u = current; current = null; if (u && u.onend) u.onend({}); }};
})();
"""
NO_SPEECH = 'Object.defineProperty(window, "speechSynthesis", {value: undefined, configurable: true});'


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_read_aloud_says_stop_and_explains_a_missing_voice(live_server: str, playwright_browser: Any,
                                                           lang: str) -> None:
    w = WORDS[lang]
    p, browser = playwright_browser
    voices = '[{"name": "Maryam", "lang": "ar-MA"}, {"name": "Amélie", "lang": "fr-FR"}, {"name": "Joe", "lang": "en_US"}]'

    def open_page(script: str) -> Any:
        ctx = browser.new_context(**PHONE, locale=lang)
        ctx.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
        ctx.add_init_script(script)
        page = ctx.new_page()
        page.goto(live_server + "/recover")
        return page

    # a voice for the language: ar-MA for Arabic; for English, en-GB and en-US missing, any English voice
    page = open_page(FAKE_SPEECH % voices)
    button = page.get_by_role("button", name=w["read"])
    button.click()
    page.get_by_role("button", name=w["stop"]).wait_for()
    [said] = page.evaluate("__speech.said")
    assert said["lang"] == ("ar-MA" if lang == "ar" else "en_US")
    assert said["voice"] == ("Maryam" if lang == "ar" else "Joe")
    assert w["counter"] in said["text"] and ("،" in said["text"] if lang == "ar" else True)
    page.evaluate("__speech.finish()")  # spoken to the end
    page.get_by_role("button", name=w["read"]).wait_for()
    button.click()  # again, then stopped half-way
    page.get_by_role("button", name=w["stop"]).click()
    page.get_by_role("button", name=w["read"]).wait_for()
    assert len(page.evaluate("__speech.said")) == 2
    assert not page.locator(".speak-status").is_visible()
    shot(page, f"speak-voice-{lang}")
    page.context.close()

    # no voice for the language (only a French voice), then no speech engine at all: a sentence, not silence
    for script in (FAKE_SPEECH % "[]", FAKE_SPEECH % '[{"name": "Amélie", "lang": "fr-FR"}]', NO_SPEECH):
        page = open_page(script)
        button = page.get_by_role("button", name=w["read"])
        assert button.is_visible()
        button.click()
        status = page.get_by_role("status").filter(has_text=w["no_voice"])
        status.wait_for()
        assert status.is_visible() and button.inner_text() == w["read"]
        assert page.evaluate("window.__speech ? __speech.said.length : 0") == 0
        shot(page, f"speak-novoice-{lang}")
        page.context.close()
