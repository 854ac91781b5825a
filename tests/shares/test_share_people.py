"""Issue 13, the holder: no share of a document that no longer holds (409 document_not_shareable), the Activity
page that lists every look in plain words, the revocation asked for twice without JavaScript, and the share
screen's field messages in the page language."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine

from tests.support.shares import later, token_of

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36")


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def refused(r: Any, doc_id: str, status: str) -> None:
    assert r.status_code == 409, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.get_json()
    assert (body["code"], body["document_id"], body["document_status"]) == ("document_not_shareable", doc_id, status)


def test_revoked_expired_and_replaced_documents_cannot_be_shared(app: Any, holder: Any, issue: Any,
                                                                 revoke: Any) -> None:
    from sqlalchemy import func, select

    from wallet import db
    from wallet.shares.models import Share

    valid, revoked, old = issue(), issue(), issue()
    revoke(revoked["id"])
    issue(replaces=old["id"])
    now = dt.datetime.now(dt.UTC)
    expiring = issue(issued_at=(now - dt.timedelta(days=80)).isoformat(timespec="seconds"),
                     expires_at=(now + dt.timedelta(minutes=2)).isoformat(timespec="seconds"))
    refused(holder.share([revoked["id"]]), revoked["id"], "revoked")
    refused(holder.share([old["id"]]), old["id"], "replaced")
    refused(holder.share([valid["id"], revoked["id"]]), revoked["id"], "revoked")  # one bad one refuses all
    assert holder.share([expiring["id"]]).status_code == 201  # still valid today
    with time_machine.travel(later(minutes=4), tick=False):  # the session is still live
        refused(holder.share([expiring["id"]]), expiring["id"], "expired")
    assert holder.share([valid["id"]]).status_code == 201
    with app.app_context():
        assert db.session().execute(select(func.count()).select_from(Share)).scalar_one() == 2  # nothing else


def test_openapi_documents_the_409(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    responses = spec["paths"]["/api/v1/me/shares"]["post"]["responses"]
    assert "409" in responses and "document_not_shareable" in responses["409"]["description"]


def test_document_page_hides_share_for_a_revoked_document_and_says_why(holder: Any, issue: Any,
                                                                        revoke: Any) -> None:
    doc = issue(attributes={"convictions": "none"})
    page = holder.client.get(f"/documents/{doc['id']}?lang=en").get_data(as_text=True)
    assert f"/share?doc={doc['id']}" in page and "✓ Verified" in text(page)
    said = re.search(r'data-speak="([^"]*)"', page)
    assert said and said.group(1).startswith("Criminal record extract. Issued by Ministry of Justice. Issued on ")
    assert "Holder: Amina Benali. This document is valid. Valid until " in said.group(1)
    assert said.group(1).endswith("Convictions: None.") and "Convictions None" in text(page)  # shown too
    ar = holder.client.get(f"/documents/{doc['id']}?lang=ar").get_data(as_text=True)
    assert "الإدانات: لا شيء." in ar
    revoke(doc["id"])
    page = text(holder.client.get(f"/documents/{doc['id']}?lang=en").get_data(as_text=True))
    assert "/share?doc=" not in page
    assert "The issuing administration has revoked this document." in page
    assert "It can no longer be shared" in page
    assert "Verified" not in page  # the status wins
    share = text(holder.client.get(f"/share?doc={doc['id']}&lang=en").get_data(as_text=True))
    assert "Create the QR code" not in share and "It can no longer be shared" in share


def test_activity_page_lists_each_look_in_plain_words(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    empty = text(holder.client.get("/activity?lang=en").get_data(as_text=True))
    assert "Nobody has viewed your shared documents yet." in empty
    share = holder.share([doc["id"]], label="Banque Populaire").get_json()
    anon = app.test_client()
    anon.get(f"/v/{token_of(share)}", headers={"User-Agent": ANDROID_CHROME},
             environ_base={"REMOTE_ADDR": "203.0.113.77"})
    anon.get(f"/api/v1/verify/{token_of(share)}", environ_base={"REMOTE_ADDR": "192.168.1.20"},
             headers={"User-Agent": "curl/8.5.0"})
    page = text(holder.client.get("/activity?lang=en").get_data(as_text=True))
    assert "Nobody has viewed" not in page
    assert "Share for Banque Populaire" in page and "Criminal record extract" in page
    assert "From network 203.0.113.x, Chrome on Android" in page
    assert "The verification page was opened" in page
    assert "From a local network, curl" in page and "Checked by an application" in page
    assert "203.0.113.77" not in page
    assert re.search(r"\d{1,2} \w+ 20\d\d, \d\d:\d\d", page)  # the long format, Morocco time
    fr = text(holder.client.get("/activity?lang=fr").get_data(as_text=True))
    assert "Chrome sur Android" in fr and "Partage pour Banque Populaire" in fr
    ar = text(holder.client.get("/activity?lang=ar").get_data(as_text=True))
    assert "Chrome على Android" in ar and "الشبكة 203.0.113.x" in ar and "، " in ar
    # the API's shape is unchanged (the contract): the browser family now names its system
    events = holder.client.get("/api/v1/me/activity").get_json()["events"]
    assert set(events[0]) == {"id", "at", "share_id", "share_label", "channel", "result", "ip", "browser", "presented_by"}
    assert [(e["channel"], e["browser"]) for e in events] == [("json", "curl"), ("page", "Chrome on Android")]


def test_revocation_without_javascript_asks_first(app: Any, holder: Any, issue: Any) -> None:
    share = holder.share([issue()["id"]], label="Agence").get_json()
    listing = holder.client.get("/share?lang=en").get_data(as_text=True)
    assert f'href="/share/{share["id"]}/revoke"' in listing
    ask = holder.client.get(f"/share/{share['id']}/revoke?lang=en")
    assert ask.status_code == 200 and "Revoke this share?" in text(ask.get_data(as_text=True))
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"][0]["status"] == "active"  # only asked
    assert holder.client.post(f"/share/{share['id']}/revoke").status_code == 403  # no CSRF token
    done = holder.client.post(f"/share/{share['id']}/revoke", data={"csrf_token": holder.csrf})
    assert done.status_code == 303
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"][0]["status"] == "revoked"


def test_another_citizens_share_has_no_revoke_page(holder: Any, other: Any, issue: Any) -> None:
    share = holder.share([issue()["id"]]).get_json()
    assert other.client.get(f"/share/{share['id']}/revoke").status_code == 404
    assert other.client.post(f"/share/{share['id']}/revoke", data={"csrf_token": other.csrf}).status_code == 404
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"][0]["status"] == "active"


@pytest.mark.parametrize("lang, message", [
    ("en", "Enter a whole number from 1 to 10,000"), ("fr", "Saisissez un nombre entier de 1 à 10 000"),
    ("ar", "أدخل عددًا صحيحًا من 1 إلى 10000")])
def test_share_form_carries_each_fields_message_in_the_page_language(holder: Any, issue: Any, lang: str,
                                                                      message: str) -> None:
    doc = issue()
    page = holder.client.get(f"/share?doc={doc['id']}&lang={lang}").get_data(as_text=True)
    assert re.search(r'data-field-error="max_views" data-message="' + re.escape(message), page)
    r = holder.share([doc["id"]], max_views=0)
    assert r.status_code == 400 and "max_views" in r.get_json()["errors"]["json"]  # what share.js maps
