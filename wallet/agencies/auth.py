"""Agency authentication: ``Authorization: Bearer <API key>``, its rate key and its failed-auth budget.

The mechanisms only: ``wallet.rules.agency`` applies them to a view (a view wrapped in them any other way
fails the start-up check).
"""
from __future__ import annotations

import hashlib
from typing import Any

from apiflask import HTTPError, HTTPTokenAuth
from flask import Response, g, request
from flask_limiter.util import get_remote_address

from wallet import db
from wallet.agencies.models import Agency
from wallet.agencies.service import authenticate
from wallet.errors import BY_STATUS, problem
from wallet.extensions import limiter

agency_auth = HTTPTokenAuth(scheme="Bearer", description="Agency API key")


@agency_auth.verify_token
def _verify(token: str) -> Agency | None:
    if not token:
        return None
    agency = authenticate(db.session(), token)
    if agency is not None:
        g.agency = agency
    return agency


# What a refused caller reads in the 401's ``detail`` (the ``code`` stays ``unauthorized``): a key that was not
# sent and a key that was sent but matches no active key need different fixes.
NO_KEY = "No API key: send the header Authorization: Bearer <key>."
BAD_KEY = "This API key is not valid (revoked, rotated or mistyped): check the key you send."


@agency_auth.error_processor
def _refused(err: HTTPError) -> Response:
    """The 401 (or 403) of Flask-HTTPAuth as problem+json, saying whether a key was sent at all."""
    status = err.status_code
    family = BY_STATUS.get(status, BY_STATUS[401])
    detail = err.message or family.title
    if status == 401:
        auth = agency_auth.get_auth()
        detail = BAD_KEY if auth is not None and (auth.token or "").strip() else NO_KEY
    return problem(status, family.code, family.title, detail)


def current_agency() -> Agency:
    return g.agency  # type: ignore[no-any-return]


def agency_rate_key() -> str:
    """The rate-limit bucket of the API key presented (its hash), not of the authenticated agency.

    Route limits are checked before authentication runs, so an agency is not known yet: keyed on it, every
    request fell into one "anonymous" bucket that anyone could fill with bad keys, stopping every agency's
    pushes. A caller without a valid key now fills only its own buckets (and ``failed_auth_limit`` stops its
    address); a request with no key at all counts per address.
    """
    auth = agency_auth.get_auth()  # the key exactly as authentication will read it
    token = (auth.token or "") if auth is not None else ""
    if not token:
        return f"agency-none:{request.remote_addr}"
    return "agency-key:" + hashlib.sha256(token.encode()).hexdigest()[:32]


FAILED_AUTH_LIMIT = "120/minute"  # per address, counting only answers that refused the key (401)


def failed_auth_limit() -> Any:
    """Per address, across the agency routes: only refused keys (401) count, so valid keys are never slowed."""
    return limiter.shared_limit(FAILED_AUTH_LIMIT, scope="agency-auth-failures", key_func=get_remote_address,
                                deduct_when=lambda response: response.status_code == 401)
