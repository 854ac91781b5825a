"""Offline verification's public resources: the platform's verification keys (a JWK set) and the Token Status
Lists. Both are the same for everyone and cacheable by anyone: fetching them says nothing about what is checked."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, json

from wallet import db, rules
from wallet.errors import NotFound
from wallet.extensions import runtime
from wallet.present import problem_responses
from wallet.shares import offline

api = APIBlueprint("offline_api", __name__, url_prefix="/api/v1", tag="Verification")
web = APIBlueprint("offline_web", __name__, enable_openapi=False)
blueprints = [api, web]

KEYS_LIMIT = "120/minute"
LIST_LIMIT = "120/minute"
MAX_LIST_ID = 1_000_000


def _public(resp: Response, max_age: int) -> Response:
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@web.get("/.well-known/wallet-keys.json")
@rules.public(limit=KEYS_LIMIT)
def wallet_keys() -> Response:
    """The platform's verification keys (current first, then previous ones still valid), as a JWK set."""
    body = json.dumps(runtime().offline.jwks())
    return _public(Response(body, mimetype="application/json"), 3600)


@api.get("/status-lists")
@rules.public(limit=LIST_LIMIT)
@api.doc(summary="The index of the Token Status Lists: the URI of every list, for verifiers that sync them all",
         responses=problem_responses({429: "Too many requests"}).only(429, besides={
             200: {"description": "`{\"lists\": [uri, ...]}`", "content": {"application/json": {
                 "schema": {"type": "object", "properties": {"lists": {"type": "array", "items": {
                     "type": "string"}}}}}}}}))
def status_list_index() -> Response:
    rt = runtime()
    body = json.dumps({"lists": [offline.status_uri(rt, n) for n in offline.list_ids(db.session())]})
    return _public(Response(body, mimetype="application/json"), 60)


@api.get("/status-lists/<list_id>")
@rules.public(limit=LIST_LIMIT)
@api.doc(summary="A Token Status List (application/statuslist+jwt): 1 bit per shared document, 1 = revoked",
         description="A compact ES256 JWS signed with the platform's verification key "
                     "(/.well-known/wallet-keys.json); bit i is (byte[i // 8] >> (i % 8)) & 1. Cacheable by "
                     "anyone; a revocation shows within 60 s.",
         responses=problem_responses({404: "No such list", 429: "Too many requests"}).only(404, 429, besides={
             200: {"description": "The signed list", "content": {"application/statuslist+jwt": {
                 "schema": {"type": "string"}}}}}))
def status_list(list_id: str) -> Any:
    # ASCII digits only: str.isdigit() also says yes to "²", which int() refuses (a 500 found by schemathesis)
    if not (list_id.isascii() and list_id.isdigit()) or len(list_id) > 7 or not 0 < int(list_id) <= MAX_LIST_ID:
        raise NotFound("no such status list", code="unknown_status_list")
    jwt = offline.status_list_jwt(runtime(), db.session(), int(list_id))
    if jwt is None:
        raise NotFound("no such status list", code="unknown_status_list")
    return _public(Response(jwt, mimetype="application/statuslist+jwt"), 60)
