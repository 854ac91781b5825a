"""wallet-verify, the relying parties' offline checker: results from payloads and lists made with `cwt` here."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from wallet_verify.cache import lists_of, load, save, sync
from wallet_verify.check import verify_qr
from wallet_verify.cli import main

from tests.support.offline import Platform, b64u


def _cache(tmp_path: Path, p: Platform, fetched_at: float | None = None) -> Path:
    save(tmp_path, {"keys": p.jwks(), "lists": {p.list_uri(): {"jwt": p.status_list_jwt(),
                                                                "fetched_at": fetched_at or time.time()}}})
    return tmp_path


def _check(qr: str, cache: Path, capsys: Any) -> tuple[int, str]:
    code = main(["check", qr, "--cache", str(cache)])
    return code, capsys.readouterr().out


def test_valid_prints_the_facts_and_exits_0(tmp_path: Path, capsys: Any) -> None:
    p = Platform()
    code, out = _check(p.qr(), _cache(tmp_path, p), capsys)
    assert code == 0, out
    assert out.splitlines()[0] == "result: valid"
    assert "holder: Amina El Fassi" in out and "national ID: AB123456" in out and "criminal_record" in out
    assert "issuer: MJ" in out and "issued: 2026-11-02" in out and "status as of:" in out
    assert "warning" not in out


def test_revoked_bit_reads_revoked(tmp_path: Path, capsys: Any) -> None:
    p = Platform()
    p.revoke(3)
    code, out = _check(p.qr(p.claims(idx=3)), _cache(tmp_path, p), capsys)
    assert code != 0 and out.splitlines()[0] == "result: revoked"
    # a neighbour of the revoked index is still valid: the bit order is LSB first
    assert verify_qr(p.qr(p.claims(idx=2)), p.jwks(), lists_of(load(tmp_path))).result == "valid"
    assert verify_qr(p.qr(p.claims(idx=4)), p.jwks(), lists_of(load(tmp_path))).result == "valid"


def test_expired_share(tmp_path: Path, capsys: Any) -> None:
    p = Platform()
    code, out = _check(p.qr(p.claims(exp_in=-60)), _cache(tmp_path, p), capsys)
    assert code != 0 and out.splitlines()[0] == "result: expired"


def test_unknown_key(tmp_path: Path, capsys: Any) -> None:
    p, other = Platform(), Platform()
    code, out = _check(other.qr(), _cache(tmp_path, p), capsys)
    assert code != 0 and out.splitlines()[0] == "result: unknown_key"


def test_one_altered_claim_is_invalid(tmp_path: Path, capsys: Any) -> None:
    p = Platform()
    raw = p.sign(p.claims())
    i = raw.index(b"AB123456")
    altered = raw[:i] + b"AB123457" + raw[i + 8:]
    code, out = _check(f"{p.base}/v/t#{b64u(altered)}", _cache(tmp_path, p), capsys)
    assert code != 0 and out.splitlines()[0] == "result: invalid"


@pytest.mark.parametrize("fragment", ["not base64!", b64u(b"\xa1\x01\x02"), b64u(b"\xd8\x3d\x80"), "", "AAAA"])
def test_a_non_cose_fragment_is_invalid(tmp_path: Path, capsys: Any, fragment: str) -> None:
    p = Platform()
    code, out = _check(f"{p.base}/v/t#{fragment}", _cache(tmp_path, p), capsys)
    assert code != 0 and out.splitlines()[0] == "result: invalid"


def test_over_600_bytes_is_invalid_even_when_signed(tmp_path: Path, capsys: Any) -> None:
    p = Platform()
    qr = p.qr(p.claims(hnm="A" * 400))
    assert len(qr) > 600
    assert verify_qr(qr, p.jwks(), {}).result == "invalid"
    assert len(p.qr()) <= 600


def test_stale_cache_warns_valid_as_of(tmp_path: Path, capsys: Any) -> None:
    p = Platform()
    old = time.time() - 3600  # ttl is 300 s
    code, out = _check(p.qr(), _cache(tmp_path, p, fetched_at=old), capsys)
    assert code == 0 and out.splitlines()[0] == "result: valid"
    assert "valid as of" in out and "reconnect to refresh" in out
    p.revoke(3)
    code, out = _check(p.qr(), _cache(tmp_path, p, fetched_at=old), capsys)
    assert out.splitlines()[0] == "result: revoked" and code != 0


def test_a_forged_status_list_is_not_used(tmp_path: Path, capsys: Any) -> None:
    p, forger = Platform(), Platform()
    p.revoke(3)
    save(tmp_path, {"keys": p.jwks(), "lists": {p.list_uri(): {"jwt": forger.status_list_jwt(), "fetched_at": 1.0}}})
    code, out = _check(p.qr(), tmp_path, capsys)
    assert code != 0 and "run sync" in out


def test_no_cache_is_not_valid(tmp_path: Path, capsys: Any) -> None:
    p = Platform()
    code, out = _check(p.qr(), tmp_path / "none", capsys)
    assert code != 0 and out.splitlines()[0] == "result: unknown_key"


class _Resp:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code, self.content = status, body
        self.ok, self.text = status < 400, body.decode()

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if not self.ok:
            raise RuntimeError(self.status_code)


class _Server:
    """requests.Session stand-in answering the platform's paths (the live-server variant is the browser test)."""

    def __init__(self, p: Platform, index: bool) -> None:
        self.p, self.index, self.seen = p, index, []  # type: list[str]

    def get(self, url: str, **_: Any) -> _Resp:
        self.seen.append(url)
        path = url.removeprefix(self.p.base)
        if path == "/.well-known/wallet-keys.json":
            return _Resp(200, json.dumps(self.p.jwks()).encode())
        if path == "/api/v1/status-lists" and self.index:
            return _Resp(200, json.dumps({"lists": [f"/api/v1/status-lists/{i}" for i in self.p.lists]}).encode())
        if path.startswith("/api/v1/status-lists/") and path.rsplit("/", 1)[1] in self.p.lists:
            return _Resp(200, self.p.status_list_jwt(path.rsplit("/", 1)[1]).encode())
        return _Resp(404, b"{}")


