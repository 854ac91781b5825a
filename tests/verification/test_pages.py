"""The human pages: /v/{token} (answer first, localised), /verify (upload form with CSRF), /share."""
from __future__ import annotations

import io
import re
from typing import Any

from tests.support.shares import token_of


def test_valid_page_answers_first_in_french_and_arabic(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], allow_download=True).get_json()
    anon = app.test_client()
    fr = anon.get(f"/v/{token_of(share)}?lang=fr")
    assert fr.status_code == 200 and fr.mimetype == "text/html"
    html = fr.get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in html
    assert 'data-result="valid"' in html and "v-ok" in html
    assert html.index('data-result="valid"') < html.index(doc["sha256"])  # the answer comes first
    assert "Amina Benali" in html and doc["sha256"] in html and "copy.pdf" in html
    # strict CSP: nothing inline (the read-aloud button's script is a same-origin file)
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html) and "style=" not in html
    ar = anon.get(f"/v/{token_of(share)}?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in ar
    # the language links carry the look's grant: switching language does not use another view
    links = re.findall(r'href="(/v/[^"]+lang=en[^"]*)"', ar)
    assert links and "g=" in links[0]
    listed = holder.client.get("/api/v1/me/shares").get_json()["shares"][0]
    assert listed["views_used"] == 2
    anon.get(links[0].replace("&amp;", "&"))
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"][0]["views_used"] == 2


def test_red_pages(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]]).get_json()
    holder.client.delete(f"/api/v1/me/shares/{share['id']}", headers=holder.headers)
    anon = app.test_client()
    html = anon.get(f"/v/{token_of(share)}?lang=en").get_data(as_text=True)
    assert 'data-result="share_revoked"' in html and "v-bad" in html and "Amina" not in html
    r = anon.get("/v/" + "Q" * 22)
    assert r.status_code == 404 and 'data-result="unknown"' in r.get_data(as_text=True)


