"""/v/{token} shows the shared document's pages as same-origin images under the look's grant, the holder's
national ID and the document's key facts; the images count no view and are refused without the grant."""
from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from tests.support.shares import token_of


def _views(app: Any, share_id: str) -> tuple[int, int]:
    from wallet import db
    from wallet.shares.models import Share, ShareView
    with app.app_context():
        used = db.session().scalar(select(Share.views_used).where(Share.id == share_id))
        logged = db.session().scalar(select(func.count()).select_from(ShareView).where(ShareView.share_id == share_id))
        return int(used or 0), int(logged or 0)


def _page(client: Any, token: str, lang: str = "fr") -> str:
    r = client.get(f"/v/{token}?lang={lang}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_the_page_shows_images_national_id_and_key_facts(app: Any, holder: Any, issue: Any) -> None:
    doc = issue(attributes={"convictions": "none"})
    share = holder.share([doc["id"]], allow_download=False, max_views=3).get_json()
    anon = app.test_client()
    html = _page(anon, token_of(share))
    assert holder.national_id in html and "Condamnations" in html and "Néant" in html
    urls = re.findall(r'<img src="([^"]+)"', html)
    assert urls and all(u.startswith(f"/v/{token_of(share)}/pages/0/") for u in urls)
    assert _views(app, share["id"]) == (1, 1)
    url = urls[0].replace("&amp;", "&")
    r = anon.get(url)
    assert r.status_code == 200 and r.mimetype == "image/png" and r.headers["Cache-Control"] == "no-store"
    with Image.open(io.BytesIO(r.data)) as img:
        assert img.width >= 400 and img.height > img.width  # a portrait page
    again = anon.get(url)
    assert again.status_code == 200
    # the images are part of the counted look: no further view used, nothing more logged
    assert _views(app, share["id"]) == (1, 1)


def test_the_image_is_watermarked(app: Any, holder: Any, issue: Any) -> None:
    from wallet.verification.pages import watermark
    blank = io.BytesIO()
    Image.new("RGB", (480, 680), "white").save(blank, format="PNG")
    with Image.open(io.BytesIO(watermark(blank.getvalue(), "vue de vérification — valable jusqu'au 1 mai"))) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 1  # the text is on the page
    assert sum(n for n, c in colours if c != (255, 255, 255)) > 2000


def test_images_are_refused_without_a_valid_grant_and_count_nothing(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    share = holder.share([doc["id"]], max_views=3).get_json()
    other = holder.share([doc["id"]], max_views=3).get_json()
    token = token_of(share)
    anon = app.test_client()
    base = f"/v/{token}/pages/0/1.png"
    for url in (base, base + "?g=", base + "?g=forged.grant.value"):
        assert anon.get(url).status_code == 404
    assert _views(app, share["id"]) == (0, 0)
    # a grant of another share does not open this one
    other_url = re.findall(r'<img src="([^"]+)"', _page(anon, token_of(other)))[0].replace("&amp;", "&")
    grant = re.search(r"g=([^&]+)", other_url).group(1)  # type: ignore[union-attr]
    assert anon.get(f"{base}?g={grant}").status_code == 404
    # past the last page, or a withdrawn share: refused even with the grant
    url = re.findall(r'<img src="([^"]+)"', _page(anon, token))[0].replace("&amp;", "&")
    assert anon.get(url.replace("/1.png", "/99.png")).status_code == 404
    assert anon.get(url.replace("/pages/0/", "/pages/5/")).status_code == 404
    holder.client.delete(f"/api/v1/me/shares/{share['id']}", headers=holder.headers)
    assert anon.get(url).status_code == 404
    assert _views(app, share["id"]) == (1, 1)
