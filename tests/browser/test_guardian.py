"""A parent's phone, 360 px wide, in English and Arabic: the child's school report sits under the child's name;
the clerk's verification page says who presented it. Screenshots (ar, fr, en) with WALLET_SHOTS=dir."""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.people import enrol

pytestmark = pytest.mark.browser

PARENT, CHILD = "GP100001", "MN200002"
PHONE = {"viewport": {"width": 360, "height": 760}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
WORDS = {
    "en": {"group": "Documents of Yassine Zahra", "as": "You hold them as legal guardian.",
           "presented": "Presented by Fatima Zahra, legal guardian of Yassine Zahra."},
    "ar": {"group": "وثائق Yassine Zahra", "as": "تحملها بصفتك الولي القانوني.",
           "presented": "قدّمه Fatima Zahra، الولي القانوني على Yassine Zahra."},
    "fr": {"group": "Documents de Yassine Zahra", "as": "Vous les détenez en tant que représentant légal.",
           "presented": "Présenté par Fatima Zahra, représentant légal de Yassine Zahra."},
}


def shot(page: Any, name: str) -> None:
    out = os.environ.get("WALLET_SHOTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{out}/{name}.png", full_page=True)


@pytest.fixture
def parent(app: Any, client: Any, agencies: dict[str, Any], push: Callable[..., Any],
           signed_pdf: Callable[..., bytes]) -> Any:
    """A parent enrolled, a child with no account whose school report Massar pushed, the registry's record
    (made before the browser starts: signing runs an event loop that Playwright's sync API would refuse)."""
    parent = enrol(app, PARENT, "Fatima Zahra")
    r = push(signed_pdf("MEN", text="Bulletin scolaire - 1er semestre"), agency="MEN", holder_id=CHILD,
             type="school_report")
    assert r.status_code == 201, r.get_data(as_text=True)
    r = client.post("/api/v1/guardianships", headers={"Authorization": f"Bearer {agencies['MI']['key']}"},
                    json={"guardian_id": PARENT, "minor_id": CHILD, "minor_name": "Yassine Zahra", "basis": "parent",
                          "reference": "EC-1", "valid_until": (dt.date.today() + dt.timedelta(days=900)).isoformat()})
    assert r.status_code == 201
    return parent


def test_parent_sees_the_childs_report_and_the_clerk_sees_who_presented_it(
        parent: Any, live_server: str, playwright_browser: Any) -> None:
    p, browser = playwright_browser
    ctx = browser.new_context(**PHONE, locale="en")
    page = ctx.new_page()
    page.goto(live_server + "/lang/en?next=/")
    page.locator("#national_id").fill(PARENT)
    page.locator("#password").fill(parent.password)
    page.locator("#otp").fill(parent.code())
    page.locator("form:has(#password) [type=submit]").click()
    page.wait_for_url(live_server + "/wallet")
    for lang in ("en", "ar", "fr"):
        w = WORDS[lang]
        page.goto(f"{live_server}/lang/{lang}?next=/wallet")
        page.wait_for_url(live_server + "/wallet")
        group = page.locator("section.held-for")
        assert group.get_by_role("heading", level=2).first.inner_text() == w["group"]
        assert w["as"] in group.inner_text()
        assert group.locator(".doc-card").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shot(page, f"wallet-guardian-{lang}")
    # share it through the API with the browser's session (the share screen is the holder stream's)
    csrf = page.evaluate("fetch('/api/v1/auth/session').then(r => r.json()).then(j => j.csrf_token)")
    doc_id = page.evaluate("fetch('/api/v1/me/documents').then(r => r.json()).then(j => j.documents[0].id)")
    token = page.evaluate("""([csrf, id]) => fetch('/api/v1/me/shares', {method: 'POST', headers: {
        'Content-Type': 'application/json', 'X-CSRF-Token': csrf}, body: JSON.stringify({document_ids: [id],
        expires_in: 3600, max_views: null})}).then(r => r.json()).then(j => j.token)""", [csrf, doc_id])
    clerk = browser.new_context(**PHONE).new_page()
    for lang in ("en", "ar", "fr"):
        clerk.goto(f"{live_server}/v/{token}?lang={lang}")
        said = clerk.locator(".v-presented").inner_text()
        assert said == WORDS[lang]["presented"], said
        assert clerk.evaluate("document.documentElement.scrollWidth") <= 360
        shot(clerk, f"verify-guardian-{lang}")
