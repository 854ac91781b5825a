"""The local cache: ``DIR/state.json`` = {"base", "keys", "keys_at", "lists": {uri: {"jwt", "fetched_at"}}}.

``sync BASE`` downloads ``BASE/.well-known/wallet-keys.json``, the status list index ``BASE/api/v1/status-lists``
({"lists": [uri, ...]}; without it, lists 0, 1, 2, ... until the first 404) and refreshes every list already cached.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from wallet_verify.check import Malformed, keys_by_kid, read_status_list

STATE = "state.json"
TIMEOUT = 30
MAX_BODY = 4 * 1024 * 1024
PROBE_LIMIT = 256


def load(cache: Path) -> dict[str, Any]:
    try:
        state = json.loads((cache / STATE).read_text())
    except (OSError, ValueError):
        return {"keys": {"keys": []}, "lists": {}}
    return state if isinstance(state, dict) else {"keys": {"keys": []}, "lists": {}}


def save(cache: Path, state: dict[str, Any]) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=".state-")
    with os.fdopen(fd, "w") as f:
        json.dump(state, f)
    os.replace(tmp, cache / STATE)


def lists_of(state: dict[str, Any]) -> dict[str, tuple[str, float]]:
    out = {}
    for uri, entry in (state.get("lists") or {}).items():
        if isinstance(entry, dict) and isinstance(entry.get("jwt"), str):
            out[uri] = (entry["jwt"], float(entry.get("fetched_at") or 0))
    return out


def _get(session: requests.Session, url: str) -> requests.Response:
    return session.get(url, timeout=TIMEOUT, headers={"Accept": "application/json, application/statuslist+jwt"})


def sync(base: str, cache: Path, session: requests.Session | None = None) -> dict[str, Any]:
    """Refresh keys and lists; returns the new state. Raises requests errors or Malformed on a bad key set."""
    session = session or requests.Session()
    base = base.rstrip("/")
    state = load(cache)
    r = _get(session, f"{base}/.well-known/wallet-keys.json")
    r.raise_for_status()
    jwks = r.json()
    keys = keys_by_kid(jwks)
    if not keys:
        raise Malformed("the key set has no usable P-256 key")
    state.update(base=base, keys=jwks, keys_at=time.time())
    uris: list[str] = []
    index = _get(session, f"{base}/api/v1/status-lists")
    if index.ok and isinstance(_json(index), dict) and isinstance(_json(index).get("lists"), list):
        uris = [urljoin(base + "/", str(u)) for u in _json(index)["lists"]]
    else:
        uris = []
        for n in range(PROBE_LIMIT + 1):  # no index: lists 0 (if any), 1, 2, ... until the first missing one
            uri = f"{base}/api/v1/status-lists/{n}"
            if _fetch_list(session, uri, keys, state):
                uris.append(uri)
            elif n > 0:
                break
    lists = state.setdefault("lists", {})
    for uri in dict.fromkeys(uris + [u for u in lists if u.startswith(base + "/")]):
        _fetch_list(session, uri, keys, state)
    save(cache, state)
    return state


def _json(r: requests.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def _fetch_list(session: requests.Session, uri: str, keys: dict[str, Any], state: dict[str, Any]) -> bool:
    r = _get(session, uri)
    if not r.ok or len(r.content) > MAX_BODY:
        return False
    token = r.text.strip()
    try:
        read_status_list(token, keys)
    except Malformed:
        return False
    state.setdefault("lists", {})[uri] = {"jwt": token, "fetched_at": time.time()}
    return True
