"""Verification for anyone: looks at a share (QR link) and reports on uploaded PDFs.

Result of a look, decided in this order (first match wins):

1. ``unknown`` — no share has this token (malformed, altered, truncated, random: same answer, same work).
2. ``share_revoked`` — the holder withdrew the link. Nothing about the documents is shown any more.
3. ``share_expired`` — the link's lifetime is over. Nothing about the documents is shown any more.
4. ``document_revoked`` — a shared document was revoked or replaced by its issuer. This wins over the view
   limit: a clerk holding an old paper copy must learn that it is no longer valid, not that "views are used
   up" (which invites asking for a new link). Type, issuer, revocation date and reason are shown.
5. ``document_expired`` — a shared document is past its validity date (same reduced details).
6. ``views_exhausted`` — the holder's view limit is reached. Nothing about the documents is shown.
7. ``valid`` — counted as one view (atomically, see :func:`look`) and shown in full.

Only a ``valid`` look consumes a view; every look at a known share is logged for the holder.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Integer, String, bindparam, column, insert, or_, select, text, update
from sqlalchemy.orm import Session

from signing import ValidationReport
from wallet.agencies.models import Agency, AgencyCertificate
from wallet.agencies.service import live_certificates
from wallet.citizens.models import Citizen
from wallet.db import UTCDateTime, new_id, utcnow
from wallet.documents.models import Document
from wallet.documents.service import effective_status, signature_summary
from wallet.documents.types import TYPES
from wallet.extensions import Runtime
from wallet.shares.models import Share, ShareItem, ShareView
from wallet.shares.service import share_status
from wallet.shares.tokens import lookup_hash, same_hash, well_formed
from wallet.validation import validate_pdf
from wallet.verification.changes import added_after_signing, judge_later, judged_signatures
from wallet.verification.privacy import browser_family, truncate_ip

RESULTS = ("valid", "share_expired", "share_revoked", "views_exhausted", "document_revoked", "document_expired",
           "unknown")
CHANNELS = ("page", "json", "copy")


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
    status: str
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


@dataclass(slots=True)
class SharedItem:
    id: str
    share_id: str
    position: int
    copy_kind: str | None
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
    items: list[SharedItem] = field(default_factory=list)


@dataclass
class Look:
    result: str
    share: SharedLink | None = None
    items: list[SharedItem] = field(default_factory=list)
    holder_name: str | None = None
    view_id: str | None = None

    @property
    def found(self) -> bool:
        return self.share is not None

    @property
    def shows_documents(self) -> bool:
        return self.result in ("valid", "document_revoked", "document_expired")


def _blocking(share: SharedLink, now: dt.datetime, *, views: bool = True) -> str | None:
    if share.revoked_at is not None:
        return "share_revoked"
    if share.expires_at <= now:
        return "share_expired"
    statuses = [effective_status(item.document, now) for item in share.items]  # type: ignore[arg-type]
    if any(s in ("revoked", "replaced") for s in statuses):
        return "document_revoked"
    if "expired" in statuses:
        return "document_expired"
    if views and share.max_views is not None and share.views_used >= share.max_views:
        return "views_exhausted"
    return None


# The read model of a look: the share with its items, documents, issuers and holder name, as SQLAlchemy Core
# rows (no ORM identity map, no lazy loads), read fresh on every look (an agency's revocation shows at once).
# The QR link's page and JSON twin do it all in one statement on PostgreSQL (``look_token``); a copy download
# reads first (``find_share``: nothing is counted for what cannot be served), then ``look``.
_S, _I, _D = Share.__table__, ShareItem.__table__, Document.__table__
_A, _C, _V = Agency.__table__, Citizen.__table__, ShareView.__table__
_SHARE_COLS = (_S.c.id, _S.c.citizen_id, _S.c.token_hash, _S.c.label, _S.c.allow_download, _S.c.max_views,
               _S.c.views_used, _S.c.expires_at, _S.c.revoked_at)
_ITEM_COLS = (_I.c.id, _I.c.position, _I.c.copy_kind, _I.c.copy_sha256, _I.c.copy_blob_key, _I.c.copy_wrapped_key,
              _I.c.copy_damage)
_DOC_COLS = (_D.c.id, _D.c.type, _D.c.title, _D.c.sha256, _D.c.issued_at, _D.c.expires_at, _D.c.status,
             _D.c.revoked_at, _D.c.revocation_reason, _D.c.signer_subject, _D.c.signed_at, _D.c.validation,
             _D.c.created_at, _D.c.blob_key, _D.c.wrapped_key, _D.c.damage)
_AGENCY_COLS = (_A.c.code, _A.c.name, _A.c.names)
_LOOK_QUERY = (
    select(*[c.label(f"s_{c.name}") for c in _SHARE_COLS], _C.c.name.label("holder_name"),
           *[c.label(f"i_{c.name}") for c in _ITEM_COLS], *[c.label(f"d_{c.name}") for c in _DOC_COLS],
           *[c.label(f"a_{c.name}") for c in _AGENCY_COLS])
    .select_from(_S.join(_C, _C.c.id == _S.c.citizen_id).join(_I, _I.c.share_id == _S.c.id)
                 .join(_D, _D.c.id == _I.c.document_id).join(_A, _A.c.id == _D.c.agency_id))
    .where(_S.c.token_hash == bindparam("digest"))
    .order_by(_I.c.position, _I.c.id)
)
_REREAD = select(_S.c.views_used, _S.c.revoked_at, _S.c.expires_at, _S.c.max_views).where(_S.c.id == bindparam("sid"))


_LOG_VIEW = insert(_V)


def counts(channel: str, share_id: str, grant_share_id: str | None) -> bool:
    """Whether a look consumes a view: always for the JSON twin; a page or copy covered by a download grant
    for this very share (``?g=``, issued by an earlier counted look) does not."""
    return channel == "json" or grant_share_id != share_id


def _recheck(conn: Connection, share: SharedLink, now: dt.datetime, view_id: str) -> str:
    """The view was not taken although the snapshot allowed it: the share changed meanwhile (revoked, or the
    last view taken by a concurrent look). Reload what decides the answer; log what the verifier is told."""
    fresh = conn.execute(_REREAD, {"sid": share.id}).mappings().one()
    share.views_used, share.revoked_at = fresh["views_used"], fresh["revoked_at"]
    share.expires_at, share.max_views = fresh["expires_at"], fresh["max_views"]
    result = _blocking(share, now) or "views_exhausted"
    if result != "views_exhausted":
        conn.execute(update(_V).where(_V.c.id == view_id).values(result=result))
    return result


def _strip(row: Any, prefix: str, cols: tuple[Any, ...]) -> dict[str, Any]:
    return {c.name: row[f"{prefix}{c.name}"] for c in cols}


def _share_from_rows(rows: list[Any]) -> SharedLink:
    share = SharedLink(**_strip(rows[0], "s_", _SHARE_COLS), holder_name=rows[0]["holder_name"] or "")
    for row in rows:
        agency = SharedAgency(**_strip(row, "a_", _AGENCY_COLS))
        doc = SharedDocument(**_strip(row, "d_", _DOC_COLS), agency=agency)
        share.items.append(SharedItem(**_strip(row, "i_", _ITEM_COLS), share_id=share.id, document=doc))
    return share


def find_share(conn: Connection, token: str) -> SharedLink | None:
    """The share of ``token`` or None; the same single indexed query whatever the token looks like."""
    digest = lookup_hash(token)
    rows = conn.execute(_LOOK_QUERY, {"digest": digest}).mappings().all()
    if not rows or not well_formed(token) or not same_hash(rows[0]["s_token_hash"], digest):
        return None
    return _share_from_rows(list(rows))


def look_connection(engine: Engine, session: Callable[[], Session]) -> tuple[Connection, bool]:
    """Where a look runs. PostgreSQL: a pooled connection in autocommit mode (each statement of the hot path
    is atomic by itself, so no BEGIN/COMMIT round trips). SQLite: the request's own transaction (its writer
    lock, taken at BEGIN IMMEDIATE, is what serialises the view counter there). True: the caller closes it.

    The one documented exception to "one commit per request, in one place" (``wallet.db``): on PostgreSQL the
    look is kept the moment its statement ends, whatever the request answers next. Why: the QR scan is the
    hottest path, and one atomic statement in autocommit saves the BEGIN and COMMIT round trips; a view
    counted and logged is a fact (the holder sees it) even if the answer then fails to reach the verifier.
    tests/test_one_commit.py shows it: the look survives a request that rolls back."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="AUTOCOMMIT"), True
    return session().connection(), False