@pytest.mark.parametrize("index", [True, False])
def test_sync_then_check_offline(tmp_path: Path, capsys: Any, index: bool) -> None:
    p = Platform(base="https://wallet.example")
    p.lists["2"] = bytearray(16)
    p.revoke(5, "2")
    server = _Server(p, index)
    state = sync(p.base, tmp_path, server)  # type: ignore[arg-type]
    assert set(state["lists"]) == {p.list_uri("1"), p.list_uri("2")}
    assert _check(p.qr(p.claims(idx=5, list_id="1")), tmp_path, capsys)[0] == 0
    code, out = _check(p.qr(p.claims(idx=5, list_id="2")), tmp_path, capsys)
    assert code != 0 and "revoked" in out


def test_trailing_bytes_after_the_cose_structure_are_invalid(tmp_path: Path) -> None:
    p = Platform()
    raw = p.sign(p.claims())
    assert verify_qr(f"{p.base}/v/t#{b64u(raw)}", p.jwks(), {}).result == "valid"
    assert verify_qr(f"{p.base}/v/t#{b64u(raw + bytes(1))}", p.jwks(), {}).result == "invalid"


def test_a_list_cached_under_another_host_name_is_found_by_path(tmp_path: Path, capsys: Any) -> None:
    p = Platform(base="http://127.0.0.1:5000")
    p.revoke(3)
    save(tmp_path, {"keys": p.jwks(), "lists": {"http://localhost:5000/api/v1/status-lists/1":
                                                {"jwt": p.status_list_jwt(), "fetched_at": time.time()}}})
    code, out = _check(p.qr(), tmp_path, capsys)
    assert code != 0 and out.splitlines()[0] == "result: revoked"
