"""Schemas of the public verification API (they generate the OpenAPI document)."""
from __future__ import annotations

from apiflask import Schema, fields


class SignatureSummaryOut(Schema):
    signer = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    timestamped = fields.Boolean()
    timestamp_time = fields.Raw(allow_none=True)
    timestamp_authority = fields.String(allow_none=True)
    indication = fields.String()
    intact = fields.Boolean()
    trusted = fields.Boolean()
    checked_at = fields.DateTime(allow_none=True)
    checks = fields.List(fields.String())


class VerifiedDocumentOut(Schema):
    id = fields.String()
    type = fields.String()
    type_name = fields.String()
    issuer = fields.String()
    issuer_code = fields.String()
    holder_name = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    issued_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    status = fields.String(metadata={"description": "valid | expiring | expired | revoked | replaced"})
    sha256 = fields.String(metadata={"description": "SHA-256 of the agency's original"})
    signature = fields.Nested(SignatureSummaryOut)
    revoked_at = fields.DateTime(allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    copy_kind = fields.String(allow_none=True)
    copy_sha256 = fields.String(allow_none=True)
    download_url = fields.String(metadata={"description": "the sealed copy, when the holder allowed it"})
    original_url = fields.String(metadata={"description": "the unchanged original (certified 'no changes')"})


class PresentedByOut(Schema):
    name = fields.String()
    role = fields.String(metadata={"description": "guardian | proxy"})


class SharedOut(Schema):
    expires_at = fields.DateTime()
    label = fields.String(allow_none=True)
    views_left = fields.Integer(allow_none=True)
    max_views = fields.Integer(allow_none=True)
    allow_download = fields.Boolean()
    status = fields.String()
    presented_by = fields.Nested(PresentedByOut, allow_none=True,
                                 metadata={"description": "who presented the documents when not their holder "
                                                          "(a legal guardian or a proxy), else null"})


class LookOut(Schema):
    result = fields.String(metadata={"description": "valid | share_expired | share_revoked | views_exhausted | "
                                                    "document_revoked | document_expired | unknown"})
    documents = fields.List(fields.Nested(VerifiedDocumentOut))
    share = fields.Nested(SharedOut, allow_none=True)


class UploadForm(Schema):
    file = fields.File(required=True, metadata={"description": "the PDF to verify"})


class UploadReportOut(Schema):
    verdict = fields.String(metadata={"description": "valid | revoked | replaced | expired | modified | "
                                                     "invalid_signature | unsigned | unknown_document | unreadable | "
                                                     "share_revoked | share_expired (a sealed copy whose share the "
                                                     "holder withdrew, or that lapsed; the document's own state "
                                                     "comes first)"})
    sha256 = fields.String()
    size = fields.Integer()
    revisions = fields.Integer()
    error = fields.String(allow_none=True)
    error_detail = fields.String(allow_none=True)
    certified_no_changes = fields.Boolean()
    trailing_bytes = fields.Integer()
    signatures = fields.List(fields.Dict(), metadata={"description": "every signature: intact, valid, trusted, "
                                                                     "signer, coverage, modification level, "
                                                                     "timestamp, ETSI indication, role, "
                                                                     "later_changes (none | platform_seal | "
                                                                     "validation_data | other) and "
                                                                     "later_change_reasons"})
    registry = fields.Dict(metadata={"description": "known, document_id, sha256 (original), status, share"})
    added_after_signing = fields.List(fields.Dict(), metadata={
        "description": "what was added after the issuing agency signed that does not keep the file valid: one "
                       "item per revision {revision, reasons, signatures}; reasons among "
                       "signature_by_unknown_party, signature_by_other_party, visible_box, covers_page, "
                       "untrusted_timestamp, visible_doc_timestamp, annotation, form_field, appearance_changed, "
                       "page_content, metadata, document_structure, signature_changed, unexplained_object, "
                       "unanalysable, trailing_bytes"})
