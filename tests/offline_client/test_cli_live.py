"""The installed console script against a live server: `wallet-verify sync BASE --cache DIR`, then offline checks."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.offline import Platform, serve_on

CLI = Path(sys.executable).parent / "wallet-verify"


@pytest.fixture
def platform(app: Any) -> Platform:
    p = Platform()
    p.revoke(7)
    serve_on(app, p)  # before the live server starts
    return p


@pytest.mark.skipif(not CLI.exists(), reason=f"wallet-verify is not installed at {CLI} (make setup installs it)")
def test_sync_then_check(platform: Platform, live_server: str, tmp_path: Path) -> None:
    platform.base = live_server
    sync = subprocess.run([str(CLI), "sync", live_server, "--cache", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert sync.returncode == 0, sync.stderr
    ok = subprocess.run([str(CLI), "check", platform.qr(platform.claims(idx=6)), "--cache", str(tmp_path)],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("result: valid") and "Amina El Fassi" in ok.stdout, ok.stdout
    bad = subprocess.run([str(CLI), "check", platform.qr(platform.claims(idx=7)), "--cache", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "revoked" in bad.stdout
    down = subprocess.run([str(CLI), "sync", "http://127.0.0.1:9", "--cache", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode != 0 and "sync failed" in down.stderr
