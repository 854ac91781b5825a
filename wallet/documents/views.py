"""Agency API: the document types, push, read and revoke documents. Thin: validate input, call one service, serialise."""
from __future__ import annotations

import json
from typing import Any

from apiflask import APIBlueprint, APIFlask
from flask import g, request
from flask.blueprints import BlueprintSetupState
from marshmallow import ValidationError

from wallet import db, rules
from wallet.agencies.auth import current_agency
from wallet.agencies.service import authenticate
from wallet.catalogue import TYPES
from wallet.documents import service
from wallet.documents.schemas import (
    DocumentMetadata,
    DocumentOut,
    DocumentTypesOut,
    PushForm,
    RevokeIn,
    metadata_json_schema,
)
from wallet.documents.signed_metadata import metadata_from_file
from wallet.errors import BadMetadata, TooLarge
from wallet.extensions import runtime
from wallet.present import problem_responses

bp = APIBlueprint("documents_api", __name__, url_prefix="/api/v1", tag="Agency")

AGENCY_LIMIT = "1200/minute"
PROBLEMS = problem_responses({
    400: "Bad metadata", 401: "Bad or missing API key", 403: "Type not allowed for this agency", 404: "Not found",
    409: "Reference already used for another file", 413: "File too large", 415: "Not a PDF",
    422: "Signature problem: unsigned, signature_invalid, untrusted_signer, signer_not_agency, "
         "modified_after_signing, malformed_pdf, too_complex (beyond the structural limits); then metadata_mismatch (the metadata differs from the "
         "signed document.json, member `field` names it)"})
_metadata_schema = DocumentMetadata()
METADATA_REF = {"$ref": "#/components/schemas/DocumentMetadata"}


def document_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The push's ``metadata`` part in the OpenAPI document: JSON text of a ``DocumentMetadata`` object.

    A multipart part is a string to the request schema (it is parsed and validated in the view, after the key
    and before the file), so the spec says what the text holds: JSON Schema's ``contentMediaType`` and
    ``contentSchema`` on the property (OpenAPI 3.1) and the part's ``encoding`` (3.0 generators read that)."""
    doc["components"]["schemas"]["DocumentMetadata"] = metadata_json_schema(doc["openapi"])
    doc["components"]["schemas"]["PushForm"]["properties"]["metadata"].update(
        contentMediaType="application/json", contentSchema=METADATA_REF)
    form = doc["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form["encoding"] = {"metadata": {"contentType": "application/json"}, "file": {"contentType": "application/pdf"}}
    return doc


@bp.record_once
def _document_spec(state: BlueprintSetupState) -> None:
    """Register ``document_spec`` as the app's spec processor, after any other one (apiflask keeps one)."""
    app = state.app
    if not isinstance(app, APIFlask) or app.config["SPEC_PROCESSOR_PASS_OBJECT"]:
        raise TypeError("the agency API's OpenAPI processor needs an APIFlask app passing the spec as a dict")
    before = app.spec_callback

    def processor(doc: Any) -> Any:
        doc = before(doc) if before is not None else doc
        if not isinstance(doc, dict):
            raise TypeError(f"the OpenAPI spec is {type(doc).__name__}, not a JSON object")
        return document_spec(doc)

    app.spec_processor(processor)


@bp.get("/document-types")
@rules.public()
@bp.output(DocumentTypesOut)
@bp.doc(summary="Document types, their names in ar/fr/en, issuers and default validity")
def document_types() -> dict[str, Any]:
    """Public; an agency that presents its key also learns which types it may issue (``allowed``)."""
    header = request.headers.get("Authorization", "")
    agency = authenticate(db.session(), header[7:].strip()) if header.lower().startswith("bearer ") else None
    return {"document_types": [
        {"code": t.code, "names": t.names, "agencies": list(t.agencies), "validity_days": t.validity_days,
         "allowed": bool(agency and t.code in agency.allowed_types)}
        for t in TYPES.values()]}


@bp.before_request
def _size_limit() -> None:
    # 413 before the body is read: the declared length is checked first (werkzeug also caps streamed bodies)
    if request.method == "POST" and request.endpoint == "documents_api.push_document":
        limit = runtime().settings.max_upload_bytes + 64 * 1024
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(f"the upload is larger than {runtime().settings.max_upload_bytes} bytes")


@bp.post("/documents")
@rules.agency(scope="documents:push", limit=AGENCY_LIMIT)
@bp.input(PushForm, location="form_and_files", arg_name="form")
@bp.output(DocumentOut, status_code=201, description="Created")
@bp.doc(summary="Push an agency-signed PDF for a citizen", responses=PROBLEMS.only(
    400, 401, 403, 409, 413, 415, 422, besides={200: {
        "description": "Identical replay (same file, same metadata): the document already pushed, unchanged",
        "content": {"application/json": {"schema": DocumentOut}}}}))
def push_document(form: dict[str, Any]) -> Any:
    raw_meta = form.get("metadata")
    meta = _load_metadata(raw_meta) if raw_meta is not None else None
    if meta is not None:
        service.check_type_allowed(current_agency(), meta["type"])  # 403 before any look at the file
    upload = form["file"]
    limit = runtime().settings.max_upload_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the file is larger than {limit} bytes")
    if meta is None:  # left out: the file's own signed document.json stands in (checked again after validation)
        meta = metadata_from_file(data)
        service.check_type_allowed(current_agency(), meta["type"])
    result = service.push(runtime(), db.session(), current_agency(), data, meta, g.get("request_id"))
    resource = service.to_resource(result.document)
    return resource, (201 if result.created else 200)


def _load_metadata(text: str) -> dict[str, Any]:
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise BadMetadata("metadata must be a JSON object")
        return _metadata_schema.load(raw)  # type: ignore[no-any-return]
    except (ValueError, TypeError) as exc:
        raise BadMetadata("metadata is not valid JSON") from exc
    except ValidationError as exc:
        raise BadMetadata("invalid metadata", extra={"errors": exc.messages}) from exc


@bp.get("/documents/<doc_id>")
@rules.agency(scope="documents:read", limit=AGENCY_LIMIT)
@bp.output(DocumentOut)
@bp.doc(summary="One of the agency's own documents (others are 404)",
        responses=PROBLEMS.only(404))
def get_document(doc_id: str) -> Any:
    return service.to_resource(service.get_for_agency(db.session(), current_agency(), doc_id))


@bp.post("/documents/<doc_id>/revoke")
@rules.agency(scope="documents:revoke", limit=AGENCY_LIMIT)
@bp.input(RevokeIn, arg_name="body")
@bp.output(DocumentOut)
@bp.doc(summary="Revoke a document with a reason; every share of it turns revoked at once",
        responses=PROBLEMS.only(404))
def revoke_document(doc_id: str, body: dict[str, Any]) -> Any:
    doc = service.revoke(db.session(), current_agency(), doc_id, body["reason"], g.get("request_id"))
    resource = service.to_resource(doc)
    return resource
