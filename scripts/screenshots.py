"""``make screenshots``: every page of the service in ar, fr and en at 360 x 760, into screenshots/<lang>/<page>.png.

It starts the demo exactly as ``make run`` does (``python -m wallet.demo.serve``: embedded default, demo PKI,
agencies, citizen and documents pushed over HTTP), but on a free port and with its instance folder in a
temporary directory, so a running ``make run`` and its instance/ are left alone. Then Debian's Chromium, driven by
Playwright, signs in as the demo citizen of that run's demo.json (TOTP with pyotp), makes a share, looks at it as
a clerk would, uploads its sealed copy to /verify, and saves each page. The server is stopped at the end whatever
happens; the exit status is non-zero when anything failed. Look at the images: reviews find defects that way.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("SCREENSHOTS_DIR", ROOT / "screenshots"))
CHROMIUM = "/usr/bin/chromium"  # the same launch as tests/support/browser.py
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
LANGS = ("ar", "fr", "en")
VIEWPORT: ViewportSize = {"width": 360, "height": 760}
START_SECONDS = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo(instance: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STORAGE_URL", "PUBLIC_BASE_URL")}
    env.update(WALLET_INSTANCE=str(instance), PORT=str(port), HOST="127.0.0.1")
    log = (instance.parent / "server.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "wallet.demo.serve"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_demo(proc: subprocess.Popen[bytes], demo_file: Path) -> dict[str, Any]:
    """demo.json is written once the server answers and the demo documents are pushed."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the demo server exited with {proc.returncode}")
        if demo_file.exists():
            return json.loads(demo_file.read_text())  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise RuntimeError(f"the demo was not ready after {START_SECONDS} s")


def stop_demo(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # serve.py passes it on to gunicorn and exits with it
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the server and the workers it started
            proc.wait(10)


class Shooter:
    def __init__(self, base: str) -> None:
        self.base = base
        self.saved: list[Path] = []

    def shot(self, page: Page, lang: str, name: str, path: str | None = None, status: int = 200) -> None:
        if path is not None:
            resp = page.goto(self.base + path, wait_until="networkidle")
            if resp is None or resp.status != status:
                raise RuntimeError(f"{path} ({lang}) answered {resp.status if resp else 'nothing'}, not {status}")
        else:
            page.wait_for_load_state("networkidle")
        target = OUT / lang / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
        self.saved.append(target)


def context(browser: Browser, base: str, lang: str) -> BrowserContext:
    ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale={"ar": "ar-MA"}.get(lang, lang))
    ctx.add_cookies([{"name": "lang", "value": lang, "url": base}])
    return ctx


def sign_in(page: Page, base: str, citizen: dict[str, Any]) -> None:
    page.goto(base + "/", wait_until="networkidle")
    page.fill("#national_id", citizen["national_id"])
    page.fill("#password", citizen["password"])
    page.fill("#otp", pyotp.TOTP(citizen["totp_secret"]).now())
    with page.expect_navigation():
        page.click("form button[type=submit]")
    if not page.url.startswith(base + "/wallet"):
        raise RuntimeError(f"signing in as the demo citizen ended on {page.url}")


def make_share(page: Page, base: str, doc_id: str) -> dict[str, Any]:
    csrf = page.request.get(base + "/api/v1/auth/session").json()["csrf_token"]
    resp = page.request.post(base + "/api/v1/me/shares", headers={"X-CSRF-Token": csrf}, data={
        "document_ids": [doc_id], "expires_in": 86400, "max_views": None, "label": "Banque Populaire",
        "allow_download": True})
    if resp.status != 201:
        raise RuntimeError(f"creating a share answered {resp.status}: {resp.text()[:300]}")
    return resp.json()  # type: ignore[no-any-return]


def shoot(base: str, demo: dict[str, Any], work: Path) -> list[Path]:
    shooter = Shooter(base)
    citizen = demo["citizens"][0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        holder = context(browser, base, LANGS[0])
        page = holder.new_page()
        sign_in(page, base, citizen)  # once: a TOTP code is accepted once; the language is a cookie
        docs = page.request.get(base + "/api/v1/me/documents").json()["documents"]
        if not docs:
            raise RuntimeError("the demo citizen has no document")
        doc_id = docs[0]["id"]
        share = make_share(page, base, doc_id)
        token = share["url"].rstrip("/").rsplit("/", 1)[-1]
        sealed = work / "sealed-copy.pdf"
        copy = page.request.get(f"{base}/v/{token}/copy.pdf")
        if copy.status != 200:
            raise RuntimeError(f"the sealed copy answered {copy.status}")
        sealed.write_bytes(copy.body())
        for lang in LANGS:
            holder.add_cookies([{"name": "lang", "value": lang, "url": base}])
            clerk = context(browser, base, lang)
            other = clerk.new_page()
            shooter.shot(other, lang, "sign-in", "/")
            shooter.shot(other, lang, "enrol", "/enrol")
            shooter.shot(other, lang, "share-link", f"/v/{token}")  # the clerk's view of the QR's link
            shooter.shot(other, lang, "verify", "/verify")
            other.set_input_files("#file", str(sealed))
            with other.expect_navigation():
                other.click("form.v-form button[type=submit]")
            shooter.shot(other, lang, "verify-report")
            shooter.shot(other, lang, "error-not-found", "/no-such-page", status=404)
            clerk.close()
            shooter.shot(page, lang, "wallet", "/wallet")
            shooter.shot(page, lang, "document", f"/documents/{doc_id}")
            shooter.shot(page, lang, "share", "/share")
            shooter.shot(page, lang, "activity", "/activity")
            shooter.shot(page, lang, "sessions", "/settings/sessions")
        browser.close()
    return shooter.saved


def main() -> int:
    if not os.path.exists(CHROMIUM):
        print(f"make screenshots needs Debian's Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="wallet-screenshots-") as tmp:
        work = Path(tmp)
        instance = work / "instance"
        port = free_port()
        print(f"starting the demo on port {port} (instance under {instance}) ...", flush=True)
        proc = start_demo(instance, port)
        try:
            demo = wait_for_demo(proc, instance / "demo.json")
            saved = shoot(demo["base_url"], demo, work)
        except Exception as exc:  # noqa: BLE001 - any failure: say what, show the server's log, exit non-zero
            print(f"screenshots failed: {exc}", file=sys.stderr)
            log = work / "server.log"
            if log.exists():
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            return 1
        finally:
            stop_demo(proc)
    print(f"{len(saved)} screenshots in {OUT}/<lang>/ ({', '.join(LANGS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
