"""Hypothesis properties of share tokens, expiry and the view limit.

- Token handling never raises on any string (surrogates and controls included); any mutation of a real token
  (a character changed, case swapped, cut, extended, a character inserted or dropped) finds nothing: "unknown".
- The decision of a look (``looks.decide``) follows the order wallet/shares/states.py documents, for any combination of
  revocation, expiry, document statuses and views; ``share_status`` agrees with it.
- On the real database, through the real ``find_share``/``look`` (its conditional UPDATE): for any state, each
  look's result and the counter follow that same table; a share with max_views=n gives exactly n valid looks,
  then views_exhausted. Example counts are small: the suite stays fast.
"""
from __future__ import annotations

import datetime as dt
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from tests.support.shares import token_of
from wallet import db
from wallet.documents.models import Document
from wallet.shares.models import Share, ShareView
from wallet.shares.states import share_status
from wallet.shares.tokens import lookup_hash, new_token, token_hash, well_formed
from wallet.verification.looks import (
    SharedAgency,
    SharedDocument,
    SharedItem,
    SharedLink,
    decide,
    find_share,
    look,
)

ANY_CHAR = st.characters(blacklist_categories=())  # surrogates and controls too
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"
DB_SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ------------------------------------------------------------------------------------------- tokens

@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHAR, max_size=80))
def test_token_functions_never_raise(text: str) -> None:
    ok = well_formed(text)
    assert ok is (len(text) == 22 and all(c in TOKEN_ALPHABET for c in text))
    digest = lookup_hash(text)
    assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    if ok:
        assert digest == token_hash(text)
    else:  # a malformed token is looked up under a hash no real token has ("!" is outside the alphabet)
        assert digest == token_hash("!malformed!" + text[:64]) != token_hash(text)


def test_new_tokens_are_well_formed_and_distinct() -> None:
    tokens = [new_token() for _ in range(500)]
    assert len(set(tokens)) == 500 and all(well_formed(t) for t in tokens)


@st.composite
def mutation(draw: st.DrawFn, token: str) -> str:
    i = draw(st.integers(0, len(token) - 1))
    kind = draw(st.sampled_from(["flip", "case", "truncate", "extend", "insert", "drop", "lookalike"]))
    if kind == "flip":
        c = draw(st.one_of(st.sampled_from(TOKEN_ALPHABET), ANY_CHAR).filter(lambda c: c != token[i]))
        out = token[:i] + c + token[i + 1:]
    elif kind == "case":
        letters = [j for j, c in enumerate(token) if c.isalpha()]
        j = draw(st.sampled_from(letters)) if letters else i
        out = token[:j] + token[j].swapcase() + token[j + 1:]
    elif kind == "truncate":
        out = token[:i]
    elif kind == "extend":
        out = token + draw(st.text(ANY_CHAR, min_size=1, max_size=4))
    elif kind == "insert":
        out = token[:i] + draw(ANY_CHAR) + token[i:]
    elif kind == "drop":
        out = token[:i] + token[i + 1:]
    else:  # a look-alike: Cyrillic/fullwidth letters, a trailing newline
        out = token[:i] + draw(st.sampled_from(["\u0430", "\u043e", "\uff41", "\n", "%41", " "])) + token[i + 1:]
    return out


@pytest.fixture
def live_share(holder: Any, issue: Any) -> str:
    r = holder.share([issue()["id"]], max_views=None)
    assert r.status_code == 201
    return token_of(r.get_json())


@DB_SETTINGS
@given(data=st.data())
def test_any_mutation_of_a_real_token_is_unknown(app: Any, live_share: str, data: st.DataObject) -> None:
    token = live_share
    mutated = data.draw(mutation(token))
    if mutated == token:  # swapcase of a letter always differs; kept as a guard
        return
    with app.app_context():
        conn = db.session().connection()
        assert find_share(conn, token) is not None
        assert find_share(conn, mutated) is None
        db.rollback()


def test_mutated_tokens_over_http_are_unknown(holder: Any, live_share: str) -> None:
    t = live_share
    for mutated in (t[:-1] + ("A" if t[-1] != "A" else "B"), t[:-1], t + "x", t.swapcase(), t + "%0A"):
        r = holder.client.get(f"/api/v1/verify/{mutated}")
        assert r.status_code == 404 and r.get_json()["result"] == "unknown", mutated
    ok = holder.client.get(f"/api/v1/verify/{t}")
    assert ok.status_code == 200 and ok.get_json()["result"] == "valid"


# ------------------------------------------------------------------------------------------- the decision

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
ORDER = ("share_revoked", "share_expired", "document_revoked", "document_expired", "views_exhausted")  # docstring


def documented(revoked: bool, share_expired: bool, doc_states: list[str], max_views: int | None, used: int,
               views: bool) -> str | None:
    """The order in wallet/shares/states.py's docstring: every reason that holds, the first one wins."""
    reasons = set()
    if revoked:
        reasons.add("share_revoked")
    if share_expired:
        reasons.add("share_expired")
    if any(s in ("revoked", "replaced") for s in doc_states):
        reasons.add("document_revoked")
    if "expired" in doc_states:
        reasons.add("document_expired")
    if views and max_views is not None and used >= max_views:
        reasons.add("views_exhausted")
    return next((r for r in ORDER if r in reasons), None)


