"""WEBHOOK_ALLOWED_HOSTS: comma-separated host[:port], lower-cased; anything else refuses to start."""
from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings, SettingsError


def hosts(raw: str, tmp_path: Path) -> tuple[str, ...]:
    return Settings.from_env({"WALLET_INSTANCE": str(tmp_path), "WEBHOOK_ALLOWED_HOSTS": raw}).webhook_allowed_hosts


def test_parsed(tmp_path: Path) -> None:
    assert hosts("", tmp_path) == ()
    assert hosts(" Hooks.Example.org , 127.0.0.1:8080,[::1]:9000,[fd00::1],hooks.example.org", tmp_path) == \
        ("hooks.example.org", "127.0.0.1:8080", "[::1]:9000", "[fd00::1]")


@pytest.mark.parametrize("raw", ["::1", "host:0", "host:70000", "host:x", "https://host", "a@b", "[::1]x"])
def test_refused(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOWED_HOSTS"):
        hosts(raw, tmp_path)
