"""Guardianship: the civil registry records it, the guardian holds and shares the minor's documents, and when it
ends (revoked, valid_until passed, a later court order) the access and the guardian's shares end at once."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select

from tests.support.people import Citizen
from wallet import db
from wallet.audit import AuditEvent
from wallet.citizens import representation

GUARDIAN, MINOR, OTHER_PARENT = "GP100001", "MN200002", "GP300003"


def body(**kw: Any) -> dict[str, Any]:
    out = {"guardian_id": GUARDIAN, "guardian_name": "Fatima Zahra", "minor_id": MINOR, "minor_name": "Yassine Zahra",
           "valid_until": (dt.date.today() + dt.timedelta(days=3 * 365)).isoformat(), "basis": "parent",
           "reference": "EC-2025-0001"}
    out.update(kw)
    return out


@pytest.fixture
def registry(client: Any, agencies: dict[str, Any]) -> Callable[..., Any]:
    """registry(method, url, json, agency="MI") -> the civil registry's call."""

    def call(url: str, json: dict[str, Any], agency: str = "MI") -> Any:
        return client.post(url, json=json, headers={"Authorization": f"Bearer {agencies[agency]['key']}"})

    return call


def cli(app: Any, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def docs_of(c: Citizen) -> list[dict[str, Any]]:
    r = c.client.get("/api/v1/me/documents")
    assert r.status_code == 200
    return r.get_json()["documents"]  # type: ignore[no-any-return]


def test_the_registry_records_replays_and_refuses(registry: Callable[..., Any]) -> None:
    r = registry("/api/v1/guardianships", body())
    assert r.status_code == 201, r.get_data(as_text=True)
    gid = r.get_json()["id"]
    assert r.get_json()["basis"] == "parent" and r.get_json()["minor_id"] == MINOR
    again = registry("/api/v1/guardianships", body())
    assert again.status_code == 200 and again.get_json()["id"] == gid  # identical replay
    clash = registry("/api/v1/guardianships", body(minor_id="MN999999"))
    assert clash.status_code == 409 and clash.get_json()["code"] == "reference_conflict"
    no_cap = registry("/api/v1/guardianships", body(reference="X-1"), agency="MJ")
    assert no_cap.status_code == 403 and no_cap.get_json()["code"] == "capability_missing"
    selfish = registry("/api/v1/guardianships", body(minor_id=GUARDIAN, reference="X-2"))
    assert selfish.status_code == 400 and selfish.get_json()["code"] == "guardian_is_minor"
    for bad in ({"basis": "uncle"}, {"valid_until": "2020-01-01"}, {"minor_id": "\x00"}, {"valid_until": "soon"}):
        assert registry("/api/v1/guardianships", body(reference="X-3", **bad)).status_code == 400, bad
    # revocation: its own records only (another agency's, or none: 404; without the capability: 403)
    assert registry(f"/api/v1/guardianships/{gid}/revoke", {"reason": "x"}, agency="MJ").status_code == 403
    assert registry("/api/v1/guardianships/nope/revoke", {"reason": "x"}).status_code == 404
    done = registry(f"/api/v1/guardianships/{gid}/revoke", {"reason": "judgment 12/2025"})
    assert done.status_code == 200 and done.get_json()["revoked_at"]


def test_another_agency_cannot_revoke_the_registrys_record(app: Any, registry: Callable[..., Any]) -> None:
    from wallet.agencies import service

    gid = registry("/api/v1/guardianships", body()).get_json()["id"]
    with app.app_context():
        sess = db.session()
        other = service.add_agency(sess, "MI2", "Autre état civil", [], capabilities=["guardianships"])
        key = service.issue_key(sess, other)
        db.commit()
    r = app.test_client().post(f"/api/v1/guardianships/{gid}/revoke", json={"reason": "x"},
                               headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 404


def test_guardian_sees_opens_and_shares_the_minors_documents_until_revoked(
        app: Any, citizen: Callable[..., Any], issue: Callable[..., Any], registry: Callable[..., Any]) -> None:
    parent = citizen(GUARDIAN, "Fatima Zahra")
    own = issue(GUARDIAN)
    doc = issue(MINOR)
    assert [d["id"] for d in docs_of(parent)] == [own["id"]]  # nothing before the guardianship
    gid = registry("/api/v1/guardianships", body()).get_json()["id"]
    listed = docs_of(parent)
    assert [(d["id"], d["access"], d["holder"]) for d in listed] == [
        (own["id"], "own", {"national_id": GUARDIAN, "name": "Fatima Zahra"}),
        (doc["id"], "guardian", {"national_id": MINOR, "name": "Yassine Zahra"})]
    assert parent.client.get(f"/api/v1/me/documents/{doc['id']}").get_json()["access"] == "guardian"
    pdf = parent.client.get(f"/api/v1/me/documents/{doc['id']}/file")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    r = parent.share([doc["id"]])
    assert r.status_code == 201, r.get_data(as_text=True)
    token = r.get_json()["token"]
    assert r.get_json()["presented_by"] == {"name": "Fatima Zahra", "role": "guardian"}
    assert parent.share([doc["id"], own["id"]]).get_json()["code"] == "mixed_holders"
    look = app.test_client().get(f"/api/v1/verify/{token}").get_json()
    assert look["result"] == "valid"
    assert look["share"]["presented_by"] == {"name": "Fatima Zahra", "role": "guardian"}
    assert look["documents"][0]["holder_name"] == "Yassine Zahra"
    for language, words in (("en", "presented by"), ("fr", "présenté par"), ("ar", "قدّمه")):
        page = app.test_client().get(f"/v/{token}?lang={language}",
                                     headers={"Accept-Language": language}).get_data(as_text=True)
        assert words in page.lower() and "Fatima Zahra" in page and "Yassine Zahra" in page, language
    own_share = parent.share([own["id"]]).get_json()["token"]
    assert app.test_client().get(f"/api/v1/verify/{own_share}").get_json()["share"]["presented_by"] is None

    out = cli(app, "guardian", "revoke", gid)
    assert out.exit_code == 0, out.output
    assert [d["id"] for d in docs_of(parent)] == [own["id"]]
    assert parent.client.get(f"/api/v1/me/documents/{doc['id']}").status_code == 404
    assert parent.client.get(f"/api/v1/me/documents/{doc['id']}/file").status_code == 404
    assert parent.share([doc["id"]]).status_code == 404
    assert app.test_client().get(f"/api/v1/verify/{token}").get_json()["result"] == "share_revoked"
    assert app.test_client().get(f"/api/v1/verify/{own_share}").get_json()["result"] == "valid"
    with app.app_context():
        actions = set(db.session().scalars(select(AuditEvent.action)))
    assert {"guardianship.record", "guardianship.revoke", "document.download"} <= actions


def test_guardianship_ends_when_valid_until_passes(app: Any, citizen: Callable[..., Any], issue: Callable[..., Any],
                                                   registry: Callable[..., Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    parent = citizen(GUARDIAN, "Fatima Zahra")
    doc = issue(MINOR)
    until = dt.date.today() + dt.timedelta(days=10)
    registry("/api/v1/guardianships", body(valid_until=until.isoformat()))
    assert [d["id"] for d in docs_of(parent)] == [doc["id"]]
    later = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)
    monkeypatch.setattr(representation, "utcnow", lambda: later)
    assert docs_of(parent) == []
    assert parent.client.get(f"/api/v1/me/documents/{doc['id']}").status_code == 404


def test_cli_add_list_revoke_and_names(app: Any, citizen: Callable[..., Any], issue: Callable[..., Any]) -> None:
    out = cli(app, "citizen", "invite", GUARDIAN, "--name", "Fatima  Zahra")
    assert out.exit_code == 0, out.output
    until = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    issue(MINOR, attributes={"holder_name": "Yassine Zahra", "convictions": "none"})
    out = cli(app, "guardian", "add", GUARDIAN, MINOR, "--until", until, "--basis", "parent")
    assert out.exit_code == 0, out.output
    listing = cli(app, "guardian", "list", MINOR)
    lines = listing.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].split("\t")[0] == out.output.split("\t")[0]
    assert "Fatima Zahra" in lines[0] and "Yassine Zahra" in lines[0]  # account's name; the documents' name
    assert cli(app, "guardian", "list", GUARDIAN).output == listing.output
    for bad in (["guardian", "add", GUARDIAN, GUARDIAN, "--until", until, "--basis", "parent"],
                ["guardian", "add", GUARDIAN, "x y\x00", "--until", until, "--basis", "parent"],
                ["guardian", "add", GUARDIAN, MINOR, "--until", "2001-01-01", "--basis", "parent"],
                ["guardian", "revoke", "no-such-id"]):
        res = cli(app, *bad)
        assert res.exit_code != 0 and "Traceback" not in res.output, bad


def test_two_court_orders_both_kept_latest_wins(app: Any, citizen: Callable[..., Any], issue: Callable[..., Any],
                                                registry: Callable[..., Any]) -> None:
    first, second = citizen(GUARDIAN, "Fatima Zahra"), citizen(OTHER_PARENT, "Omar Zahra")
    doc = issue(MINOR)
    registry("/api/v1/guardianships", body(basis="court_order", reference="TPI-1"))
    token = first.share([doc["id"]]).get_json()["token"]
    assert [d["id"] for d in docs_of(first)] == [doc["id"]]
    r = registry("/api/v1/guardianships", body(basis="court_order", reference="TPI-2", guardian_id=OTHER_PARENT,
                                                guardian_name="Omar Zahra"))
    assert r.status_code == 201
    assert docs_of(first) == [] and [d["id"] for d in docs_of(second)] == [doc["id"]]
    assert app.test_client().get(f"/api/v1/verify/{token}").get_json()["result"] == "share_revoked"
    listing = cli(app, "guardian", "list", MINOR).output.strip().splitlines()
    assert len(listing) == 2 and any("\tsuperseded\t" in line for line in listing)
    with app.app_context():
        actions = list(db.session().scalars(select(AuditEvent.action)))
    assert "guardianship.conflict" in actions


def test_the_minor_enrols_and_sees_documents_and_the_guardians_shares(
        app: Any, citizen: Callable[..., Any], issue: Callable[..., Any], registry: Callable[..., Any]) -> None:
    parent = citizen(GUARDIAN, "Fatima Zahra")
    doc = issue(MINOR)
    registry("/api/v1/guardianships", body())
    share = parent.share([doc["id"]], label="Lycée Ibn Sina").get_json()
    app.test_client().get(f"/api/v1/verify/{share['token']}")  # the school looks
    minor = citizen(MINOR, "Yassine Zahra")
    assert [(d["id"], d["access"]) for d in docs_of(minor)] == [(doc["id"], "own")]
    shares = minor.client.get("/api/v1/me/shares").get_json()["shares"]
    assert [(s["id"], s["presented_by"]) for s in shares] == [(share["id"], {"name": "Fatima Zahra",
                                                                              "role": "guardian"})]
    events = minor.client.get("/api/v1/me/activity").get_json()["events"]
    assert [(e["share_id"], e["presented_by"]["role"]) for e in events] == [(share["id"], "guardian")]
    page = minor.client.get("/activity", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "shared by your legal guardian" in page and "Fatima Zahra" in page
    # the holder may end what was shared in their name
    assert minor.client.delete(f"/api/v1/me/shares/{share['id']}", headers=minor.headers).status_code == 200
