"""What a citizen sees of a document, localised (shared by the JSON API and the HTML pages)."""
from __future__ import annotations

import base64
from typing import Any

import qrcode
import qrcode.image.svg

from wallet.documents.models import Document
from wallet.documents.service import effective_status, signature_summary, to_resource
from wallet.documents.types import TYPES


def type_name(doc: Document, lang: str) -> str:
    t = TYPES.get(doc.type)
    return t.name(lang) if t else doc.type


def issuer_name(doc: Document, lang: str) -> str:
    return doc.agency.display_name(lang)


def document_resource(doc: Document, lang: str) -> dict[str, Any]:
    out = to_resource(doc)
    out.update(type_name=type_name(doc, lang), issuer=issuer_name(doc, lang), pages=doc.page_count,
               file_url=f"/api/v1/me/documents/{doc.id}/file")
    return out


def document_view(doc: Document, lang: str) -> dict[str, Any]:
    """Template context for one document."""
    return {"id": doc.id, "type_name": type_name(doc, lang), "issuer": issuer_name(doc, lang),
            "title": doc.title, "reference": doc.reference, "issued_at": doc.issued_at,
            "expires_at": doc.expires_at, "status": effective_status(doc), "signature": signature_summary(doc),
            "sha256": doc.sha256, "size": doc.size, "revocation_reason": doc.revocation_reason}


def qr_svg(text: str) -> str:
    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return img.to_string(encoding="unicode")  # type: ignore[no-any-return]


def qr_data_uri(text: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(text).encode()).decode()