def look(conn: Connection, share: SharedLink | None, channel: str, *, ip: str | None, user_agent: str | None,
         count: bool = True) -> Look:
    """One look at a share, counted and logged. ``count=False``: a follow-up covered by an earlier view.

    The view is consumed by one conditional UPDATE whose WHERE clause re-checks everything that could
    have changed since the share was read (revoked, expired, views left): the row lock (PostgreSQL) or the
    write lock taken at BEGIN IMMEDIATE (SQLite) makes "one view left" give exactly one more view. On
    PostgreSQL the UPDATE and the view's INSERT are one statement (a data-modifying CTE): atomic, one round trip.
    """
    if share is None:
        return Look("unknown")
    now = utcnow()
    result = _blocking(share, now, views=count)
    view = {"vid": new_id(), "sid": share.id, "cid": share.citizen_id, "now": now, "channel": channel,
            "ip": truncate_ip(ip), "browser": browser_family(user_agent)}
    if result is None and count:
        used = _consume_and_log(conn, view)
        if used is not None:
            result = "valid"
            share.views_used = used
        else:
            result = _recheck(conn, share, now, view["vid"])
    else:
        result = result or "valid"
        _log_view(conn, view, result)
    shows = result in ("valid", "document_revoked", "document_expired")  # only then are documents shown
    return Look(result, share, share.items, share.holder_name if shows else None, view["vid"])


