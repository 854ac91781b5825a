"""The /verifier page as served: languages, what its script needs offline, headers, and the worker's cache list."""
from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(("code", "label", "button", "direction", "december"),
                         [("en", "QR content", "Check", "ltr", "December"), ("fr", "Contenu du QR", "Vérifier", "ltr", "décembre"),
                          ("ar", "محتوى رمز QR", "تحقق", "rtl", "دجنبر")])
def test_the_page_in_each_language(client: Any, agencies: Any, code: str, label: str, button: str, direction: str,
                                   december: str) -> None:
    client.get(f"/lang/{code}")
    r = client.get("/verifier")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and f'dir="{direction}"' in body
    assert f'<label for="qr-content">{label}</label>' in body and f">{button}</button>" in body
    config = json.loads(html.unescape(re.search(r'data-verifier="([^"]*)"', body).group(1)))
    assert config["months"][11] == december and "{0}" in config["moment"] and "{1}" in config["moment"]
    assert config["types"]["criminal_record"] and config["agencies"]["MJ"]
    assert set(config["texts"]) >= {"valid", "revoked", "expired", "invalid", "unknown_key", "offline_as_of", "stale",
                                    "offline_banner", "offline_no_data", "no_qr_in_photo", "reading_photo"}
    # the offline banner speaks to a clerk (the time is the script's: when the keys and lists were saved)
    assert "%(time)s" in config["texts"]["offline_banner"]
    assert re.search(r'<p id="offline" class="offline" role="status" hidden>[^<]+</p>', body)
    assert body.count('id="offline"') == 1
    wallet_banner = client.get("/offline").get_data(as_text=True)
    assert re.search(r'<p id="offline"[^>]*>([^<]+)</p>', wallet_banner).group(1) not in body
    assert "<script>" not in body and 'rel="manifest"' in body
    assert "camera=(self)" in r.headers["Permissions-Policy"]
    assert "script-src 'self';" in r.headers["Content-Security-Policy"]  # the strict policy: no eval, no inline
    assert "'unsafe-eval'" not in r.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]


def test_the_worker_caches_the_verifier_and_claims_its_clients(client: Any) -> None:
    sw = client.get("/sw.js").get_data(as_text=True)
    listed = json.loads(re.search(r"var VERIFIER = (\[.*?\]);", sw).group(1))
    assert listed[0] == "/verifier" and any("verifier.js" in u for u in listed) and any("cbor.js" in u for u in listed)
    for url in listed[1:]:
        assert client.get(url).status_code == 200
    assert "self.clients.claim()" in sw and "wallet-keys" in sw and "status-lists" in sw
    assert "__VERIFIER__" not in sw


def test_the_vendored_qr_decoder_is_served_cached_and_licensed(client: Any) -> None:
    """jsQR (the camera's and the photo's decoder where BarcodeDetector is missing): same origin, in the worker's
    list for offline use, with its licence and a README naming its version, origin and hash."""
    vendor = Path(__file__).resolve().parents[2] / "frontend" / "static" / "vendor"
    readme = (vendor / "README.md").read_text()
    body = (vendor / "jsQR.js").read_bytes()
    assert "jsQR 1.4.0" in readme and "Apache-2.0" in readme and "registry.npmjs.org/jsqr" in readme
    assert hashlib.sha256(body).hexdigest() in readme
    assert "Apache License" in (vendor / "jsQR.LICENSE").read_text()
    sw = client.get("/sw.js").get_data(as_text=True)
    listed = json.loads(re.search(r"var VERIFIER = (\[.*?\]);", sw).group(1))
    url = next(u for u in listed if "/static/vendor/jsQR.js" in u)
    page = client.get("/verifier").get_data(as_text=True)
    assert f'data-decoder="{url}"' in page  # the script loads the very URL the worker cached
    assert client.get(url).data == body
