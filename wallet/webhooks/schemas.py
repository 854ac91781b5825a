"""Schemas of the webhook deliveries listing (they validate the query and generate the OpenAPI document)."""
from __future__ import annotations

from apiflask import Schema, fields, validators

from wallet.webhooks.service import MAX_LIMIT


class DeliveriesQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validators.Range(1, MAX_LIMIT),
                           metadata={"description": f"Deliveries per page (1-{MAX_LIMIT})"})
    cursor = fields.String(load_default=None, validate=validators.Length(max=200),
                           metadata={"description": "`next_cursor` of the previous page"})


class DeliveryOut(Schema):
    id = fields.String()
    event_id = fields.String(metadata={"description": "The event's `id`, as in the body POSTed"})
    type = fields.String(metadata={"description": "document.accepted | document.rejected | document.revoked | "
                                                  "batch.completed"})
    status = fields.String(metadata={"description": "pending | delivered | failed (not delivered within 24 h)"})
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True, metadata={"description": "HTTP status of the last answer"})
    last_error = fields.String(allow_none=True, metadata={"description": "Why the last attempt did not count"})
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "When a pending delivery is tried"})
    delivered_at = fields.DateTime(allow_none=True)


class DeliveriesOut(Schema):
    deliveries = fields.List(fields.Nested(DeliveryOut), metadata={"description": "Newest first"})
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as `cursor` for the next page; "
                                                                          "null on the last page"})
