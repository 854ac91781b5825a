"""Share labels and document ids with control characters are a 400 with a code on both databases (a NUL byte
cannot even reach PostgreSQL), and nothing is created."""
from __future__ import annotations

from typing import Any


def test_control_characters_in_a_share_request(holder: Any, issue: Any) -> None:
    doc = issue()
    for body in ({"label": "Banque\x00"}, {"label": "Banque\nPopulaire"}):
        r = holder.share([doc["id"]], **body)
        assert r.status_code == 400 and r.mimetype == "application/problem+json" and r.get_json()["code"], r.data[:200]
    r = holder.share([doc["id"][:10] + "\x00"])
    assert r.status_code == 400 and r.get_json()["code"]
    assert holder.client.get("/api/v1/me/shares").get_json()["shares"] == []
