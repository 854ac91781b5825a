"""Agency API: document types (public; an authenticated agency also learns which it may issue)."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import request

from wallet import db, rules
from wallet.agencies.service import authenticate
from wallet.documents.schemas import DocumentTypesOut
from wallet.documents.types import TYPES

bp = APIBlueprint("agency_api", __name__, url_prefix="/api/v1", tag="Agency")


@bp.get("/document-types")
@rules.public()
@bp.output(DocumentTypesOut)
@bp.doc(summary="Document types, their names in ar/fr/en, issuers and default validity")
def document_types() -> dict[str, Any]:
    header = request.headers.get("Authorization", "")
    agency = authenticate(db.session(), header[7:].strip()) if header.lower().startswith("bearer ") else None
    return {"document_types": [
        {"code": t.code, "names": t.names, "agencies": list(t.agencies), "validity_days": t.validity_days,
         "allowed": bool(agency and t.code in agency.allowed_types)}
        for t in TYPES.values()]}
