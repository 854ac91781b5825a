"""Schemas of representation: guardianships (agency API) and mandates (citizen API)."""
from __future__ import annotations

from apiflask import Schema, fields, validators

from wallet.catalogue import TYPES
from wallet.citizens.representation import BASES
from wallet.documents.schemas import PRINTABLE

_NID = [validators.Length(min=1, max=64), PRINTABLE]
_NAME = [validators.Length(max=200), PRINTABLE]


class GuardianshipIn(Schema):
    guardian_id = fields.String(required=True, validate=_NID, metadata={"example": "AB123456"})
    guardian_name = fields.String(load_default="", validate=_NAME)
    minor_id = fields.String(required=True, validate=_NID, metadata={"example": "MN123456"})
    minor_name = fields.String(load_default="", validate=_NAME)
    valid_until = fields.Date(required=True, metadata={"description": "the 18th birthday, or the court's date "
                                                                      "(inclusive)"})
    basis = fields.String(required=True, validate=validators.OneOf(BASES))
    reference = fields.String(required=True, validate=[validators.Length(min=1, max=120), PRINTABLE],
                              metadata={"description": "the registry's reference: a replay with the same data "
                                                       "answers 200, with other data 409"})


class GuardianshipOut(Schema):
    id = fields.String()
    reference = fields.String()
    guardian_id = fields.String()
    guardian_name = fields.String()
    minor_id = fields.String()
    minor_name = fields.String()
    valid_until = fields.Date()
    basis = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    revocation_reason = fields.String(allow_none=True)


class GuardianshipRevokeIn(Schema):
    reason = fields.String(required=True, validate=[validators.Length(min=1, max=500), PRINTABLE])


class MandateIn(Schema):
    proxy_id = fields.String(required=True, validate=_NID, metadata={"description": "the proxy's national ID"})
    types = fields.List(fields.String(validate=validators.OneOf(sorted(TYPES))), load_default=None, allow_none=True,
                        validate=validators.Length(min=1, max=len(TYPES)),
                        metadata={"description": "the document types the proxy may see; null: every type"})
    expires_at = fields.AwareDateTime(required=True, default_timezone=None)
    can_share = fields.Boolean(load_default=False, metadata={"description": "the proxy may share them too"})


class MandateOut(Schema):
    id = fields.String()
    grantor = fields.Dict(metadata={"description": "national_id, name"})
    proxy = fields.Dict(metadata={"description": "national_id, name"})
    types = fields.List(fields.String(), allow_none=True)
    can_share = fields.Boolean()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    status = fields.String(metadata={"description": "active | expired | ended"})


class MandatesOut(Schema):
    granted = fields.List(fields.Nested(MandateOut))
    received = fields.List(fields.Nested(MandateOut))


class CreatedMandateOut(MandateOut):
    """The mandate just granted (a distinct class: apispec refuses a schema registered both nested and top-level)."""


class EndedMandateOut(MandateOut):
    """The mandate just ended."""
