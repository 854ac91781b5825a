"""The share-state rules, written once: one ordered decision table for a share and the documents it holds.

Two answers come out of the same table:

- :func:`share_status`, the share's own state in the holder's list (``active | revoked | expired | exhausted``):
  the table's share-level rows only (the list reads no documents);
- :func:`blocking`, why a look at the QR link shows less than everything (``share_revoked`` ...), or None: the
  look is ``valid``. The verification read model (``wallet.verification.looks``) uses it on SQLite and runs
  :func:`decision_case_sql`, the same rows as one SQL ``CASE``, in its single PostgreSQL statement;
  :func:`share_open_sql` is the re-check the view-consuming UPDATE makes. tests/verification/test_decision_sql.py
  checks the SQL against the Python rows for every state and every precedence combination on both databases.

Order of precedence (first row that holds wins; ``unknown``, no share at all, comes before the table):

1. ``share_revoked`` — the holder withdrew the link (share status ``revoked``).
2. ``share_expired`` — the link's lifetime is over (``expired``).
3. ``document_revoked`` — a shared document was revoked or replaced by its issuer. This wins over the view
   limit: a clerk holding an old paper copy must learn that it is no longer valid, not that "views are used
   up" (which invites asking for a new link).
4. ``document_expired`` — a shared document is past its validity date.
5. ``views_exhausted`` — the view limit is reached (``exhausted``); only for a look that would count a view
   (a follow-up covered by an earlier counted view is not refused for it).
6. nothing holds: ``valid`` (share status ``active``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from wallet.db import utcnow


class ShareStatus(StrEnum):
    """A share's own state (the holder's list, the look's ``share.status``). The values are API contracts."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


class LookResult(StrEnum):
    """The answer of a look at a QR link (``result`` in the API, ``share_views.result``). Contracts."""

    VALID = "valid"
    SHARE_EXPIRED = "share_expired"
    SHARE_REVOKED = "share_revoked"
    VIEWS_EXHAUSTED = "views_exhausted"
    DOCUMENT_REVOKED = "document_revoked"
    DOCUMENT_EXPIRED = "document_expired"
    UNKNOWN = "unknown"


# a document's effective status (``documents.service.effective_status``) that withdraws it from every share
WITHDRAWN = ("revoked", "replaced")


class ShareLike(Protocol):
    """What the rules read of a share: the ORM ``Share`` and the look's ``SharedLink`` both have it."""

    revoked_at: dt.datetime | None
    expires_at: dt.datetime
    max_views: int | None
    views_used: int


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table: when it holds (in Python and in SQL) and what it answers.

    ``holds(share, document_statuses, now)``; ``document_statuses`` is None where documents are not read (the
    holder's list), and the document rows are then skipped. ``sql`` is a boolean SQL expression over the share
    row aliased ``{s}`` and the bind parameter ``:now``; document rows read ``share_items``/``documents``.
    """

    result: LookResult
    status: ShareStatus | None  # the share's own status when this row holds; None: a document-level row
    holds: Callable[[ShareLike, list[str] | None, dt.datetime], bool]
    sql: str
    counted_only: bool = False  # applies only to a look that would consume a view

    @property
    def documents(self) -> bool:
        return self.status is None


_WITHDRAWN_SQL = ", ".join(f"'{s}'" for s in WITHDRAWN)
_ITEMS_SQL = "EXISTS (SELECT 1 FROM share_items i JOIN documents d ON d.id = i.document_id WHERE i.share_id = {s}.id"

DECISION: tuple[Rule, ...] = (
    Rule(LookResult.SHARE_REVOKED, ShareStatus.REVOKED,
         lambda share, docs, now: share.revoked_at is not None,
         "{s}.revoked_at IS NOT NULL"),
    Rule(LookResult.SHARE_EXPIRED, ShareStatus.EXPIRED,
         lambda share, docs, now: share.expires_at <= now,
         "{s}.expires_at <= :now"),
    Rule(LookResult.DOCUMENT_REVOKED, None,
         lambda share, docs, now: any(s in WITHDRAWN for s in docs or ()),
         _ITEMS_SQL + f" AND d.status IN ({_WITHDRAWN_SQL}))"),
    Rule(LookResult.DOCUMENT_EXPIRED, None,  # effective_status "expired": not withdrawn, past its date
         lambda share, docs, now: "expired" in (docs or ()),
         _ITEMS_SQL + f" AND d.status NOT IN ({_WITHDRAWN_SQL})"
                      " AND d.expires_at IS NOT NULL AND d.expires_at <= :now)"),
    Rule(LookResult.VIEWS_EXHAUSTED, ShareStatus.EXHAUSTED,
         lambda share, docs, now: share.max_views is not None and share.views_used >= share.max_views,
         "{s}.max_views IS NOT NULL AND {s}.views_used >= {s}.max_views", counted_only=True),
)
_SHARE_ROWS = tuple(rule for rule in DECISION if not rule.documents)
# the answers that show the shared documents (type, issuer, status; in full only when valid)
SHOWS_DOCUMENTS = frozenset({LookResult.VALID, *(rule.result for rule in DECISION if rule.documents)})


def share_status(share: ShareLike, now: dt.datetime | None = None) -> ShareStatus:
    """The share itself (document state is separate): the first share-level row that holds, else active."""
    now = now or utcnow()
    for rule in _SHARE_ROWS:
        if rule.holds(share, None, now):
            assert rule.status is not None  # share-level rows have one
            return rule.status
    return ShareStatus.ACTIVE


def blocking(share: ShareLike, document_statuses: Iterable[str], now: dt.datetime, *,
             counted: bool = True) -> LookResult | None:
    """Why a look shows less than everything (the first row that holds), or None: the look is valid.

    ``document_statuses``: each shared document's effective status; ``counted``: the look would consume a view.
    """
    docs = list(document_statuses)
    for rule in DECISION:
        if rule.counted_only and not counted:
            continue
        if rule.holds(share, docs, now):
            return rule.result
    return None


def decision_case_sql(s: str, counted: str) -> str:
    """:data:`DECISION` as one SQL ``CASE`` (NULL when the look is valid), over the share row aliased ``s``;
    ``counted``: an SQL boolean, whether the look would consume a view."""
    whens = []
    for rule in DECISION:
        cond = rule.sql.format(s=s)
        if rule.counted_only:
            cond = f"{counted} AND {cond}"
        whens.append(f"WHEN {cond} THEN '{rule.result.value}'")
    return "CASE " + " ".join(whens) + " END"


def share_open_sql(s: str) -> str:
    """None of the share-level rows holds (the share may give a view): the WHERE of the view-consuming UPDATE,
    which re-checks in the same statement what may have changed since the share was read."""
    return " AND ".join(f"NOT ({rule.sql.format(s=s)})" for rule in _SHARE_ROWS)
