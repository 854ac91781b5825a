"""Static assets with content-hashed URLs (cached for a year), and the service worker's app shell."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import url_for

from config.settings import FRONTEND

STATIC = FRONTEND / "static"
SHELL = ("css/app.css", "js/app.js", "js/speak.js", "icons/icon.svg", "icons/icon-192.png",
         "icons/icon-512.png", "icons/maskable-512.png")
VERIFIER = ("js/cbor.js", "js/verifier.js", "css/verifier.css", "vendor/jsQR.js")  # the offline verifier's own files


@lru_cache(maxsize=64)
def digest(path: str) -> str:
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]


def asset(path: str) -> str:
    return url_for("static", filename=path, v=digest(path))


def shell_version() -> str:
    h = hashlib.sha256()
    for p in SHELL + VERIFIER:
        h.update(digest(p).encode())
    h.update((STATIC / "js" / "sw.js").read_bytes())
    return h.hexdigest()[:12]


def sw_source() -> str:
    return (STATIC / "js" / "sw.js").read_text()


def read(path: str) -> Path:
    return STATIC / path
