"""Agency authentication: ``Authorization: Bearer <API key>``."""
from __future__ import annotations

from apiflask import HTTPTokenAuth
from flask import g

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
    agency = g.get("agency")
    return f"agency:{agency.code}" if agency is not None else "agency:anonymous"
