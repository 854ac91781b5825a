"""What the holder sees of a share: its resource (the API's JSON, also the share screen's context), localised.

The shared pieces (document type names, QR codes) are ``wallet.present``'s; share rules (``share_status``)
stay in ``wallet.shares.service``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from wallet.db import utcnow
from wallet.documents.service import effective_status
from wallet.present import type_name
from wallet.shares.models import Share, ShareItem, ShareView
from wallet.shares.states import share_status


def share_resource(share: Share, lang: str = "fr", now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    views_left = None if share.max_views is None else max(0, share.max_views - share.views_used)
    return {
        "id": share.id, "label": share.label, "status": share_status(share, now), "created_at": share.created_at,
        "expires_at": share.expires_at, "revoked_at": share.revoked_at, "max_views": share.max_views,
        "views_used": share.views, "views_left": views_left, "allow_download": share.allow_download,
        "documents": [item_resource(item, lang) for item in share.items],
        "sheet": any(item.copy_kind == "sheet" for item in share.items),
        "presented_by": presented_by(share), "holder": holder(share),
    }


def presented_by(share: Share) -> dict[str, Any] | None:
    """The representative (guardian or proxy) who made the share, or None when its holder did."""
    return {"name": share.presented_by_name or "", "role": share.presented_as} if share.presented_as else None


def holder(share: Share) -> dict[str, Any] | None:
    return ({"national_id": share.holder_national_id, "name": share.holder_name or ""}
            if share.holder_national_id else None)


def item_resource(item: ShareItem, lang: str) -> dict[str, Any]:
    doc = item.document
    return {"id": doc.id, "type": doc.type, "type_name": type_name(doc.type, lang),
            "status": effective_status(doc), "copy_kind": item.copy_kind, "copy_sha256": item.copy_sha256}


def view_resource(view: ShareView, share: Share) -> dict[str, Any]:
    return {"id": view.id, "at": view.at, "share_id": share.id, "share_label": share.label,
            "channel": view.channel, "result": view.result, "ip": view.ip_prefix, "browser": view.browser,
            "presented_by": presented_by(share)}
