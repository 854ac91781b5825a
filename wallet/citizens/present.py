"""What a citizen sees of themself and of a document, localised (shared by the JSON API and the HTML pages).

The shared pieces (names, languages, QR codes) are ``wallet.present``'s; this module only shapes the citizen
domain's rows into resources (the API's JSON) and template contexts (the pages).
"""
from __future__ import annotations

from typing import Any

from wallet.catalogue import key_facts
from wallet.citizens.holdings import Holding
from wallet.citizens.models import Citizen
from wallet.documents.models import Document
from wallet.documents.service import effective_status, signature_summary, to_resource
from wallet.present import day, issuer_name, qr_matrix, qr_svg, svg_data_uri, type_name


def citizen_resource(citizen: Citizen) -> dict[str, Any]:
    return {"id": citizen.id, "national_id": citizen.national_id, "name": citizen.name,
            "enrolled_at": citizen.enrolled_at}


def document_resource(doc: Document, lang: str) -> dict[str, Any]:
    out = to_resource(doc)
    out.update(type_name=type_name(doc.type, lang), issuer=issuer_name(doc, lang), pages=doc.page_count,
               file_url=f"/api/v1/me/documents/{doc.id}/file")
    return out


def holding_resource(holding: Holding, lang: str) -> dict[str, Any]:
    """A document as the citizen reaches it: its resource, whose it is and on what basis (own | guardian | proxy)."""
    out = document_resource(holding.document, lang)
    out.update(holder={"national_id": holding.holder_national_id, "name": holding.holder_name},
               access=holding.access)
    return out


#: statuses a document cannot be shared in (``wallet.shares.service`` refuses them: 409 document_not_shareable)
NOT_SHAREABLE = frozenset({"revoked", "expired", "replaced"})


def document_view(doc: Document, lang: str, *, facts: bool = False) -> dict[str, Any]:
    """Template context for one document (``facts``: its key facts too, read from the signed attributes)."""
    status = effective_status(doc)
    signature = signature_summary(doc)
    signed_at = signature["signed_at"]
    return {"id": doc.id, "type": doc.type, "type_name": type_name(doc.type, lang), "issuer": issuer_name(doc, lang),
            "title": doc.title, "reference": doc.reference, "issued_at": doc.issued_at,
            "expires_at": doc.expires_at, "status": status, "signature": signature,
            "sha256": doc.sha256, "size": doc.size, "revocation_reason": doc.revocation_reason,
            "shareable": status not in NOT_SHAREABLE,
            # "issued on" is the administration's date of the act; "signed on" when its signature was made:
            # worth explaining only when they fall on different days
            "signed_another_day": signed_at is not None and day(signed_at, lang) != day(doc.issued_at, lang),
            "key_facts": key_facts(doc.type, doc.attributes, lang) if facts else []}


def otpauth_qr_svg(uri: str) -> str:
    """The enrolment's ``otpauth://`` URI as an SVG QR code (the API's ``qr_svg``)."""
    return qr_svg(qr_matrix(uri))


def otpauth_qr_data_uri(uri: str) -> str:
    """The same QR code as an ``<img src>`` for the enrolment page."""
    return svg_data_uri(otpauth_qr_svg(uri))
