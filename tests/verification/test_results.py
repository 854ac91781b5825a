"""Every result of a look, produced for real: clock moved, holder and agency revocation, view limits."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
import time_machine

from tests.support.shares import later, token_of


def look(client: Any, token: str) -> tuple[int, dict[str, Any]]:
    r = client.get(f"/api/v1/verify/{token}")
    return r.status_code, r.get_json()


def test_valid_shows_everything_the_clerk_needs(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], label="Banque Populaire", max_views=5).get_json()
    status, body = look(app.test_client(), token_of(share))
    assert status == 200 and body["result"] == "valid"
    d = body["documents"][0]
    assert d["type"] == "criminal_record" and d["type_name"]
    assert d["issuer"] and d["issuer_code"] == "MJ" and d["holder_name"] == "Amina Benali"
    assert d["issued_at"] and d["expires_at"] and d["status"] == "valid" and d["sha256"] == doc["sha256"]
    assert d["signature"]["signer"] and d["signature"]["intact"] and d["signature"]["trusted"]
    assert d["signature"]["timestamped"] is True
    assert d["revoked_at"] is None
    assert body["share"]["label"] == "Banque Populaire" and body["share"]["views_left"] == 4


def test_share_expired_by_the_server_clock(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], expires_in=60).get_json()
    anon = app.test_client()
    expires = dt.datetime.fromisoformat(share["expires_at"])
    with time_machine.travel(expires - dt.timedelta(seconds=1), tick=False):
        assert look(anon, token_of(share))[1]["result"] == "valid"
    with time_machine.travel(expires + dt.timedelta(seconds=1), tick=False):
        status, body = look(anon, token_of(share))
        assert (status, body["result"], body["documents"]) == (200, "share_expired", [])
        states = {s["id"]: s["status"] for s in holder.client.get("/api/v1/me/shares").get_json()["shares"]}
        assert states[share["id"]] == "expired"


def test_document_expired(app: Any, holder: Any, issue: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    doc = issue(issued_at=(now - dt.timedelta(days=80)).isoformat(timespec="seconds"),
                expires_at=(now + dt.timedelta(hours=1)).isoformat(timespec="seconds"))
    share = holder.share([doc["id"]], expires_in=86400).get_json()
    with time_machine.travel(later(hours=2), tick=False):
        body = look(app.test_client(), token_of(share))[1]
    assert body["result"] == "document_expired"
    assert body["documents"][0]["status"] == "expired" and "holder_name" not in body["documents"][0]


def test_revoked_by_the_holder(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]]).get_json()
    holder.client.delete(f"/api/v1/me/shares/{share['id']}", headers=holder.headers)
    status, body = look(app.test_client(), token_of(share))
    assert (status, body["result"], body["documents"]) == (200, "share_revoked", [])


def test_revoked_by_the_agency_turns_every_share(app: Any, holder: Any, issue: Any, revoke: Any) -> None:
    doc = issue()
    shares = [holder.share([doc["id"]], max_views=1).get_json() for _ in range(2)]
    anon = app.test_client()
    assert look(anon, token_of(shares[0]))[1]["result"] == "valid"  # uses up its only view
    revoke(doc["id"], "erreur materielle")
    for share in shares:
        body = look(anon, token_of(share))[1]
        assert body["result"] == "document_revoked"  # also for the exhausted one: the clerk must know
        d = body["documents"][0]
        assert d["status"] == "revoked" and d["revoked_at"] and d["revocation_reason"] == "erreur materielle"
        assert "download_url" not in d and "holder_name" not in d
    page = anon.get(f"/v/{token_of(shares[1])}?lang=fr").get_data(as_text=True)
    assert 'data-result="document_revoked"' in page and "erreur materielle" in page


def test_replaced_document_reads_revoked(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]]).get_json()
    issue(replaces=doc["id"])
    assert look(app.test_client(), token_of(share))[1]["result"] == "document_revoked"


def test_views_exhausted_and_not_counted_when_not_valid(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], max_views=2).get_json()
    anon = app.test_client()
    assert [look(anon, token_of(share))[1]["result"] for _ in range(4)] == ["valid", "valid", "views_exhausted",
                                                                        "views_exhausted"]
    body = look(anon, token_of(share))[1]
    assert body["documents"] == [] and body["share"]["views_left"] == 0
    listed = holder.client.get("/api/v1/me/shares").get_json()["shares"][0]
    assert listed["views_used"] == 2 and listed["status"] == "exhausted"
    assert len(holder.client.get("/api/v1/me/activity").get_json()["events"]) == 5


def test_several_documents_in_one_share(app: Any, holder: Any, issue: Any, revoke: Any) -> None:
    a, b = issue(), issue()
    share = holder.share([a["id"], b["id"], a["id"]], allow_download=True).get_json()
    assert [d["id"] for d in share["documents"]] == [a["id"], b["id"]]
    anon = app.test_client()
    body = look(anon, token_of(share))[1]
    assert [d["id"] for d in body["documents"]] == [a["id"], b["id"]]
    second = anon.get(body["documents"][1]["download_url"].removeprefix("http://wallet.test"))
    assert second.status_code == 200
    revoke(b["id"])
    assert look(anon, token_of(share))[1]["result"] == "document_revoked"


def _variants(token: str) -> list[str]:
    flipped = ("B" if token[0] == "A" else "A") + token[1:]
    return [flipped, token[:-1], token[:10], token + "A", secrets.token_urlsafe(16), "A" * 22, "x",
            token.upper() if token.upper() != token else token.lower(), "%00" + token, token + "/extra",
            "' OR 1=1 --", "z" * 500]


def test_unknown_altered_truncated_random_tokens_get_the_same_answer(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]]).get_json()
    anon = app.test_client()
    answers = set()
    for bad in _variants(token_of(share)):
        r = anon.get(f"/api/v1/verify/{bad}")
        body = r.get_json()
        assert r.status_code == 404, bad
        answers.add((r.status_code, body["result"], repr(body["documents"]), repr(body["share"])))
        page = anon.get(f"/v/{bad}")
        assert page.status_code == 404
    assert answers == {(404, "unknown", "[]", "None")}
    assert holder.client.get("/api/v1/me/activity").get_json()["events"] == []


def test_unknown_tokens_cost_the_same_work(app: Any, monkeypatch: Any) -> None:
    """Every token, well formed or not, is hashed and looked up once: no early exit to time."""
    from wallet.verification import looks

    seen: list[str] = []
    original = looks.lookup_hash

    def spy(token: str) -> str:
        seen.append(token)
        return original(token)

    monkeypatch.setattr(looks, "lookup_hash", spy)
    anon = app.test_client()
    tokens = ["A" * 22, "short", secrets.token_urlsafe(16), "!" * 30]
    for t in tokens:
        assert anon.get(f"/api/v1/verify/{t}").status_code == 404
    assert seen == tokens


@pytest.mark.parametrize("path", ["/api/v1/verify/{t}", "/v/{t}"])
def test_private_headers(app: Any, holder: Any, issue: Any, path: str) -> None:
    doc = issue()
    share = holder.share([doc["id"]]).get_json()
    r = app.test_client().get(path.format(t=token_of(share)))
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
