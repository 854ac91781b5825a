"""The share-state decision table (wallet/shares/states.py) and its SQL agree, on whichever database runs.

For every combination of the table's inputs — share revoked or not, share expired or not, one document in
every state (valid, expiring, expired, revoked, replaced, revoked and past its date) beside one valid or
expired, no view limit / views left / views used up, a look that counts a view or one a grant covers — hence
every precedence combination of the five rules:

- the SQL ``CASE`` generated from the table (``decision_case_sql``) gives the Python table's answer;
- the UPDATE's re-check (``share_open_sql``) holds exactly when the share's own status is ``active``;
- the real look path (``look_token``: the one SQL statement on PostgreSQL, the Python table on SQLite) answers
  the same, and counts a view only for a valid counted look.

Run it on both: ``WALLET_TEST_DB=postgresql``. The hot path's statement count is pinned at the end.
"""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, select, text, update

from wallet import db, jobs
from wallet.db import UTCDateTime
from wallet.documents.models import Document
from wallet.extensions import runtime
from wallet.shares.models import Share, ShareView
from wallet.shares.states import (
    DECISION,
    SHOWS_DOCUMENTS,
    LookResult,
    ShareStatus,
    decision_case_sql,
    share_open_sql,
    share_status,
)
from wallet.verification.looks import decide, find_share, look_connection, look_token

DAY = dt.timedelta(days=1)
# a document state -> (documents.status, expires_at relative to now)
DOC_STATES: dict[str, tuple[str, dt.timedelta | None]] = {
    "valid": ("active", None),
    "expiring": ("active", 3 * DAY),  # inside EXPIRING_DAYS: still not expired
    "expired": ("active", -DAY),
    "revoked": ("revoked", None),
    "replaced": ("replaced", 90 * DAY),
    "revoked_and_past": ("revoked", -DAY),  # withdrawn wins over its date: effective status "revoked"
}
VIEWS = {"unlimited": (None, 0), "left": (2, 1), "used_up": (2, 2)}
# the first document in every state, the second valid or expired (so both document rules meet every state)
DOC_PAIRS = list(itertools.product(DOC_STATES, ("valid", "expired")))
COMBINATIONS = list(itertools.product((False, True), (False, True), DOC_PAIRS, VIEWS, (True, False)))
_DECIDE_SQL = text(f"SELECT {decision_case_sql('t', 'CAST(:counted AS BOOLEAN)')} AS blocked, "  # noqa: S608
                   f"{share_open_sql('t')} AS open FROM shares t WHERE t.id = :sid").bindparams(
    bindparam("now", type_=UTCDateTime()))


def _token(share: dict[str, Any]) -> str:
    return str(share["url"]).rsplit("/", 1)[-1]


@pytest.fixture
def two_document_share(app: Any, holder: Any, issue: Any) -> tuple[str, str, list[str]]:
    """A share of two documents: (share id, token, document ids in share order)."""
    docs = [issue()["id"], issue()["id"]]
    r = holder.share(docs, max_views=None)
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    return body["id"], _token(body), docs


def _set_state(sess: Any, sid: str, doc_ids: list[str], now: dt.datetime, revoked: bool, expired: bool,
               doc_states: tuple[str, ...], views: str) -> None:
    max_views, used = VIEWS[views]
    sess.execute(update(Share).where(Share.id == sid).values(
        revoked_at=now - DAY if revoked else None, expires_at=now - DAY if expired else now + DAY,
        max_views=max_views, views_used=used))
    for doc_id, state in zip(doc_ids, doc_states, strict=True):
        status, delta = DOC_STATES[state]
        sess.execute(update(Document).where(Document.id == doc_id).values(
            status=status, expires_at=None if delta is None else now + delta))


def test_the_table_has_every_rule_once() -> None:
    results = [rule.result for rule in DECISION]
    assert len(set(results)) == len(results) == 5
    assert set(results) | {LookResult.VALID, LookResult.UNKNOWN} == set(LookResult)
    assert {rule.status for rule in DECISION if rule.status} | {ShareStatus.ACTIVE} == set(ShareStatus)
    assert {LookResult.VALID, LookResult.DOCUMENT_REVOKED, LookResult.DOCUMENT_EXPIRED} == SHOWS_DOCUMENTS


