"""Agency authentication: ``Authorization: Bearer <API key>``."""
from __future__ import annotations

import hashlib

from apiflask import HTTPTokenAuth
from flask import Response, g, request

from wallet import db
from wallet.agencies.models import Agency
from wallet.agencies.service import authenticate

agency_auth = HTTPTokenAuth(scheme="Bearer", description="Agency API key")


@agency_auth.verify_token
def _verify(token: str) -> Agency | None:
    if not token:
        return None
    agency = authenticate(db.session(), token)
    if agency is not None:
        g.agency = agency
    return agency


def current_agency() -> Agency:
    return g.agency  # type: ignore[no-any-return]


def agency_rate_key() -> str:
    """The rate-limit bucket of the API key presented (its hash), not of the authenticated agency.

    Route limits are checked before authentication runs, so an agency is not known yet: keyed on it, every
    request fell into one "anonymous" bucket that anyone could fill with bad keys, stopping every agency's
    pushes. A caller without a valid key now fills only its own buckets (and ``FAILED_AUTH_LIMIT`` stops its
    address); a request with no key at all counts per address.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return f"agency-none:{request.remote_addr}"
    return "agency-key:" + hashlib.sha256(token.encode()).hexdigest()[:32]


FAILED_AUTH_LIMIT = "120/minute"  # per address, counting only answers that refused the key (401)


def refused(response: Response) -> bool:
    return response.status_code == 401
