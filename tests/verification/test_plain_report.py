"""The upload report in plain words: the agency's signature in a genuine sealed copy passes; a withdrawn or
lapsed share reaches its sealed copy (share_revoked / share_expired); the document's own state comes first."""
from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine

from tests.support.shares import token_of
from tests.support.uploads import verify_upload


def _copy(app: Any, holder: Any, doc: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], bytes]:
    share = holder.share([doc["id"]], allow_download=True, **kw).get_json()
    return share, app.test_client().get(f"/v/{token_of(share)}/copy.pdf").data


def _upload(app: Any, data: bytes) -> dict[str, Any]:
    r = verify_upload(app.test_client(), data)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()  # type: ignore[no-any-return]


def test_a_genuine_sealed_copy_passes_every_signature(app: Any, holder: Any, issue: Any) -> None:
    _, copy = _copy(app, holder, issue())
    rep = _upload(app, copy)
    assert rep["verdict"] == "valid"
    roles = {s["role"]: s for s in rep["signatures"]}
    assert set(roles) == {"agency", "platform_seal"}
    for s in rep["signatures"]:
        assert (s["indication"], s["sub_indication"]) == ("TOTAL_PASSED", None), s
        assert "docmdp_violation" not in s["problems"] and "modified_after_signing" not in s["problems"]
    assert roles["agency"]["later_changes"] == "platform_seal"


def test_a_withdrawn_share_reaches_its_sealed_copy(app: Any, holder: Any, issue: Any) -> None:
    share, copy = _copy(app, holder, issue())
    assert _upload(app, copy)["verdict"] == "valid"
    holder.client.delete(f"/api/v1/me/shares/{share['id']}", headers=holder.headers)
    rep = _upload(app, copy)
    assert rep["verdict"] == "share_revoked" and rep["registry"]["share"]["status"] == "revoked"
    # the signatures themselves stay sound: only the holder's consent ended
    assert all(s["indication"] == "TOTAL_PASSED" for s in rep["signatures"])


def test_a_lapsed_share_reaches_its_sealed_copy(app: Any, holder: Any, issue: Any) -> None:
    share, copy = _copy(app, holder, issue(), expires_in=120)
    expires = dt.datetime.fromisoformat(share["expires_at"])
    with time_machine.travel(expires + dt.timedelta(seconds=5), tick=False):
        rep = _upload(app, copy)
    assert rep["verdict"] == "share_expired" and rep["registry"]["share"]["status"] == "expired"


def test_a_revoked_document_beats_a_withdrawn_share(app: Any, holder: Any, issue: Any, revoke: Any) -> None:
    doc = issue()
    share, copy = _copy(app, holder, doc)
    holder.client.delete(f"/api/v1/me/shares/{share['id']}", headers=holder.headers)
    revoke(doc["id"])
    assert _upload(app, copy)["verdict"] == "revoked"


def test_a_used_up_share_still_vouches_for_its_copy(app: Any, holder: Any, issue: Any) -> None:
    _, copy = _copy(app, holder, issue(), max_views=1)
    rep = _upload(app, copy)
    assert rep["registry"]["share"]["status"] == "exhausted" and rep["verdict"] == "valid"
