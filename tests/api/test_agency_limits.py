"""Agency rate limits: checked before authentication, so they must not depend on who authenticates."""
from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app(rate_limits=True)


def test_bad_keys_cannot_use_up_an_agency_s_requests(app: Any, agencies: dict[str, Any]) -> None:
    """1,200 requests a minute with made-up keys (the per-agency budget) from ten addresses: before, they
    filled the one bucket every agency shared, and then every push and revoke got 429."""
    client = app.test_client()
    for i in range(10):
        for n in range(120):
            r = client.get("/api/v1/documents/x", headers={"Authorization": f"Bearer wk_forged_{i}_{n}"},
                           environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})
            assert r.status_code == 401
    ok = client.get("/api/v1/documents/nope", headers={"Authorization": f"Bearer {agencies['MJ']['key']}"},
                    environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert ok.status_code == 404 and ok.get_json()["code"] == "not_found"  # authenticated, not limited


def test_an_address_that_keeps_failing_is_stopped(app: Any, agencies: dict[str, Any]) -> None:
    client = app.test_client()
    attacker = {"REMOTE_ADDR": "203.0.113.50"}
    codes = [client.get("/api/v1/documents/x", headers={"Authorization": f"Bearer wk_guess_{n}"},
                        environ_base=attacker).status_code for n in range(121)]
    assert codes[:120] == [401] * 120 and codes[120] == 429
    # valid keys elsewhere are not slowed: refused keys are what counts
    for _ in range(130):
        r = client.get("/api/v1/documents/nope", headers={"Authorization": f"Bearer {agencies['MEN']['key']}"},
                       environ_base={"REMOTE_ADDR": "192.0.2.11"})
        assert r.status_code == 404
