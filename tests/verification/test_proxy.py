"""Behind a reverse proxy (PROXY_HOPS): the verifier's address comes from the proxy's X-Forwarded-For."""
from __future__ import annotations

from typing import Any

import pytest

from config.settings import Settings, SettingsError
from tests.support.shares import token_of


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app(proxy_hops=1, rate_limits=True)


def test_the_verifier_address_is_the_one_the_proxy_saw(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]]).get_json()
    anon = app.test_client()
    # a client-sent X-Forwarded-For comes first; the proxy appends the address it saw: only that one counts
    r = anon.get(f"/api/v1/verify/{token_of(share)}", headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.7"},
                 environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert r.get_json()["result"] == "valid"
    events = holder.client.get("/api/v1/me/activity").get_json()["events"]
    assert [e["ip"] for e in events] == ["203.0.113.0/24"]


def test_rate_limits_apply_per_client_behind_the_proxy(app: Any) -> None:
    anon = app.test_client()

    def look(client_ip: str) -> int:
        return anon.get("/api/v1/verify/" + "Q" * 22, headers={"X-Forwarded-For": client_ip},
                        environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code

    assert all(look("203.0.113.77") == 404 for _ in range(60))
    assert look("203.0.113.77") == 429
    assert look("198.51.100.21") == 404  # another verifier behind the same proxy is not blocked


def test_without_proxy_hops_the_header_is_ignored(make_app: Any) -> None:
    """Any client can send X-Forwarded-For: without PROXY_HOPS, changing it must not escape the limit."""
    anon = make_app(rate_limits=True).test_client()

    def look(forged: str) -> int:
        return anon.get("/api/v1/verify/" + "Q" * 22, headers={"X-Forwarded-For": forged},
                        environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code

    assert all(look(f"203.0.113.{i}") == 404 for i in range(60))
    assert look("198.51.100.20") == 429


def test_proxy_hops_setting(tmp_path: Any) -> None:
    env = {"WALLET_INSTANCE": str(tmp_path)}
    assert Settings.from_env({**env, "PROXY_HOPS": "1"}).proxy_hops == 1
    assert Settings.from_env(env).proxy_hops == 0
    for bad in ("-1", "one", "9"):
        with pytest.raises(SettingsError):
            Settings.from_env({**env, "PROXY_HOPS": bad})