def test_sql_and_python_give_the_same_answer_for_every_state(app: Any, two_document_share: Any) -> None:
    sid, token, doc_ids = two_document_share
    seen: set[tuple[LookResult | None, bool]] = set()
    with app.app_context():
        now = db.utcnow()
        for revoked, expired, doc_states, views, counted in COMBINATIONS:
            case = (revoked, expired, doc_states, views, counted)
            sess = db.session()
            _set_state(sess, sid, doc_ids, now, revoked, expired, doc_states, views)
            db.commit()
            conn = db.session().connection()
            share = find_share(conn, token)
            assert share is not None
            want = decide(share, now, counted=counted)
            row = conn.execute(_DECIDE_SQL, {"sid": sid, "now": now, "counted": counted}).one()
            assert (LookResult(row.blocked) if row.blocked is not None else None) == want, case
            assert bool(row.open) is (share_status(share, now) == ShareStatus.ACTIVE), case
            db.rollback()
            seen.add((want, counted))
            _assert_the_look_agrees(sid, token, want, counted, VIEWS[views][1], case)
    assert len(seen) == 11  # 5 reasons and valid, counted; views_exhausted never when not counted


def _counted(sid: str) -> tuple[int, int]:
    """(the share's row counter, the views its log counts): an unlimited share counts in its log only."""
    sess = db.session()
    used = sess.execute(select(Share.views_used).where(Share.id == sid)).scalar_one()
    logged = sess.execute(select(func.count()).select_from(ShareView)
                          .where(ShareView.share_id == sid, ShareView.counts_view)).scalar_one()
    db.rollback()
    return used, logged


def _assert_the_look_agrees(sid: str, token: str, want: LookResult | None, counted: bool, used_before: int,
                            case: Any) -> None:
    """The real look path (as the views run it) answers as the table said and counts only a valid counted look:
    on the share's row when it has a view limit, in its log when it has none."""
    row_before, log_before = _counted(sid)
    assert row_before == used_before, case
    conn, own = look_connection(runtime().db.engine, db.session)
    try:
        got = look_token(conn, token, "json" if counted else "page", ip="203.0.113.9", user_agent="pytest",
                         grant_share_id=None if counted else sid)
    finally:
        if own:
            conn.close()
    db.commit()
    assert got.result == (want or LookResult.VALID), case
    assert (got.holder_name is not None) is (got.result in SHOWS_DOCUMENTS), case
    row_after, log_after = _counted(sid)
    took = want is None and counted
    assert got.counted is took, case
    limited = case[3] != "unlimited"
    assert (row_after - row_before, log_after - log_before) == ((took, 0) if limited else (0, took)), case


# ------------------------------------------------------------------------------------------- the hot path

@contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL statements the app's engine runs (BEGIN/SAVEPOINT and the like left out: the work only)."""
    seen: list[str] = []
    engine = runtime().db.engine

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.split(None, 1)[0].upper()
        if verb in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            seen.append(verb)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", spy)


@pytest.mark.parametrize("max_views", [None, 10])
def test_a_look_is_one_statement_on_postgresql_three_on_sqlite(app: Any, holder: Any, issue: Any, max_views: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The QR look's budget, measured before the decision table replaced the hand-written rules: PostgreSQL one
    statement per look (two for a copy: its read comes first); SQLite a read, the UPDATE and the log INSERT for a
    share with a view limit, the read and the log INSERT for an unlimited one (its views are counted in the log).
    A counted look also hands one job to the workers (``share.viewed``: Web Push), run after the commit and
    not by the look: it is counted here as a job, not run (the tests' eager backend would run it inline); the
    first counted look of the share only (one notice per share per window: wallet.push.gate)."""
    share = holder.share([issue()["id"]], max_views=max_views).get_json()
    queued: list[str] = []
    monkeypatch.setattr(jobs, "enqueue", lambda name, *args, **kw: queued.append(name))
    token = _token(share)
    anon = app.test_client()
    with app.app_context():
        pg = runtime().db.engine.dialect.name == "postgresql"
        lite = ["SELECT", "INSERT"] if max_views is None else ["SELECT", "UPDATE", "INSERT"]
        copy = (["SELECT", "INSERT"] if max_views is None else ["SELECT", "WITH"]) if pg else lite
        for path, want in (("/api/v1/verify/{t}", ["WITH"] if pg else lite),
                           ("/v/{t}", ["WITH"] if pg else lite),
                           ("/v/{t}/copy.pdf?item=0", copy),
                           ("/api/v1/verify/" + "A" * 22, ["WITH"] if pg else ["SELECT"])):
            queued.clear()
            with _statements() as seen:
                r = anon.get(path.format(t=token))
            assert r.status_code in (200, 404), path
            assert seen == want, path
            assert queued == (["push.share_viewed"] if path == "/api/v1/verify/{t}" else []), path