_CONSUME_PG = text("""
WITH used AS (
    UPDATE shares SET views_used = views_used + 1
    WHERE id = :sid AND revoked_at IS NULL AND expires_at > :now
      AND (max_views IS NULL OR views_used < max_views)
    RETURNING views_used
), logged AS (
    INSERT INTO share_views (id, share_id, citizen_id, at, channel, result, ip_prefix, browser)
    SELECT :vid, :sid, :cid, :now, :channel,
           CASE WHEN used.views_used IS NULL THEN 'views_exhausted' ELSE 'valid' END, :ip, :browser
    FROM (SELECT 1) AS one LEFT JOIN used ON true
)
SELECT (SELECT views_used FROM used) AS used
""").bindparams(bindparam("now", type_=UTCDateTime()))


def _consume_and_log(conn: Connection, view: dict[str, Any]) -> int | None:
    """Consume one view if the share still allows it and log the look; the new ``views_used`` or None."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(_CONSUME_PG, view).one()
        return None if row.used is None else int(row.used)
    used = conn.execute(
        update(_S).where(_S.c.id == view["sid"], _S.c.revoked_at.is_(None), _S.c.expires_at > view["now"],
                         or_(_S.c.max_views.is_(None), _S.c.views_used < _S.c.max_views))
        .values(views_used=_S.c.views_used + 1).returning(_S.c.views_used)).scalar_one_or_none()
    _log_view(conn, view, "valid" if used is not None else "views_exhausted")
    return used


def _log_view(conn: Connection, view: dict[str, Any], result: str) -> None:
    conn.execute(_LOG_VIEW, {"id": view["vid"], "share_id": view["sid"], "citizen_id": view["cid"], "at": view["now"],
                             "channel": view["channel"], "result": result, "ip_prefix": view["ip"],
                             "browser": view["browser"]})


def _select_list() -> str:
    parts = [f"s.{c.name} AS s_{c.name}" for c in _SHARE_COLS] + ["c.name AS holder_name"]
    parts += [f"i.{c.name} AS i_{c.name}" for c in _ITEM_COLS] + [f"d.{c.name} AS d_{c.name}" for c in _DOC_COLS]
    parts += [f"a.{c.name} AS a_{c.name}" for c in _AGENCY_COLS]
    return ", ".join(parts)


def _typed_columns() -> list[Any]:
    cols = [column(f"s_{c.name}", c.type) for c in _SHARE_COLS] + [column("holder_name", _C.c.name.type)]
    cols += [column(f"i_{c.name}", c.type) for c in _ITEM_COLS] + [column(f"d_{c.name}", c.type) for c in _DOC_COLS]
    cols += [column(f"a_{c.name}", c.type) for c in _AGENCY_COLS]
    return [*cols, column("look_result", String()), column("look_used", Integer())]


# The whole QR scan on PostgreSQL as ONE statement (autocommit: atomic by itself, one round trip). It decides
# the answer in the same order as ``_blocking`` (tests/verification run every result on both databases),
# consumes the view with the same re-checking UPDATE as ``_consume_and_log``, logs the look, and returns the
# share with its documents. Data-modifying CTEs all see one snapshot, so the rows returned are the state
# the answer was decided on; ``look_used`` is the count after this view.
_LOOK_PG_SQL = """
WITH target AS (
    SELECT id, citizen_id, revoked_at, expires_at, max_views, views_used,
           (CAST(:channel AS varchar) = 'json' OR CAST(:grant_sid AS varchar) IS NULL
            OR id <> CAST(:grant_sid AS varchar)) AS counts  -- counts() in SQL
    FROM shares WHERE token_hash = :digest
), decided AS (
    SELECT t.*, CASE
        WHEN t.revoked_at IS NOT NULL THEN 'share_revoked'
        WHEN t.expires_at <= :now THEN 'share_expired'
        WHEN EXISTS (SELECT 1 FROM share_items i JOIN documents d ON d.id = i.document_id
                     WHERE i.share_id = t.id AND d.status IN ('revoked', 'replaced')) THEN 'document_revoked'
        WHEN EXISTS (SELECT 1 FROM share_items i JOIN documents d ON d.id = i.document_id
                     WHERE i.share_id = t.id AND d.status NOT IN ('revoked', 'replaced')
                       AND d.expires_at IS NOT NULL AND d.expires_at <= :now) THEN 'document_expired'
        WHEN t.counts AND t.max_views IS NOT NULL AND t.views_used >= t.max_views THEN 'views_exhausted'
        END AS blocked
    FROM target t
), used AS (
    UPDATE shares SET views_used = shares.views_used + 1
    FROM decided
    WHERE shares.id = decided.id AND decided.blocked IS NULL AND decided.counts
      AND shares.revoked_at IS NULL AND shares.expires_at > :now
      AND (shares.max_views IS NULL OR shares.views_used < shares.max_views)
    RETURNING shares.views_used
), logged AS (
    INSERT INTO share_views (id, share_id, citizen_id, at, channel, result, ip_prefix, browser)
    SELECT :vid, decided.id, decided.citizen_id, :now, :channel,
           COALESCE(decided.blocked, CASE WHEN NOT decided.counts OR EXISTS (SELECT 1 FROM used) THEN 'valid'
                                          ELSE 'views_exhausted' END), :ip, :browser
    FROM decided
    RETURNING result
)
SELECT {select_list}, (SELECT result FROM logged) AS look_result, (SELECT views_used FROM used) AS look_used
FROM shares s JOIN citizens c ON c.id = s.citizen_id JOIN share_items i ON i.share_id = s.id
     JOIN documents d ON d.id = i.document_id JOIN agencies a ON a.id = d.agency_id