def test_upload_form_needs_its_csrf_token(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    original = holder.client.get(f"/api/v1/me/documents/{doc['id']}/file").data
    anon = app.test_client()
    page = anon.get("/verify?lang=en")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    # without the token (or with the token but a fresh browser, i.e. no cookie): refused
    r = anon.post("/verify", data={"file": (io.BytesIO(original), "d.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 403
    other = app.test_client()
    r = other.post("/verify", data={"file": (io.BytesIO(original), "d.pdf"), "csrf_token": token},
                   content_type="multipart/form-data")
    assert r.status_code == 403
    r = anon.post("/verify?lang=en", data={"file": (io.BytesIO(original), "d.pdf"), "csrf_token": token},
                  content_type="multipart/form-data")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-verdict="valid"' in html and doc["sha256"] in html
    r = anon.post("/verify", data={"file": (io.BytesIO(b"not a pdf"), "d.pdf"), "csrf_token": token},
                  content_type="multipart/form-data")
    assert r.status_code == 415


def test_share_screen(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    holder.share([doc["id"]], label="Ecole")
    r = holder.client.get(f"/share?doc={doc['id']}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="share-form"' in html and doc["id"] in html and "share.js" in html
    assert f'data-csrf="{holder.csrf}"' in html and "Ecole" in html and "data-revoke" in html
    assert "<script>" not in html
    assert app.test_client().get("/share").status_code in (302, 303)
    other_doc = issue(holder_id="ZZ000000")
    assert holder.client.get(f"/share?doc={other_doc['id']}").status_code == 404


def test_a_covered_reload_passes_the_same_grant_on_and_it_still_ends(app: Any, holder: Any, issue: Any,
                                                                       monkeypatch: Any) -> None:
    """A grant-covered look counts no view: it must not mint a fresh grant, or reloading every 15 minutes would
    keep a one-view share open until it expires."""
    import time

    from itsdangerous.timed import TimestampSigner

    from wallet.verification.views import GRANT_SECONDS

    doc = issue()
    share = holder.share([doc["id"]], allow_download=True, max_views=1).get_json()
    anon = app.test_client()
    first = anon.get(f"/v/{token_of(share)}?lang=en").get_data(as_text=True)
    grant = re.search(r"[?&](?:amp;)?g=([^\"&]+)", first).group(1)
    reloaded = anon.get(f"/v/{token_of(share)}?lang=fr&g={grant}").get_data(as_text=True)
    assert 'data-result="valid"' in reloaded
    assert set(re.findall(r"[?&](?:amp;)?g=([^\"&]+)", reloaded)) == {grant}  # the same grant, not a new one
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"][0]["views_used"] == 1
    # once GRANT_SECONDS have passed since the counted view, the grant no longer covers anything
    later = time.time() + GRANT_SECONDS + 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(later))
    expired = anon.get(f"/v/{token_of(share)}?lang=en&g={grant}")
    assert 'data-result="views_exhausted"' in expired.get_data(as_text=True)
    assert anon.get(f"/v/{token_of(share)}/copy.pdf?item=0&g={grant}").status_code == 404


WHATSAPP = "WhatsApp/2.23.20.0 A"
PHONE = ("Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Mobile Safari/537.36")


def test_head_requests_open_nothing_and_use_no_view(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], allow_download=True, max_views=1).get_json()
    token = token_of(share)
    anon = app.test_client()
    for path, kind in ((f"/v/{token}", "text/html"), (f"/api/v1/verify/{token}", "application/json"),
                       (f"/v/{token}/copy.pdf", "application/pdf"), (f"/v/{token}/original.pdf", "application/pdf"),
                       ("/v/" + "Q" * 22, "text/html")):  # unknown: the same answer, nothing looked up
        r = anon.head(path)
        assert (r.status_code, r.mimetype, r.data) == (200, kind, b""), path
        assert r.headers["Cache-Control"] == "no-store"
    assert holder.client.get("/api/v1/me/activity").get_json()["events"] == []
    # the one view is still there for the verifier
    assert anon.get(f"/api/v1/verify/{token}").get_json()["result"] == "valid"
    assert anon.get(f"/api/v1/verify/{token}").get_json()["result"] == "views_exhausted"


def test_a_chat_link_preview_does_not_use_the_view(app: Any, holder: Any, issue: Any) -> None:
    """Sending a one-view link in WhatsApp: the preview fetch must leave the view to the recipient."""
    doc = issue()
    share = holder.share([doc["id"]], allow_download=True, max_views=1).get_json()
    token = token_of(share)
    anon = app.test_client()
    for ua in (WHATSAPP, "TelegramBot (like TwitterBot)", "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
               "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"):
        r = anon.get(f"/v/{token}?lang=fr", headers={"User-Agent": ua})
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", ua
        assert 'property="og:title" content="Document partagé"' in html
        assert "data-result" not in html and "Amina" not in html and doc["sha256"] not in html
    # an unknown token looks exactly the same to a preview fetcher
    unknown = anon.get("/v/" + "Q" * 22 + "?lang=fr", headers={"User-Agent": WHATSAPP}).get_data(as_text=True)
    assert unknown == anon.get(f"/v/{token}?lang=fr", headers={"User-Agent": WHATSAPP}).get_data(as_text=True)
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"][0]["views_used"] == 0
    # the recipient's phone (a CUBOT: "bot" in its model name) opens it and uses the view
    html = anon.get(f"/v/{token}?lang=en", headers={"User-Agent": PHONE}).get_data(as_text=True)
    assert 'data-result="valid"' in html and "Amina Benali" in html
    events = holder.client.get("/api/v1/me/activity").get_json()["events"]
    assert [(e["channel"], e["result"]) for e in events] == [("page", "valid")]
    # the JSON twin is for programs: a bot-like client there is a verifier like any other
    assert anon.get(f"/api/v1/verify/{token}", headers={"User-Agent": "agency-bot/1.0"}).get_json()["result"] == \
        "views_exhausted"


def test_link_preview_user_agents() -> None:
    from wallet.verification.privacy import is_link_preview

    assert is_link_preview(WHATSAPP) and is_link_preview("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
    assert is_link_preview("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)")
    assert not is_link_preview(PHONE) and not is_link_preview(None) and not is_link_preview("")
    assert not is_link_preview("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                               "HeadlessChrome/120.0.0.0 Safari/537.36")
    assert not is_link_preview("curl/8.5.0") and not is_link_preview("python-requests/2.32.3")