def _doc(state: str, expires_in: dt.timedelta | None) -> SharedDocument:
    status = state if state in ("revoked", "replaced") else "active"
    expires_at = NOW + expires_in if expires_in is not None else None
    return SharedDocument(id="d", type="criminal_record", title=None, sha256="0" * 64, issued_at=NOW, expires_at=expires_at,
                          status=status, revoked_at=None, revocation_reason=None, signer_subject=None, signed_at=None,
                          validation={}, created_at=NOW, blob_key="k", wrapped_key=b"", damage=None,
                          agency=SharedAgency(code="MJ", name="MJ", names={}))


seconds = st.integers(-10 * 86400, 10 * 86400).map(lambda s: dt.timedelta(seconds=s))
doc_spec = st.tuples(st.sampled_from(["active", "revoked", "replaced"]), st.none() | seconds)


@settings(max_examples=500, deadline=None)
@given(revoked=st.booleans(), expires=seconds, docs=st.lists(doc_spec, min_size=1, max_size=4),
       max_views=st.none() | st.integers(0, 5), used=st.integers(0, 7), views=st.booleans())
def test_decision_follows_the_documented_order(revoked: bool, expires: dt.timedelta, docs: list[Any],
                                               max_views: int | None, used: int, views: bool) -> None:
    items = [SharedItem(id=f"i{n}", share_id="s", position=n, copy_kind="sealed", copy_sha256=None,
                        copy_blob_key=None, copy_wrapped_key=None, copy_damage=None, document=_doc(state, exp))
             for n, (state, exp) in enumerate(docs)]
    share = SharedLink(id="s", citizen_id="c", token_hash="h", label=None,  # noqa: S106
                       allow_download=False,
                       max_views=max_views, views_used=used, expires_at=NOW + expires,
                       revoked_at=NOW - dt.timedelta(minutes=1) if revoked else None, holder_name="", items=items)
    states = [s if s != "active" else ("expired" if e is not None and e <= dt.timedelta(0) else "active")
              for s, e in docs]
    want = documented(revoked, expires <= dt.timedelta(0), states, max_views, used, views)
    assert decide(share, NOW, counted=views) == want
    # the share's own status (the holder's list) agrees with the share-level part of the decision
    own = share_status(share, NOW)  # type: ignore[arg-type]
    expected_own = {"share_revoked": "revoked", "share_expired": "expired"}.get(want or "")
    if expected_own:
        assert own == expected_own
    elif max_views is not None and used >= max_views:
        assert own == "exhausted"
    else:
        assert own == "active"


# ------------------------------------------------------------------------------------------- on the database

def _look(app: Any, token: str) -> str:
    with app.app_context():
        conn = db.session().connection()
        result = look(conn, find_share(conn, token), "json", ip="203.0.113.9", user_agent="pytest").result
        db.commit()
    return result


def _row(app: Any) -> tuple[int, int, int]:
    """(the share's row counter, the views its log counts, the looks logged)."""
    with app.app_context():
        sess = db.session()
        used = sess.execute(select(Share.views_used)).scalar_one()
        counted = sess.execute(select(func.count()).select_from(ShareView).where(ShareView.counts_view)).scalar_one()
        logged = sess.execute(select(func.count()).select_from(ShareView)).scalar_one()
        db.rollback()
    return used, counted, logged


@DB_SETTINGS
@given(revoked=st.booleans(), expired=st.booleans(), doc_state=st.sampled_from(["active", "revoked", "expired"]),
       max_views=st.none() | st.integers(0, 3), used=st.integers(0, 3), looks=st.integers(1, 4))
def test_looks_on_the_database_follow_the_table(app: Any, live_share: str, revoked: bool, expired: bool,
                                                doc_state: str, max_views: int | None, used: int, looks: int) -> None:
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        sess = db.session()
        sess.execute(update(Share).values(
            revoked_at=now if revoked else None, max_views=max_views, views_used=used,
            expires_at=now - dt.timedelta(hours=1) if expired else now + dt.timedelta(hours=1)))
        sess.execute(update(Document).values(
            status="revoked" if doc_state == "revoked" else "active",
            expires_at=now - dt.timedelta(hours=1) if doc_state == "expired" else None))
        db.commit()
    _, counted_before, logged_before = _row(app)
    counter = used
    for _ in range(looks):
        want = documented(revoked, expired, [doc_state], max_views, counter, True) or "valid"
        assert _look(app, live_share) == want
        counter += want == "valid"
    # only valid looks count (on the row with a view limit, in the log without); every look is logged
    took = counter - used
    expected = (counter, counted_before) if max_views is not None else (used, counted_before + took)
    assert _row(app) == (*expected, logged_before + looks)


@pytest.mark.parametrize("n", [1, 3])
def test_max_views_n_gives_exactly_n_valid_looks(holder: Any, issue: Any, n: int) -> None:
    r = holder.share([issue()["id"]], max_views=n)
    token = token_of(r.get_json())
    results = [holder.client.get(f"/api/v1/verify/{token}").get_json()["result"] for _ in range(n + 2)]
    assert results == ["valid"] * n + ["views_exhausted"] * 2
    listed = holder.client.get("/api/v1/me/shares").get_json()["shares"][0]
    assert listed["views_used"] == n and listed["status"] == "exhausted"