WHERE s.token_hash = :digest
ORDER BY i.position, i.id
"""
_LOOK_PG = text(_LOOK_PG_SQL.replace("{select_list}", _select_list())) \
    .bindparams(bindparam("now", type_=UTCDateTime())).columns(*_typed_columns())


def look_token(conn: Connection, token: str, channel: str, *, ip: str | None, user_agent: str | None,
               grant_share_id: str | None = None) -> Look:
    """Find, decide, count and log a look at ``token`` (the QR link's page and JSON twin).

    ``grant_share_id``: the share a valid download grant names (a page reload covered by an earlier view).
    PostgreSQL: one statement (``_LOOK_PG``). Elsewhere: ``find_share`` then ``look`` in the request's
    transaction.
    """
    if conn.dialect.name != "postgresql":
        share = find_share(conn, token)
        return look(conn, share, channel, ip=ip, user_agent=user_agent,
                    count=share is None or counts(channel, share.id, grant_share_id))
    digest = lookup_hash(token)
    now = utcnow()
    params = {"digest": digest, "now": now, "vid": new_id(), "channel": channel, "grant_sid": grant_share_id,
              "ip": truncate_ip(ip), "browser": browser_family(user_agent)}
    rows = list(conn.execute(_LOOK_PG, params).mappings().all())
    if not rows or not well_formed(token) or not same_hash(rows[0]["s_token_hash"], digest):
        return Look("unknown")
    share = _share_from_rows(rows)
    result, used = rows[0]["look_result"], rows[0]["look_used"]
    if used is not None:
        share.views_used = used
    if result == "views_exhausted" and _blocking(share, now, views=counts(channel, share.id, grant_share_id)) is None:
        result = _recheck(conn, share, now, params["vid"])
    shows = result in ("valid", "document_revoked", "document_expired")
    return Look(result, share, share.items, share.holder_name if shows else None, params["vid"])


# -- what a verifier sees -------------------------------------------------------------------


def issuer_name(doc: Document, lang: str) -> str:
    return doc.agency.display_name(lang)


def signature_details(doc: Document) -> dict[str, Any]:
    summary = signature_summary(doc)
    sigs = (doc.validation or {}).get("signatures") or []
    agency_sig = next((s for s in reversed(sigs) if s.get("kind") == "signature"), None) or {}
    ts = agency_sig.get("timestamp") or {}
    return {**summary, "intact": bool(agency_sig.get("intact", True)), "trusted": bool(agency_sig.get("trusted", True)),
            "timestamp_time": ts.get("time"), "timestamp_authority": ts.get("tsa"),
            "checked_at": doc.created_at,
            "checks": ["integrity", "trusted_chain", "signer_is_issuer", "no_changes_after_signing"]}


def document_view(item: ShareItem, lang: str, *, full: bool, holder_name: str | None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    doc = item.document
    doc_type = TYPES.get(doc.type)
    out: dict[str, Any] = {
        "id": doc.id, "type": doc.type, "type_name": doc_type.name(lang) if doc_type else doc.type,
        "issuer": issuer_name(doc, lang), "issuer_code": doc.agency.code, "issued_at": doc.issued_at,
        "expires_at": doc.expires_at, "status": effective_status(doc, now), "revoked_at": doc.revoked_at,
        "revocation_reason": doc.revocation_reason,
    }
    if full:
        out.update({"holder_name": holder_name, "title": doc.title, "sha256": doc.sha256,
                    "signature": signature_details(doc), "copy_kind": item.copy_kind,
                    "copy_sha256": item.copy_sha256})
    return out


def share_view(share: Share, now: dt.datetime | None = None) -> dict[str, Any]:
    views_left = None if share.max_views is None else max(0, share.max_views - share.views_used)
    return {"expires_at": share.expires_at, "label": share.label, "views_left": views_left,
            "max_views": share.max_views, "allow_download": share.allow_download,
            "status": share_status(share, now)}


# -- uploaded files -------------------------------------------------------------------------

_EOF = re.compile(rb"%%EOF")
MAX_REVISION_CANDIDATES = 64


def revision_hashes(data: bytes) -> dict[str, int]:
    """SHA-256 of every prefix ending at an ``%%EOF`` (with or without its end of line) and of the whole file.

    A sealed copy starts with the original byte for byte (it is one incremental update): this finds the
    original of a sealed copy, or of a copy that was changed after sealing, in one pass over the file.
    """
    ends: list[int] = []
    for m in _EOF.finditer(data):
        end = m.end()
        ends.append(end)
        if data[end:end + 2] == b"\r\n":
            ends.append(end + 2)
        elif data[end:end + 1] in (b"\n", b"\r"):
            ends.append(end + 1)
        if len(ends) >= MAX_REVISION_CANDIDATES:
            break
    ends.append(len(data))
    out: dict[str, int] = {}
    h = hashlib.sha256()
    pos = 0
    for end in sorted(set(ends)):
        h.update(data[pos:end])
        pos = end
        out[h.copy().hexdigest()] = end
    return out


def registry_report(sess: Session, data: bytes, lang: str, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    hashes = revision_hashes(data)
    whole = hashlib.sha256(data).hexdigest()
    item = sess.execute(select(ShareItem).where(ShareItem.copy_sha256.in_(list(hashes)))
                        .order_by(ShareItem.id).limit(1)).scalar_one_or_none()
    doc: Document | None
    match: str
    if item is not None:
        doc = item.document
        match = "sealed_copy" if item.copy_sha256 == whole else "sealed_copy_with_later_changes"
    else:
        doc = sess.execute(select(Document).where(Document.sha256.in_(list(hashes)))
                           .order_by(Document.created_at).limit(1)).scalar_one_or_none()
        match = "" if doc is None else ("original" if doc.sha256 == whole else "original_with_later_changes")
    if doc is None:
        return {"known": False, "sha256": whole}
    status = effective_status(doc, now)
    doc_type = TYPES.get(doc.type)
    out: dict[str, Any] = {
        "known": True, "match": match, "document_id": doc.id, "sha256": doc.sha256, "file_sha256": whole,
        "status": "valid" if status == "expiring" else status, "expiring_soon": status == "expiring",
        "type": doc.type, "type_name": doc_type.name(lang) if doc_type else doc.type,
        "issuer": issuer_name(doc, lang), "issuer_code": doc.agency.code,
        "issued_at": doc.issued_at, "expires_at": doc.expires_at, "revoked_at": doc.revoked_at,
        "revocation_reason": doc.revocation_reason,
    }
    if item is not None:
        share = item.share
        out["share"] = {"status": share_status(share, now), "expires_at": share.expires_at,
                        "copy_kind": item.copy_kind}
    return out


def _roles(sess: Session, rt: Runtime) -> tuple[dict[str, str], str | None]:
    rows = sess.execute(select(AgencyCertificate).where(AgencyCertificate.removed_at.is_(None))).scalars()
    agencies = {c.sha256: c.agency.code if hasattr(c, "agency") else "" for c in rows}
    seal_fp = None
    try:
        seal_fp = rt.sealer._custody.certificate.sha256.hex()
    except Exception:  # noqa: BLE001 - a verifier without a seal key still reports signatures
        seal_fp = None
    return agencies, seal_fp


def signature_entries(report: ValidationReport, agency_fps: dict[str, str], seal_fp: str | None) -> list[dict]:
    entries: list[dict[str, Any]] = []
    for sig in report.signatures:
        entry = sig.to_dict()
        entry.pop("chain_sha256", None)
        role, agency = "other", None
        if seal_fp and sig.signer is not None and sig.signer.sha256 == seal_fp:
            role = "platform_seal"
        else:
            hit = next((fp for fp in sig.chain_sha256 if fp in agency_fps), None)
            if hit is not None:
                role, agency = "agency", agency_fps[hit] or None
        entry["role"] = role
        entry["agency"] = agency
        entry["modified_after_signing"] = not sig.covers_file_end
        entries.append(entry)
    for sig, entry in zip(report.signatures, entries):
        later, refused = judge_later(sig, report, entries)
        entry["later_changes"] = later
        entry["later_change_reasons"] = sorted({r for item in refused for r in item["reasons"]})
    return entries


def _later_changes(sig: Any, report: ValidationReport, entries: list[dict[str, Any]]) -> str:
    """How the file changed after this signature (see :func:`judge_later`)."""
    return judge_later(sig, report, entries)[0]


def verdict(signatures: list[dict[str, Any]], registry: dict[str, Any], error: str | None) -> str:
    """One word: valid | revoked | expired | replaced | modified | invalid_signature | unsigned | unknown_document
    | unreadable."""
    if error:
        return "unreadable"
    if not signatures:
        return "unsigned"
    if not all(s["intact"] and s["valid"] for s in signatures):
        return "invalid_signature"
    exact = registry.get("match") in ("original", "sealed_copy")
    if not exact and any(s["later_changes"] == "other" for s in judged_signatures(signatures, registry)):
        return "modified"
    if not registry.get("known"):
        return "unknown_document"
    if registry["status"] != "valid":
        return str(registry["status"])
    if not any(s["role"] == "agency" and s["trusted"] for s in signatures):
        return "invalid_signature"
    return "valid"


def verify_upload(rt: Runtime, sess: Session, data: bytes, lang: str) -> dict[str, Any]:
    trust = rt.trust(live_certificates(sess).ca_pems)
    agency_fps, seal_fp = _roles(sess, rt)
    # nothing is written: end the read before the (long) validation, so an anonymous upload never holds a
    # transaction open while pyHanko works (on SQLite, BEGIN IMMEDIATE: the database's one writer lock)
    sess.rollback()
    report = validate_pdf(rt, data, trust, max_size=rt.settings.max_upload_bytes)  # in the validator pool
    signatures = signature_entries(report, agency_fps, seal_fp)
    registry = registry_report(sess, data, lang)
    return {"verdict": verdict(signatures, registry, report.error), "sha256": report.sha256, "size": report.size,
            "revisions": report.revisions, "error": report.error, "error_detail": report.error_detail,
            "certified_no_changes": report.certified_no_changes, "trailing_bytes": report.trailing_bytes,
            "signatures": signatures, "registry": registry,
            "added_after_signing": added_after_signing(report, signatures, registry)}
