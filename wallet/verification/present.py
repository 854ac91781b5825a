"""What a verifier is shown: the JSON of a look (also what the link's page renders) and its parts.

Verification's own: the signature details, a shared document and the share as a look shows them, the look's
payload. The language, names and documented problem answers are the shared ones (``wallet.present``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from wallet.catalogue import key_facts
from wallet.db import utcnow
from wallet.documents.service import effective_status, signature_summary
from wallet.present import issuer_name, lang, type_name
from wallet.shares.states import share_status
from wallet.verification.looks import Look, SharedDocument, SharedItem, SharedLink


def signature_details(doc: SharedDocument) -> dict[str, Any]:
    summary = signature_summary(doc)
    sigs = (doc.validation or {}).get("signatures") or []
    agency_sig = next((s for s in reversed(sigs) if s.get("kind") == "signature"), None) or {}
    ts = agency_sig.get("timestamp") or {}
    return {**summary, "intact": bool(agency_sig.get("intact", True)), "trusted": bool(agency_sig.get("trusted", True)),
            "timestamp_time": ts.get("time"), "timestamp_authority": ts.get("tsa"),
            "checked_at": doc.created_at,
            "checks": ["integrity", "trusted_chain", "signer_is_issuer", "no_changes_after_signing"]}


def document_view(item: SharedItem, lang: str, *, full: bool, holder_name: str | None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    doc = item.document
    out: dict[str, Any] = {
        "id": doc.id, "type": doc.type, "type_name": type_name(doc.type, lang),
        "issuer": issuer_name(doc, lang), "issuer_code": doc.agency.code, "issued_at": doc.issued_at,
        "expires_at": doc.expires_at, "status": effective_status(doc, now),
        "revoked_at": doc.revoked_at, "revocation_reason": doc.revocation_reason,
    }
    if full:
        out.update({"holder_name": holder_name, "title": doc.title, "sha256": doc.sha256,
                    "signature": signature_details(doc), "copy_kind": item.copy_kind,
                    "copy_sha256": item.copy_sha256})
    return out


def share_view(share: SharedLink, now: dt.datetime | None = None) -> dict[str, Any]:
    views_left = None if share.max_views is None else max(0, share.max_views - share.views_used)
    return {"expires_at": share.expires_at, "label": share.label, "views_left": views_left,
            "max_views": share.max_views, "allow_download": share.allow_download,
            "status": share_status(share, now), "presented_by": presented_by(share)}


def presented_by(share: SharedLink) -> dict[str, Any] | None:
    """Who presented the documents when it was not their holder: a legal guardian or a proxy."""
    if not share.presented_as:
        return None
    return {"name": share.presented_by_name or "", "role": share.presented_as}


#: where a look by numeric code serves its copies and page images: it knows no token, its grant names the share
CODE_FILES = "/verify/code"


def look_payload(look: Look, token: str, base: str, grant: str = "", files: str | None = None) -> dict[str, Any]:
    """The look's JSON (``LookOut``), which the link's page renders too; download links carry the grant.
    ``files``: the path the copies are served under (``/v/{token}``; ``CODE_FILES`` for a look by code)."""
    files = f"/v/{token}" if files is None else files
    out: dict[str, Any] = {"result": look.result, "documents": [], "share": None}
    if look.share is None:
        return out
    now = utcnow()
    out["share"] = share_view(look.share, now)
    if not look.shows_documents:
        return out
    full = look.result == "valid"
    language = lang()
    for pos, item in enumerate(look.items):
        doc = document_view(item, language, full=full, holder_name=look.holder_name, now=now)
        if full and look.share.allow_download:
            doc["download_url"] = f"{base}{files}/copy.pdf?item={pos}&g={grant}"
            if item.copy_kind == "sheet":
                doc["original_url"] = f"{base}{files}/original.pdf?item={pos}&g={grant}"
        out["documents"].append(doc)
    return out


def page_details(look: Look, payload: dict[str, Any], images: Callable[[SharedDocument], Sequence[Any]], token: str,
                 grant: str, language: str, files: str | None = None) -> None:
    """What the link's page shows beyond the JSON of a valid look (in place): the holder's national ID, each
    document's key facts from its signed attributes and its pages as same-origin images under the look's grant
    (served under ``files``, as in ``look_payload``)."""
    files = f"/v/{token}" if files is None else files
    for pos, (item, doc) in enumerate(zip(look.items, payload["documents"])):
        doc["holder_national_id"] = look.holder_national_id
        doc["key_facts"] = key_facts(item.document.type, item.document.attributes, language)
        doc["pages"] = [{"url": f"{files}/pages/{pos}/{p.number}.png?g={grant}&lang={language}",
                         "width": p.width, "height": p.height, "number": p.number} for p in images(item.document)]
