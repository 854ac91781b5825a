"""The share-look read model: a look at a share (QR link), decided, counted and logged.

A look's answer comes from the one decision table in :mod:`wallet.shares.states` (its docstring gives the
order): ``unknown`` when no share has the token (malformed, altered, truncated, random: same answer, same
work), else the first rule that holds, else ``valid``. Only a ``valid`` look consumes a view (atomically, see
:func:`look`); every look at a known share is logged for the holder.

The read model is the share with its items, documents, issuers and holder name, as SQLAlchemy Core rows (no ORM
identity map, no lazy loads), read fresh on every look (an agency's revocation shows at once). The QR link's page
and JSON twin do it all in one statement on PostgreSQL (:func:`look_token`); a copy download reads first
(:func:`find_share`: nothing is counted for what cannot be served), then :func:`look`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    bindparam,
    column,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from wallet.agencies.models import Agency
from wallet.citizens.models import Citizen
from wallet.db import UTCDateTime, new_id, utcnow
from wallet.documents.models import Document, DocumentState
from wallet.documents.service import effective_status
from wallet.shares.models import Channel, CopyKind, Share, ShareItem, ShareView
from wallet.shares.states import SHOWS_DOCUMENTS, LookResult, blocking, decision_case_sql, share_open_sql
from wallet.shares.tokens import lookup_hash, same_hash, well_formed
from wallet.verification.privacy import browser_family, truncate_ip


@dataclass(slots=True)
class SharedAgency:
    code: str
    name: str
    names: dict[str, str]

    def display_name(self, lang: str) -> str:
        return self.names.get(lang) or self.name


@dataclass(slots=True)
class SharedDocument:
    """What a look needs of a shared document (read in the look's single query, not as an ORM entity)."""

    id: str
    type: str
    title: str | None
    sha256: str
    issued_at: dt.datetime
    expires_at: dt.datetime | None
    status: DocumentState
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    signer_subject: str | None
    signed_at: dt.datetime | None
    validation: dict[str, Any]
    created_at: dt.datetime
    blob_key: str
    wrapped_key: bytes
    damage: str | None  # set by `fsck --repair`: reads answer 410 document_damaged
    agency: SharedAgency
    attributes: dict[str, Any] | None = None  # the signed attributes (catalogue.key_facts)


@dataclass(slots=True)
class SharedItem:
    id: str
    share_id: str
    position: int
    copy_kind: CopyKind | None
    copy_sha256: str | None
    copy_blob_key: str | None
    copy_wrapped_key: bytes | None
    copy_damage: str | None
    document: SharedDocument


@dataclass(slots=True)
class SharedLink:
    """A share as a look sees it: the row, its items in order, the holder's name."""

    id: str
    citizen_id: str
    token_hash: str
    label: str | None
    allow_download: bool
    max_views: int | None
    views_used: int
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    holder_name: str
    presented_as: str | None = None  # guardian | proxy: a representative made the share
    presented_by_name: str | None = None
    holder_national_id: str = ""
    items: list[SharedItem] = field(default_factory=list)


@dataclass
class Look:
    result: LookResult
    share: SharedLink | None = None
    items: list[SharedItem] = field(default_factory=list)
    holder_name: str | None = None
    view_id: str | None = None
    counted: bool = False  # this look consumed a view (the holder is told: share.viewed)

    @property
    def holder_national_id(self) -> str | None:
        """The holder's national ID, shown beside the name (only when the name is)."""
        return self.share.holder_national_id if self.share is not None and self.holder_name is not None else None

    @property
    def found(self) -> bool:
        return self.share is not None

    @property
    def shows_documents(self) -> bool:
        return self.result in SHOWS_DOCUMENTS


def decide(share: SharedLink, now: dt.datetime, *, counted: bool = True) -> LookResult | None:
    """The decision table on a share as read (None: valid). ``counted``: the look would consume a view."""
    statuses = (effective_status(item.document, now) for item in share.items)
    return blocking(share, statuses, now, counted=counted)


def counts(channel: Channel, share_id: str, grant_share_id: str | None) -> bool:
    """Whether a look consumes a view: always for the JSON twin; a page or copy covered by a download grant
    for this very share (``?g=``, issued by an earlier counted look) does not."""
    return channel == "json" or grant_share_id != share_id


_S, _I, _D = cast(Table, Share.__table__), cast(Table, ShareItem.__table__), cast(Table, Document.__table__)
_A, _C, _V = cast(Table, Agency.__table__), cast(Table, Citizen.__table__), cast(Table, ShareView.__table__)
_SHARE_COLS = (_S.c.id, _S.c.citizen_id, _S.c.token_hash, _S.c.label, _S.c.allow_download, _S.c.max_views,
               _S.c.views_used, _S.c.expires_at, _S.c.revoked_at, _S.c.presented_as, _S.c.presented_by_name)
_ITEM_COLS = (_I.c.id, _I.c.position, _I.c.copy_kind, _I.c.copy_sha256, _I.c.copy_blob_key, _I.c.copy_wrapped_key,
              _I.c.copy_damage)
_DOC_COLS = (_D.c.id, _D.c.type, _D.c.title, _D.c.sha256, _D.c.issued_at, _D.c.expires_at, _D.c.status,
             _D.c.revoked_at, _D.c.revocation_reason, _D.c.signer_subject, _D.c.signed_at, _D.c.validation,
             _D.c.created_at, _D.c.blob_key, _D.c.wrapped_key, _D.c.damage, _D.c.attributes)
_AGENCY_COLS = (_A.c.code, _A.c.name, _A.c.names)
_LOOK_QUERY = (
    select(*[c.label(f"s_{c.name}") for c in _SHARE_COLS],
           func.coalesce(_S.c.holder_name, _C.c.name).label("holder_name"),  # a representative's share: the holder's
           func.coalesce(_S.c.holder_national_id, _C.c.national_id).label("holder_national_id"),
           *[c.label(f"i_{c.name}") for c in _ITEM_COLS], *[c.label(f"d_{c.name}") for c in _DOC_COLS],
           *[c.label(f"a_{c.name}") for c in _AGENCY_COLS])
    .select_from(_S.join(_C, _C.c.id == _S.c.citizen_id).join(_I, _I.c.share_id == _S.c.id)
                 .join(_D, _D.c.id == _I.c.document_id).join(_A, _A.c.id == _D.c.agency_id))
    .where(_S.c.token_hash == bindparam("digest"))
    .order_by(_I.c.position, _I.c.id)
)
_REREAD = select(_S.c.views_used, _S.c.revoked_at, _S.c.expires_at, _S.c.max_views).where(_S.c.id == bindparam("sid"))
_LOG_VIEW = insert(_V)


def _now() -> Any:
    """The ``:now`` of a hand-written statement, bound as the columns it is compared with."""
    return bindparam("now", type_=UTCDateTime())


# the view-consuming UPDATE (SQLite; PostgreSQL's is in _CONSUME_PG): its WHERE re-checks the share-level rules
_CONSUME = (update(_S).where(_S.c.id == bindparam("sid"), text(share_open_sql("shares")).bindparams(_now()))
            .values(views_used=_S.c.views_used + 1).returning(_S.c.views_used))


def _recheck(conn: Connection, share: SharedLink, now: dt.datetime, view_id: str) -> LookResult:
    """The view was not taken although the snapshot allowed it: the share changed meanwhile (revoked, or the
    last view taken by a concurrent look). Reload what decides the answer; log what the verifier is told."""
    fresh = conn.execute(_REREAD, {"sid": share.id}).mappings().one()
    share.views_used, share.revoked_at = fresh["views_used"], fresh["revoked_at"]
    share.expires_at, share.max_views = fresh["expires_at"], fresh["max_views"]
    result = decide(share, now) or LookResult.VIEWS_EXHAUSTED
    if result != LookResult.VIEWS_EXHAUSTED:
        conn.execute(update(_V).where(_V.c.id == view_id).values(result=result.value))
    return result


def _strip(row: Any, prefix: str, cols: tuple[Any, ...]) -> dict[str, Any]:
    return {c.name: row[f"{prefix}{c.name}"] for c in cols}


def _share_from_rows(rows: list[Any]) -> SharedLink:
    share = SharedLink(**_strip(rows[0], "s_", _SHARE_COLS), holder_name=rows[0]["holder_name"] or "",
                       holder_national_id=rows[0]["holder_national_id"] or "")
    for row in rows:
        agency = SharedAgency(**_strip(row, "a_", _AGENCY_COLS))
        doc = SharedDocument(**_strip(row, "d_", _DOC_COLS), agency=agency)
        share.items.append(SharedItem(**_strip(row, "i_", _ITEM_COLS), share_id=share.id, document=doc))
    return share


def find_share(conn: Connection, token: str, digest: str | None = None) -> SharedLink | None:
    """The share of ``token`` or None; the same single indexed query whatever the token looks like.
    ``digest``: the token's hash, known instead of the token (a share found by its numeric code)."""
    checked = digest is None
    digest = digest or lookup_hash(token)
    rows = conn.execute(_LOOK_QUERY, {"digest": digest}).mappings().all()
    if not rows or (checked and not well_formed(token)) or not same_hash(rows[0]["s_token_hash"], digest):
        return None
    return _share_from_rows(list(rows))


def token_hash_of_code(conn: Connection, code_digest: str) -> str | None:
    """The token hash of the share a numeric code names (the newest one: an older, dead share may have had
    the same code), or None."""
    return conn.execute(select(_S.c.token_hash).where(_S.c.code_hash == code_digest)
                        .order_by(_S.c.expires_at.desc()).limit(1)).scalar()


def look_connection(engine: Engine, session: Callable[[], Session]) -> tuple[Connection, bool]:
    """Where a look runs: a pooled connection of its own in autocommit mode, outside the request's unit of
    work, on both databases. True: the caller closes it.

    The one documented exception to "one commit per request, in one place" (``wallet.db``): a look is kept
    the moment it is taken, whatever the request answers next. Why: the QR scan is the hottest path, and a
    view counted and logged is a fact (the holder sees it) even if the answer then fails to reach the verifier.
    tests/verification/test_one_commit.py shows it: the look survives a request that rolls back.

    - PostgreSQL: each statement of the hot path is atomic by itself (no BEGIN/COMMIT round trips).
    - SQLite: the share is read without a lock (one statement, one WAL snapshot), then the view is consumed
      and logged in one short ``BEGIN IMMEDIATE`` transaction of their own (``_writing``). The one write
      lock is then held for two statements and their commit, not for the whole request (the answer's JSON,
      the grant, the response): under load every look waited for the lock through all of that (issue 16,
      bench row 7). The consuming UPDATE re-checks the share under the lock, as on PostgreSQL."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT"), True


@contextmanager
def _writing(conn: Connection) -> Iterator[None]:
    """The look's writes as one transaction. On SQLite in autocommit (``look_connection``): BEGIN IMMEDIATE
    (the writer lock; its busy timeout waits for it) and COMMIT around them, ROLLBACK if one fails. In a
    transaction already (the request's, or the tests' savepoint) or on PostgreSQL (one statement): as is."""
    if conn.dialect.name != "sqlite" or conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        yield
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.exec_driver_sql("ROLLBACK")
        raise
    conn.exec_driver_sql("COMMIT")  # the look's own commit (see look_connection)


def look(conn: Connection, share: SharedLink | None, channel: Channel, *, ip: str | None, user_agent: str | None,
         count: bool = True) -> Look:
    """One look at a share, counted and logged. ``count=False``: a follow-up covered by an earlier view.

    A share with a view limit: the view is consumed by one conditional UPDATE whose WHERE clause re-checks
    everything that could have changed since the share was read (revoked, expired, views left): the row lock
    (PostgreSQL) or the write lock taken at BEGIN IMMEDIATE (SQLite) makes "one view left" give exactly one more
    view. On PostgreSQL the UPDATE and the view's INSERT are one statement (a data-modifying CTE): atomic, one
    round trip. An unlimited share: the view is counted by its log row alone (``ShareView.counts_view``); the
    answer is decided on the share as read an instant before (a revocation committed after that read orders
    after this look, as it would after a look that took the row lock first).
    """
    if share is None:
        return Look(LookResult.UNKNOWN)
    now = utcnow()
    result = decide(share, now, counted=count)
    view: dict[str, Any] = {"vid": new_id(), "sid": share.id, "cid": share.citizen_id, "now": now, "channel": channel,
                            "ip": truncate_ip(ip), "browser": browser_family(user_agent)}
    counted = False
    if result is None and count and share.max_views is None:
        # an unlimited share: the view is counted in its log (one INSERT, atomic by itself; no lock on the share)
        _log_view(conn, view, LookResult.VALID, counts_view=True)
        result, counted = LookResult.VALID, True
    else:
        with _writing(conn):
            if result is None and count:
                used = _consume_and_log(conn, view)
                if used is not None:
                    result, counted = LookResult.VALID, True
                    share.views_used = used
                else:
                    result = _recheck(conn, share, now, view["vid"])
            else:
                result = result or LookResult.VALID
                _log_view(conn, view, result)
    return Look(result, share, share.items, share.holder_name if result in SHOWS_DOCUMENTS else None, view["vid"],
                counted)


_CONSUME_PG = text(f"""
WITH used AS (
    UPDATE shares SET views_used = views_used + 1
    WHERE id = :sid AND {share_open_sql("shares")}
    RETURNING views_used
), logged AS (
    INSERT INTO share_views (id, share_id, citizen_id, at, channel, result, ip_prefix, browser)
    SELECT :vid, :sid, :cid, :now, :channel,
           CASE WHEN used.views_used IS NULL THEN '{LookResult.VIEWS_EXHAUSTED}' ELSE '{LookResult.VALID}' END,
           :ip, :browser
    FROM (SELECT 1) AS one LEFT JOIN used ON true
)
SELECT (SELECT views_used FROM used) AS used
""").bindparams(_now())  # noqa: S608 - built at import from the decision table's constants, no input


def _consume_and_log(conn: Connection, view: dict[str, Any]) -> int | None:
    """Consume one view if the share still allows it and log the look; the new ``views_used`` or None."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(_CONSUME_PG, view).one()
        return None if row.used is None else int(row.used)
    used = conn.execute(_CONSUME, {"sid": view["sid"], "now": view["now"]}).scalar_one_or_none()
    _log_view(conn, view, LookResult.VALID if used is not None else LookResult.VIEWS_EXHAUSTED)
    return used


def _log_view(conn: Connection, view: dict[str, Any], result: LookResult, *, counts_view: bool = False) -> None:
    conn.execute(_LOG_VIEW, {"id": view["vid"], "share_id": view["sid"], "citizen_id": view["cid"], "at": view["now"],
                             "channel": view["channel"], "result": result.value, "ip_prefix": view["ip"],
                             "browser": view["browser"], "counts_view": counts_view})


def _select_list() -> str:
    parts = [f"s.{c.name} AS s_{c.name}" for c in _SHARE_COLS] + [
        "COALESCE(s.holder_name, c.name) AS holder_name",
        "COALESCE(s.holder_national_id, c.national_id) AS holder_national_id"]
    parts += [f"i.{c.name} AS i_{c.name}" for c in _ITEM_COLS] + [f"d.{c.name} AS d_{c.name}" for c in _DOC_COLS]
    parts += [f"a.{c.name} AS a_{c.name}" for c in _AGENCY_COLS]
    return ", ".join(parts)


def _typed_columns() -> list[Any]:
    cols = [column(f"s_{c.name}", c.type) for c in _SHARE_COLS] + [column("holder_name", _C.c.name.type),
                                                                    column("holder_national_id",
                                                                           _C.c.national_id.type)]
    cols += [column(f"i_{c.name}", c.type) for c in _ITEM_COLS] + [column(f"d_{c.name}", c.type) for c in _DOC_COLS]
    cols += [column(f"a_{c.name}", c.type) for c in _AGENCY_COLS]
    return [*cols, column("look_result", String()), column("look_used", Integer()), column("look_logged", Boolean())]


# The whole QR scan on PostgreSQL as ONE statement (autocommit: atomic by itself, one round trip). It decides
# the answer with the decision table as SQL (``decision_case_sql``: the same rows, the same order as
# ``decide``; tests/verification/test_decision_sql.py runs every state on both databases), consumes the view
# with the same re-checking UPDATE as ``_consume_and_log``, logs the look, and returns the share with its
# documents. Data-modifying CTEs all see one snapshot, so the rows returned are the state the answer was
# decided on; ``look_used`` is the count after this view.
_LOOK_PG_SQL = f"""
WITH target AS (
    SELECT id, citizen_id, revoked_at, expires_at, max_views, views_used,
           (CAST(:channel AS varchar) = 'json' OR CAST(:grant_sid AS varchar) IS NULL
            OR id <> CAST(:grant_sid AS varchar)) AS counts  -- counts() in SQL
    FROM shares WHERE token_hash = :digest
), decided AS (
    SELECT t.*, {decision_case_sql("t", "t.counts")} AS blocked
    FROM target t
), used AS (
    UPDATE shares SET views_used = shares.views_used + 1
    FROM decided
    WHERE shares.id = decided.id AND decided.blocked IS NULL AND decided.counts AND decided.max_views IS NOT NULL
          AND {share_open_sql("shares")}
    RETURNING shares.views_used
), logged AS (
    INSERT INTO share_views (id, share_id, citizen_id, at, channel, result, ip_prefix, browser, counts_view)
    SELECT :vid, decided.id, decided.citizen_id, :now, :channel,
           COALESCE(decided.blocked, CASE WHEN NOT decided.counts OR decided.max_views IS NULL
                                               OR EXISTS (SELECT 1 FROM used)
                                          THEN '{LookResult.VALID}' ELSE '{LookResult.VIEWS_EXHAUSTED}' END),
           :ip, :browser, decided.blocked IS NULL AND decided.counts AND decided.max_views IS NULL
    FROM decided
    RETURNING result, counts_view
)
SELECT {{select_list}}, (SELECT result FROM logged) AS look_result, (SELECT views_used FROM used) AS look_used,
       (SELECT counts_view FROM logged) AS look_logged
FROM shares s JOIN citizens c ON c.id = s.citizen_id JOIN share_items i ON i.share_id = s.id
     JOIN documents d ON d.id = i.document_id JOIN agencies a ON a.id = d.agency_id
WHERE s.token_hash = :digest
ORDER BY i.position, i.id
"""  # noqa: S608 - built at import from the decision table's constants, no input
_LOOK_PG = text(_LOOK_PG_SQL.replace("{select_list}", _select_list())).bindparams(_now()).columns(*_typed_columns())


def look_token(conn: Connection, token: str, channel: Channel, *, ip: str | None, user_agent: str | None,
               grant_share_id: str | None = None, digest: str | None = None) -> Look:
    """Find, decide, count and log a look at ``token`` (the QR link's page and JSON twin).

    ``grant_share_id``: the share a valid download grant names (a page reload covered by an earlier view).
    PostgreSQL: one statement (``_LOOK_PG``). Elsewhere: ``find_share`` then ``look`` in the request's
    transaction. ``digest``: the token's hash instead of the token (a share found by its numeric code).
    """
    if conn.dialect.name != "postgresql":
        share = find_share(conn, token, digest)
        return look(conn, share, channel, ip=ip, user_agent=user_agent,
                    count=share is None or counts(channel, share.id, grant_share_id))
    checked = digest is None
    digest = digest or lookup_hash(token)
    now = utcnow()
    params: dict[str, Any] = {"digest": digest, "now": now, "vid": new_id(), "channel": channel,
                              "grant_sid": grant_share_id, "ip": truncate_ip(ip), "browser": browser_family(user_agent)}
    rows = list(conn.execute(_LOOK_PG, params).mappings().all())
    if not rows or (checked and not well_formed(token)) or not same_hash(rows[0]["s_token_hash"], digest):
        return Look(LookResult.UNKNOWN)
    share = _share_from_rows(rows)
    result, used = LookResult(rows[0]["look_result"]), rows[0]["look_used"]
    if used is not None:
        share.views_used = used
    if result == LookResult.VIEWS_EXHAUSTED and decide(share, now, counted=counts(channel, share.id,
                                                                                  grant_share_id)) is None:
        result = _recheck(conn, share, now, params["vid"])
    shows = result in SHOWS_DOCUMENTS
    counted = result == LookResult.VALID and (used is not None or bool(rows[0]["look_logged"]))
    return Look(result, share, share.items, share.holder_name if shows else None, params["vid"], counted)
