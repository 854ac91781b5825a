"""Request and response schemas of the shares API (they validate requests and generate the OpenAPI document)."""
from __future__ import annotations

from apiflask import Schema, fields, validators

from wallet.documents.schemas import PRINTABLE
from wallet.shares.service import DEFAULT_LIFETIME, MAX_DOCUMENTS, MAX_LIFETIME, MAX_VIEWS, MIN_LIFETIME

DOC_ID = r"^[0-9a-f]{32}$"


class ShareIn(Schema):
    document_ids = fields.List(fields.String(validate=[validators.Length(min=1, max=64), PRINTABLE]), required=True,
                               validate=validators.Length(min=1, max=MAX_DOCUMENTS),
                               metadata={"description": "ids of the citizen's own documents (1 to 10)"})
    expires_in = fields.Integer(load_default=DEFAULT_LIFETIME, strict=True,
                                validate=validators.Range(min=MIN_LIFETIME, max=MAX_LIFETIME),
                                metadata={"description": "lifetime in seconds: 60 to 2592000 (30 days); "
                                                         "default 600 (10 minutes, at a counter)"})
    max_views = fields.Integer(load_default=None, allow_none=True, strict=True,
                               validate=validators.Range(min=1, max=MAX_VIEWS),
                               metadata={"description": "how many looks (page, JSON or copy) the link allows"})
    label = fields.String(load_default=None, allow_none=True, validate=[validators.Length(max=120), PRINTABLE],
                          metadata={"description": "who it is for (shown to the holder and the verifier)"})
    allow_download = fields.Boolean(load_default=False, metadata={"description": "verifier may download the "
                                                                                 "sealed copy"})


class ShareDocumentOut(Schema):
    id = fields.String()
    type = fields.String()
    type_name = fields.String()
    status = fields.String()
    copy_kind = fields.String(allow_none=True, metadata={
        "description": "sealed: original + platform seal; sheet: original unchanged (certified 'no changes') "
                       "+ a separate sealed verification sheet"})
    copy_sha256 = fields.String(allow_none=True)


class RepresentativeOut(Schema):
    name = fields.String()
    role = fields.String(metadata={"description": "guardian | proxy"})


class ShareHolderOut(Schema):
    national_id = fields.String()
    name = fields.String()


class ShareOut(Schema):
    id = fields.String()
    label = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "active | expired | revoked | exhausted"})
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    max_views = fields.Integer(allow_none=True)
    views_used = fields.Integer()
    views_left = fields.Integer(allow_none=True)
    allow_download = fields.Boolean()
    sheet = fields.Boolean(metadata={"description": "a document was certified 'no changes': its copy is the "
                                                    "original plus a sealed verification sheet"})
    presented_by = fields.Nested(RepresentativeOut, allow_none=True,
                                 metadata={"description": "made by the holder's guardian or proxy (else null)"})
    holder = fields.Nested(ShareHolderOut, allow_none=True,
                           metadata={"description": "whose documents, when a representative made the share"})
    documents = fields.List(fields.Nested(ShareDocumentOut))


class CreatedShareOut(ShareOut):
    token = fields.String(metadata={"description": "shown once; the server keeps only its SHA-256"})
    url = fields.String()
    qr_svg = fields.String(metadata={"description": "the first document's QR content (qr_text) as an SVG QR code"})
    qr_texts = fields.List(fields.String(), metadata={
        "description": "per document, in document_ids order: the QR content its sealed copy carries, "
                       "<url>#<base64url(COSE_Sign1)> (a signed CWT for offline verification), at most 600 bytes; "
                       "shown once"})
    qr_text = fields.String(metadata={"description": "qr_texts[0]"})
    code = fields.String(allow_none=True, metadata={
        "description": "shares of at most 30 minutes: a 12-digit code (the last a Luhn check digit) for "
                       "GET /api/v1/verify/code/{digits} and the /verify page; null for longer shares; shown once"})


class SharesOut(Schema):
    shares = fields.List(fields.Nested(ShareOut))


class ViewOut(Schema):
    id = fields.String()
    at = fields.DateTime()
    share_id = fields.String()
    share_label = fields.String(allow_none=True)
    channel = fields.String(metadata={"description": "page | json | copy"})
    result = fields.String()
    ip = fields.String(allow_none=True, metadata={"description": "verifier address truncated to /24 or /48"})
    browser = fields.String(allow_none=True)
    presented_by = fields.Nested(RepresentativeOut, allow_none=True,
                                 metadata={"description": "the share was made by the holder's guardian or proxy"})


class ActivityOut(Schema):
    events = fields.List(fields.Nested(ViewOut))


class RevokedShareOut(ShareOut):
    """The share after revocation (its own name in the OpenAPI document)."""
