"""A status-list index drawn for a share that a concurrent share took first (between the draw's check and the
INSERT, when the unique (status_list, status_idx) index refuses it): the share draws again instead of failing,
and its payload, sealed copy and row all carry the index finally taken; bounded, then a 503 that leaves nothing."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.offline.test_payload import claims_of
from wallet import db
from wallet.extensions import runtime
from wallet.shares import offline
from wallet.shares.models import Share, ShareItem


def rows(app: Any) -> list[tuple[str, int, int, str | None, str | None]]:
    with app.app_context():
        return [tuple(r) for r in db.session().execute(  # type: ignore[misc]
            select(ShareItem.share_id, ShareItem.status_list, ShareItem.status_idx, ShareItem.copy_blob_key,
                   ShareItem.copy_sha256).order_by(ShareItem.share_id))]


def taken_first(monkeypatch: pytest.MonkeyPatch, taken: tuple[int, int], times: int) -> list[int]:
    """The draw returns an entry another share already holds for its first ``times`` calls (what a concurrent
    share that committed after this one's check leaves), then draws for real. -> the list of calls made."""
    real = offline.assign_indices
    calls: list[int] = []

    def draw(sess: Any, count: int) -> list[tuple[int, int]]:
        calls.append(count)
        if len(calls) <= times:
            return [taken] * count if count == 1 else [taken] + real(sess, count - 1)
        return real(sess, count)

    monkeypatch.setattr(offline, "assign_indices", draw)
    return calls


def test_a_taken_index_is_drawn_again(app: Any, holder: Any, issue: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = holder.share([issue()["id"]])
    assert first.status_code == 201
    (share_a, list_a, idx_a, _k, _s), = rows(app)
    calls = taken_first(monkeypatch, (list_a, idx_a), times=2)

    second = holder.share([issue()["id"], issue()["id"]], expires_in=600, allow_download=True)
    assert second.status_code == 201, second.get_data(as_text=True)
    assert calls == [2, 2, 2]  # two refused attempts, then a free draw
    body = second.get_json()
    items = [r for r in rows(app) if r[0] != share_a]
    assert len(items) == 2 and (list_a, idx_a) not in [(r[1], r[2]) for r in items]
    assert len({(r[1], r[2]) for r in rows(app)}) == 3
    # each payload names the entry its row holds (the retry signed new payloads, not the refused ones)
    refs = [claims_of(app, t)[65535]["status_list"] for t in body["qr_texts"]]
    assert sorted(r["idx"] for r in refs) == sorted(r[2] for r in items)
    assert all(r["uri"].endswith(f"/status-lists/{list_a}") for r in refs)
    # the copies written by the last attempt are the ones the rows describe: they decrypt and match their hash
    anon = app.test_client()
    token = body["url"].rsplit("/", 1)[1]
    for position in range(2):
        copy = anon.get(f"/v/{token}/copy.pdf?item={position}")
        assert copy.status_code == 200 and copy.data.startswith(b"%PDF"), copy.status_code


def test_a_draw_that_keeps_colliding_gives_up_and_leaves_nothing(app: Any, holder: Any, issue: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert holder.share([issue()["id"]]).status_code == 201
    (_share_a, list_a, idx_a, key_a, _s), = rows(app)
    doc = issue()
    with app.app_context():
        store = runtime().store
        before = db.session().execute(select(func.count()).select_from(Share)).scalar_one()
    real_put = store.put
    written: list[str] = []

    def put(key: str, data: bytes) -> None:
        real_put(key, data)
        written.append(key)

    monkeypatch.setattr(store, "put", put)
    calls = taken_first(monkeypatch, (list_a, idx_a), times=99)
    r = holder.share([doc["id"]])
    assert r.status_code == 503 and r.mimetype == "application/problem+json"
    assert r.get_json()["code"] == "status_index_busy"
    assert len(calls) == 5  # bounded
    assert len(written) == 5 and len(set(written)) == 1  # each attempt rewrote the same key ...
    assert not store.exists(written[0]) and store.exists(str(key_a))  # ... which the rollback deleted
    with app.app_context():
        assert db.session().execute(select(func.count()).select_from(Share)).scalar_one() == before
    assert len(rows(app)) == 1


def test_other_integrity_errors_are_not_taken_for_a_collision() -> None:
    pg = IntegrityError("INSERT", {}, Exception('duplicate key value violates unique constraint '
                                                '"ix_share_items_status"'))
    lite = IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: share_items.status_list, "
                                                  "share_items.status_idx"))
    other = IntegrityError("INSERT", {}, Exception('duplicate key value violates unique constraint "pk_shares"'))
    assert offline.is_status_collision(pg) and offline.is_status_collision(lite)
    assert not offline.is_status_collision(other)
