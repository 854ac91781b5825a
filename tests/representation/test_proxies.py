"""Proxies: a citizen grants another the sight of chosen document types; either side ends it at once. The
permission table: every citizen endpoint that reaches a document × (holder, guardian, proxy in scope, proxy out
of scope, ended mandate, stranger)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from tests.support.people import Citizen

GRANTOR, PROXY, STRANGER, GUARDIAN = "AB123456", "PX400004", "ST500005", "GP100001"


def soon(days: int = 1) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def grant(c: Citizen, **kw: Any) -> Any:
    body: dict[str, Any] = {"proxy_id": PROXY, "types": ["criminal_record"], "expires_at": soon(), "can_share": True}
    body.update(kw)
    return c.client.post("/api/v1/me/mandates", json=body, headers=c.headers)


def held(c: Citizen, holder: str) -> list[tuple[str, str]]:
    docs = c.client.get("/api/v1/me/documents").get_json()["documents"]
    return [(d["type"], d["access"]) for d in docs if d["holder"]["national_id"] == holder]


def test_grant_list_scope_and_end(app: Any, citizen: Callable[..., Any], issue: Callable[..., Any]) -> None:
    grantor, proxy = citizen(GRANTOR, "Amina Benali"), citizen(PROXY, "Karim Idrissi")
    record = issue(GRANTOR)
    issue(GRANTOR, type="nationality")
    r = grant(grantor)
    assert r.status_code == 201, r.get_data(as_text=True)
    mid = r.get_json()["id"]
    assert held(proxy, GRANTOR) == [("criminal_record", "proxy")]
    assert proxy.client.get(f"/api/v1/me/documents/{record['id']}").get_json()["holder"]["name"] == "Amina Benali"
    mandates = grantor.client.get("/api/v1/me/mandates").get_json()
    assert [m["id"] for m in mandates["granted"]] == [mid] and mandates["received"] == []
    assert proxy.client.get("/api/v1/me/mandates").get_json()["received"][0]["grantor"]["name"] == "Amina Benali"
    share = proxy.share([record["id"]])
    assert share.status_code == 201 and share.get_json()["presented_by"] == {"name": "Karim Idrissi", "role": "proxy"}
    token = share.get_json()["token"]
    assert app.test_client().get(f"/api/v1/verify/{token}").get_json()["share"]["presented_by"]["role"] == "proxy"
    en = app.test_client().get(f"/v/{token}?lang=en").get_data(as_text=True)
    assert "proxy of" in en and "Karim Idrissi" in en
    events = grantor.client.get("/api/v1/me/activity").get_json()["events"]
    assert events and events[0]["presented_by"] == {"name": "Karim Idrissi", "role": "proxy"}
    assert "shared by your proxy" in grantor.client.get("/activity?lang=en").get_data(as_text=True)
    # every use in the holder's name is shown to the holder: the proxy's download too, and nobody else's
    assert "Used in your name" not in grantor.client.get("/activity?lang=en").get_data(as_text=True)
    assert proxy.client.get(f"/api/v1/me/documents/{record['id']}/file").status_code == 200
    assert grantor.client.get(f"/api/v1/me/documents/{record['id']}/file").status_code == 200  # the holder's own
    page = " ".join(grantor.client.get("/activity?lang=en").get_data(as_text=True).split())
    assert "Used in your name" in page
    assert page.count("downloaded by your proxy") == 1 and "<bdi>Karim Idrissi</bdi>" in page
    assert "<bdi>Criminal record extract</bdi> downloaded by your proxy" in page
    fr = " ".join(grantor.client.get("/activity?lang=fr").get_data(as_text=True).split())
    assert "téléchargé par votre mandataire" in fr
    assert "Used in your name" not in proxy.client.get("/activity?lang=en").get_data(as_text=True)
    # the proxy ends it: access and the proxy's shares end at once
    assert proxy.client.delete(f"/api/v1/me/mandates/{mid}", headers=proxy.headers).status_code == 200
    assert held(proxy, GRANTOR) == []
    assert app.test_client().get(f"/api/v1/verify/{token}").get_json()["result"] == "share_revoked"
    assert grantor.client.get("/api/v1/me/mandates").get_json()["granted"][0]["status"] == "ended"


def test_the_grantor_ends_it_and_bad_grants_are_refused(citizen: Callable[..., Any], issue: Callable[..., Any]) -> None:
    grantor, proxy, stranger = citizen(GRANTOR), citizen(PROXY), citizen(STRANGER)
    issue(GRANTOR)
    mid = grant(grantor, types=None).get_json()["id"]
    assert held(proxy, GRANTOR) == [("criminal_record", "proxy")]
    assert stranger.client.delete(f"/api/v1/me/mandates/{mid}", headers=stranger.headers).status_code == 404
    assert grantor.client.delete(f"/api/v1/me/mandates/{mid}", headers=grantor.headers).status_code == 200
    assert held(proxy, GRANTOR) == []
    for bad, code in (({"proxy_id": GRANTOR}, "proxy_is_self"), ({"proxy_id": "ab 123456"}, "proxy_is_self"),
                      ({"types": ["passport_of_mars"]}, None), ({"types": []}, None),
                      ({"expires_at": "2001-01-01T00:00:00Z"}, "invalid_expiry"), ({"expires_at": "tomorrow"}, None),
                      ({"proxy_id": "\x00"}, None), ({"can_share": "maybe"}, None)):
        r = grant(grantor, **bad)
        assert r.status_code == 400, (bad, r.get_data(as_text=True))
        if code:
            assert r.get_json()["code"] == code
    assert grant(grantor, headers=None).status_code == 400  # unknown field


def test_can_share_false_sees_but_cannot_share(citizen: Callable[..., Any], issue: Callable[..., Any]) -> None:
    grantor, proxy = citizen(GRANTOR), citizen(PROXY)
    doc = issue(GRANTOR)
    grant(grantor, can_share=False)
    assert held(proxy, GRANTOR) == [("criminal_record", "proxy")]
    r = proxy.share([doc["id"]])
    assert r.status_code == 403 and r.get_json()["code"] == "share_not_permitted"


def _registry(client: Any, agencies: dict[str, Any], minor: str) -> None:
    r = client.post("/api/v1/guardianships", headers={"Authorization": f"Bearer {agencies['MI']['key']}"},
                    json={"guardian_id": GUARDIAN, "minor_id": minor, "basis": "parent", "reference": "EC-9",
                          "valid_until": (dt.date.today() + dt.timedelta(days=365)).isoformat()})
    assert r.status_code == 201


ACTORS = ("holder", "guardian", "proxy_in_scope", "proxy_out_of_scope", "ended_mandate", "stranger")
# what each actor gets from each citizen endpoint that reaches the holder's criminal record
EXPECTED = {
    "holder": {"list": True, "get": 200, "file": 200, "share": 201, "page": 200, "page_file": 200},
    "guardian": {"list": True, "get": 200, "file": 200, "share": 201, "page": 200, "page_file": 200},
    "proxy_in_scope": {"list": True, "get": 200, "file": 200, "share": 201, "page": 200, "page_file": 200},
    "proxy_out_of_scope": {"list": False, "get": 404, "file": 404, "share": 404, "page": 404, "page_file": 404},
    "ended_mandate": {"list": False, "get": 404, "file": 404, "share": 404, "page": 404, "page_file": 404},
    "stranger": {"list": False, "get": 404, "file": 404, "share": 404, "page": 404, "page_file": 404},
}


@pytest.mark.parametrize("actor", ACTORS)
def test_permission_table(actor: str, client: Any, agencies: dict[str, Any], citizen: Callable[..., Any],
                          issue: Callable[..., Any]) -> None:
    holder = citizen(GRANTOR)
    doc = issue(GRANTOR)
    me: Citizen = holder
    if actor == "guardian":
        _registry(client, agencies, GRANTOR)
        me = citizen(GUARDIAN)
    elif actor != "holder":
        me = citizen(PROXY)
        if actor == "proxy_in_scope":
            grant(holder)
        elif actor == "proxy_out_of_scope":
            grant(holder, types=["nationality"])
        elif actor == "ended_mandate":
            mid = grant(holder).get_json()["id"]
            holder.client.delete(f"/api/v1/me/mandates/{mid}", headers=holder.headers)
    want = EXPECTED[actor]
    ids = [d["id"] for d in me.client.get("/api/v1/me/documents").get_json()["documents"]]
    assert (doc["id"] in ids) is want["list"]
    assert me.client.get(f"/api/v1/me/documents/{doc['id']}").status_code == want["get"]
    assert me.client.get(f"/api/v1/me/documents/{doc['id']}/file").status_code == want["file"]
    assert me.share([doc["id"]]).status_code == want["share"]
    assert me.client.get(f"/documents/{doc['id']}").status_code == want["page"]
    assert me.client.get(f"/documents/{doc['id']}/file").status_code == want["page_file"]
    assert me.client.get(f"/share?doc={doc['id']}").status_code == (200 if want["list"] else 404)


def test_granting_a_proxy_long_after_sign_in_needs_step_up(citizen: Callable[..., Any],
                                                           issue: Callable[..., Any]) -> None:
    grantor = citizen(GRANTOR)
    assert grantor.person is not None
    issue(GRANTOR)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=400), tick=False):
        r = grant(grantor, types=["school_report"])  # any type: someone else would see one's documents
        assert r.status_code == 401 and r.get_json()["code"] == "step_up_required", r.get_data(as_text=True)
        assert "otp" in r.get_json()["methods"]
        ok = grantor.client.post("/api/v1/auth/step-up", headers=grantor.headers,
                                 json={"otp": grantor.person.code(1)})
        assert ok.status_code == 200, ok.get_data(as_text=True)
        assert grant(grantor, types=["school_report"]).status_code == 201
