"""Web Push API: the VAPID public key (public), and a citizen's browser subscribing or unsubscribing.

``POST /api/v1/me/push-subscriptions`` takes the browser's ``PushSubscription.toJSON()`` (``endpoint``,
``keys.p256dh``, ``keys.auth``; ``expirationTime`` is ignored) and the page language (``lang``) and answers 201
(the same browser again: 201, updated). ``DELETE`` takes ``{"endpoint"}`` (the browser knows its endpoint, not
our id) and answers 204 whether or not the endpoint was the citizen's.
"""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema, fields, validators
from flask import Response, json
from marshmallow import EXCLUDE

from wallet import db, rules
from wallet.citizens import auth
from wallet.extensions import runtime
from wallet.present import LANGUAGE_CODES, lang, problem_responses
from wallet.push import delivery, service
from wallet.push.endpoints import MAX_ENDPOINT

bp = APIBlueprint("push_api", __name__, url_prefix="/api/v1", tag="Web Push")

SUBSCRIBE_LIMIT = "30/minute"
PROBLEMS = problem_responses({
    400: "Invalid subscription: push_endpoint_invalid, push_endpoint_not_allowed (a host not in "
         "WEBPUSH_ALLOWED_HOSTS), push_endpoint_not_https, push_endpoint_private (a private, loopback or link-local "
         "address not listed), push_key_invalid (p256dh not a 65-byte P-256 point, auth not 16 bytes)",
    401: "Not signed in", 403: "Cross-site request or missing CSRF token (csrf_failed)",
    409: "push_subscriptions_full: the citizen has 10 browsers subscribed", 429: "Too many requests"})


class VapidKeyOut(Schema):
    public_key = fields.String(metadata={"description": "The applicationServerKey: base64url of the uncompressed "
                                                        "P-256 point (65 bytes)"})


class SubscriptionKeysIn(Schema):
    class Meta:
        unknown = EXCLUDE

    p256dh = fields.String(required=True, validate=validators.Length(max=200))
    auth = fields.String(required=True, validate=validators.Length(max=200))


class SubscriptionIn(Schema):
    class Meta:
        unknown = EXCLUDE  # expirationTime and whatever browsers add

    # longer than MAX_ENDPOINT is refused by the service with its own code (push_endpoint_invalid)
    endpoint = fields.String(required=True, validate=validators.Length(min=1, max=4 * MAX_ENDPOINT))
    keys = fields.Nested(SubscriptionKeysIn, required=True)
    lang = fields.String(load_default=None, validate=validators.OneOf(LANGUAGE_CODES),
                         metadata={"description": "The language to show notifications in (default: the page's)"})


class SubscriptionOut(Schema):
    id = fields.String()
    created_at = fields.DateTime()
    lang = fields.String()


class UnsubscribeIn(Schema):
    endpoint = fields.String(required=True, validate=validators.Length(min=1, max=MAX_ENDPOINT))


@bp.before_request
def _same_origin() -> None:
    auth.check_same_origin()


@bp.get("/push/vapid-public-key")
@rules.public()
@bp.output(VapidKeyOut)
@bp.doc(summary="The VAPID public key a browser subscribes with (applicationServerKey)")
def vapid_public_key() -> Any:
    return {"public_key": delivery.vapid().public_key}


@bp.post("/me/push-subscriptions")
@rules.citizen(api=True, limit=SUBSCRIBE_LIMIT, bucket="push-subscribe")
@bp.input(SubscriptionIn, arg_name="body")
@bp.doc(summary="Receive notifications on this browser (its PushSubscription JSON)",
        responses=PROBLEMS.only(400, 401, 403, 409, 429, besides={
            201: {"description": "Subscribed (or updated)",
                  "content": {"application/json": {"schema": SubscriptionOut}}}}))
def subscribe(body: dict[str, Any]) -> Response:
    citizen, signed_in = auth.current_citizen(), auth.current_session()
    assert citizen is not None and signed_in is not None
    row = service.subscribe(db.session(), citizen, body["endpoint"], body["keys"]["p256dh"], body["keys"]["auth"],
                            body.get("lang") or lang(), runtime().settings.webpush_allowed_hosts, signed_in.id)
    out = SubscriptionOut().dump({"id": row.id, "created_at": row.created_at, "lang": row.lang})
    resp = Response(json.dumps(out), status=201, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.delete("/me/push-subscriptions")
@rules.citizen(api=True)
@bp.input(UnsubscribeIn, arg_name="body")
@bp.output({}, status_code=204)
@bp.doc(summary="Stop notifications on this browser (by its endpoint)", responses=PROBLEMS.only(400, 401, 403))
def unsubscribe(body: dict[str, Any]) -> Response:
    citizen = auth.current_citizen()
    assert citizen is not None
    service.unsubscribe(db.session(), citizen, body["endpoint"])
    return Response(status=204)
