"""Request and response schemas of the agency API: they validate requests and generate the OpenAPI document."""
from __future__ import annotations

import json
from typing import Any

from apiflask import Schema, fields, validators
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import ValidationError, validates_schema

from wallet.catalogue import TYPES

HOLDER_ID = r"^[A-Za-z0-9]{4,32}$"
REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,127}$"
# free text stored in the database: no NUL byte (PostgreSQL cannot store one: it would be a 500, not a 400)
NO_NUL = validators.Regexp(r"\A[^\x00]*\Z", error="NUL bytes are not allowed")
# identifiers and codes typed by people: no control characters at all
PRINTABLE = validators.Regexp(r"\A[^\x00-\x1f\x7f]*\Z", error="control characters are not allowed")


EXAMPLE_METADATA: dict[str, Any] = {
    "holder_id": "AB123456", "type": "criminal_record", "reference": "MJ-20261130-0001",
    "issued_at": "2026-11-30T10:00:00+00:00", "expires_at": "2027-02-28T10:00:00+00:00",
    "title": "Extrait du casier judiciaire", "attributes": {"holder_name": "Amina El Idrissi", "convictions": "none"},
    "replaces": None}


class DocumentMetadata(Schema):
    """What the agency says about the file: the ``metadata`` part of a push, and the signed ``document.json``
    inside the PDF (docs/signed-metadata.md). Both must agree, field by field."""

    holder_id = fields.String(required=True, validate=validators.Regexp(HOLDER_ID),
                              metadata={"description": "National ID number of the holder", "example": "AB123456"})
    type = fields.String(required=True, validate=validators.OneOf(sorted(TYPES)),
                         metadata={"description": "Document type code (GET /api/v1/document-types)",
                                   "example": "criminal_record"})
    reference = fields.String(required=True, validate=validators.Regexp(REFERENCE),
                              metadata={"description": "The agency's own reference, unique per agency",
                                        "example": "MJ-20261130-0001"})
    issued_at = fields.AwareDateTime(required=True, format="iso",
                                     metadata={"description": "When the agency issued it (ISO 8601 with an offset)",
                                               "example": "2026-11-30T10:00:00+00:00"})
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True, format="iso",
                                      metadata={"description": "Optional: end of validity, after issued_at "
                                                               "(ISO 8601 with an offset); null or absent: none",
                                                "example": "2027-02-28T10:00:00+00:00"})
    title = fields.String(load_default=None, allow_none=True, validate=[validators.Length(max=300), NO_NUL],
                          metadata={"description": "Optional: the title printed on the document",
                                    "example": "Extrait du casier judiciaire"})
    attributes = fields.Dict(keys=fields.String(validate=validators.Length(max=64)),
                             load_default=dict, metadata={"description": "Optional: free key/value data (max 4 KB), "
                                                                         "e.g. the key facts shown to verifiers",
                                                          "example": {"holder_name": "Amina El Idrissi",
                                                                      "convictions": "none"}})
    replaces = fields.String(load_default=None, allow_none=True, validate=validators.Regexp(r"^[0-9a-f]{32}$"),
                             metadata={"description": "Optional: id of an earlier document of this agency it "
                                                      "replaces (that one turns `replaced`)",
                                       "example": "3f9c2a7e5b1d4c8e9a0b6d2f4e8c1a7b"})

    @validates_schema
    def _coherent(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("expires_at") and data["expires_at"] <= data["issued_at"]:
            raise ValidationError("expires_at must be after issued_at", "expires_at")
        if len(json.dumps(data.get("attributes") or {}, default=str)) > 4096:
            raise ValidationError("attributes larger than 4 KB", "attributes")


class PushForm(Schema):
    file = fields.File(required=True, metadata={"description": "The agency-signed PDF (PAdES)"})
    metadata = fields.String(required=False, validate=validators.Length(max=8192),
                             metadata={"description": "A JSON object (DocumentMetadata) as text. It may be left out "
                                                      "when the file carries the signed document.json "
                                                      "(docs/signed-metadata.md)"})


def metadata_json_schema(openapi_version: str) -> dict[str, Any]:
    """``DocumentMetadata`` as an OpenAPI schema object, converted the way apiflask converts its schemas.

    The push takes it as the text of a multipart part, so no view's input names the schema itself: the
    document's spec processor (``wallet.documents.views``) adds it to the components."""
    spec = APISpec("DocumentMetadata", "1", openapi_version, plugins=[MarshmallowPlugin()])
    spec.components.schema("DocumentMetadata", schema=DocumentMetadata)
    schema: dict[str, Any] = spec.to_dict()["components"]["schemas"]["DocumentMetadata"]
    schema["description"] = ("The agency's metadata of a pushed document: the `metadata` part of POST "
                             "/api/v1/documents (JSON text) and the signed document.json inside the PDF")
    schema["examples"] = [{k: v for k, v in EXAMPLE_METADATA.items() if v is not None},
                          {k: EXAMPLE_METADATA[k] for k in ("holder_id", "type", "reference", "issued_at")}]
    return schema


class RevokeIn(Schema):
    reason = fields.String(required=True, validate=[validators.Length(min=1, max=500), NO_NUL])


class SignatureOut(Schema):
    signer = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    timestamped = fields.Boolean()
    indication = fields.String()


class DocumentOut(Schema):
    id = fields.String()
    agency = fields.String()
    holder_id = fields.String()
    type = fields.String()
    reference = fields.String()
    title = fields.String(allow_none=True)
    attributes = fields.Dict()
    issued_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    status = fields.String(metadata={"description": "valid | expiring | expired | revoked | replaced"})
    sha256 = fields.String()
    size = fields.Integer()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    replaces = fields.String(allow_none=True)
    replaced_by = fields.String(allow_none=True)
    signature = fields.Nested(SignatureOut)


class DocumentTypeOut(Schema):
    code = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    agencies = fields.List(fields.String())
    validity_days = fields.Integer(allow_none=True)
    allowed = fields.Boolean(metadata={"description": "whether the calling agency may issue it"})


class DocumentTypesOut(Schema):
    document_types = fields.List(fields.Nested(DocumentTypeOut))


class BatchCreatedOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "queued | running | done"})
    total = fields.Integer(metadata={"description": "documents in the batch"})


class BatchItemError(Schema):
    code = fields.String(metadata={"description": "the problem code a single push of this document would answer"})
    detail = fields.String()


class BatchItemOut(Schema):
    reference = fields.String()
    status = fields.String(metadata={"description": "pending | accepted | replayed | rejected"})
    document_id = fields.String(allow_none=True)
    error = fields.Nested(BatchItemError, allow_none=True)


class BatchOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "queued | running | done"})
    total = fields.Integer()
    accepted = fields.Integer(metadata={"description": "items accepted or replayed"})
    rejected = fields.Integer()
    items = fields.List(fields.Nested(BatchItemOut), metadata={"description": "in the manifest's order"})


BATCH_MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["documents"], "additionalProperties": False,
    "properties": {"documents": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {
        "type": "object", "required": ["file", "metadata"], "additionalProperties": False,
        "properties": {"file": {"type": "string", "description": "name of the multipart part holding the PDF"},
                       "metadata": {"$ref": "#/components/schemas/DocumentMetadata"}}}}},
}
