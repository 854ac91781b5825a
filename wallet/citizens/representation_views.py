"""Representation's API: guardianships recorded by the civil registry (agency API, capability ``guardianships``)
and proxies granted by citizens (``/me/mandates``). Thin: validate, call the service, serialise."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import g

from wallet import db, rules
from wallet.agencies.auth import current_agency
from wallet.citizens import auth, representation, stepup
from wallet.citizens.models import Citizen, Guardianship, Mandate
from wallet.citizens.representation_schemas import (
    CreatedMandateOut,
    EndedMandateOut,
    GuardianshipIn,
    GuardianshipOut,
    GuardianshipRevokeIn,
    MandateIn,
    MandatesOut,
)
from wallet.present import problem_responses

bp = APIBlueprint("representation_api", __name__, url_prefix="/api/v1", tag="Representation")

AGENCY_LIMIT = "1200/minute"
MANDATE_LIMIT = "30/minute"
PROBLEMS = problem_responses({
    400: "Invalid request (guardian_is_minor, proxy_is_self, invalid_national_id, invalid_expiry ...)",
    401: "Not signed in, or bad API key",
    403: "The agency lacks the guardianships capability (capability_missing), or a cross-site request (csrf_failed)",
    404: "Not found (also: another agency's record, another citizen's mandate)",
    409: "The reference is already recorded with other data (reference_conflict)", 429: "Too many requests"})


def guardianship_resource(row: Guardianship) -> dict[str, Any]:
    return {c: getattr(row, c) for c in ("id", "reference", "guardian_id", "guardian_name", "minor_id", "minor_name",
                                         "valid_until", "basis", "created_at", "revoked_at", "revocation_reason")}


@bp.post("/guardianships")
@rules.agency(scope="guardianships", limit=AGENCY_LIMIT)
@bp.input(GuardianshipIn, arg_name="body")
@bp.output(GuardianshipOut, status_code=201, description="Recorded")
@bp.doc(summary="Record a legal guardianship (civil registry: the guardianships capability)",
        description="The guardian then holds the minor's documents until valid_until or revocation. Two court "
                    "orders for one minor: both kept, the latest wins (audited).",
        responses=PROBLEMS.only(400, 401, 403, 409, besides={200: {
            "description": "Identical replay: the record already made",
            "content": {"application/json": {"schema": GuardianshipOut}}}}))
def record_guardianship(body: dict[str, Any]) -> Any:
    row, created = representation.record_guardianship(db.session(), current_agency(), request_id=g.get("request_id"),
                                                      **body)
    return guardianship_resource(row), (201 if created else 200)


@bp.post("/guardianships/<guardianship_id>/revoke")
@rules.agency(scope="guardianships", limit=AGENCY_LIMIT)
@bp.input(GuardianshipRevokeIn, arg_name="body")
@bp.output(GuardianshipOut)
@bp.doc(summary="Revoke a guardianship the agency recorded: the guardian's access and shares end at once",
        responses=PROBLEMS.only(400, 401, 403, 404))
def revoke_guardianship(guardianship_id: str, body: dict[str, Any]) -> Any:
    return guardianship_resource(representation.revoke_guardianship(db.session(), current_agency(), guardianship_id,
                                                                     body["reason"], g.get("request_id")))


# ------------------------------------------------------------------------------------------- proxies

def _citizen() -> Citizen:
    citizen = auth.current_citizen()
    assert citizen is not None  # rules.citizen ran
    return citizen


def mandate_resource(m: Mandate, names: dict[str, str]) -> dict[str, Any]:
    now = db.utcnow()
    status = "ended" if m.ended_at else ("active" if representation.mandate_open(m, now) else "expired")
    return {"id": m.id, "grantor": {"national_id": m.grantor_id, "name": names.get(m.grantor_id, "")},
            "proxy": {"national_id": m.proxy_id, "name": names.get(m.proxy_id, "")}, "types": m.types,
            "can_share": m.can_share, "created_at": m.created_at, "expires_at": m.expires_at,
            "ended_at": m.ended_at, "status": status}


def _names(rows: list[Mandate]) -> dict[str, str]:
    sess = db.session()
    ids = {m.grantor_id for m in rows} | {m.proxy_id for m in rows}
    return {nid: representation.person_name(sess, nid) for nid in ids}


@bp.post("/me/mandates")
@rules.citizen(api=True, limit=MANDATE_LIMIT, bucket="mandate-grant")
@bp.input(MandateIn, arg_name="body")
@bp.output(CreatedMandateOut, status_code=201)
@bp.doc(summary="Grant a proxy: another citizen sees the chosen document types (null: all) until expires_at",
        responses=PROBLEMS.only(400, 401, 403, 429))  # 401 step_up_required: POST /api/v1/auth/step-up, then again
def grant_mandate(body: dict[str, Any]) -> Any:
    citizen = _citizen()
    # letting someone else see one's documents needs a recent authentication, whatever the types (the step-up
    # list of the issue: "granting a proxy"); a criminal record or every type would need it under either reading
    session_row = auth.current_session()
    assert session_row is not None  # rules.citizen ran
    # a grant that would be refused is refused first (400), before asking the person to confirm who they are
    representation.check_mandate(citizen, body["proxy_id"], body["types"], body["expires_at"])
    stepup.require_recent_auth(session_row)
    row = representation.grant_mandate(db.session(), citizen, body["proxy_id"], body["types"], body["expires_at"],
                                       body["can_share"], g.get("request_id"))
    return mandate_resource(row, _names([row]))


@bp.get("/me/mandates")
@rules.citizen(api=True)
@bp.output(MandatesOut)
@bp.doc(summary="The proxies the citizen granted and those they received, newest first",
        responses=PROBLEMS.only(401))
def list_mandates() -> Any:
    granted, received = representation.mandates_of(db.session(), _citizen())
    names = _names(granted + received)
    return {"granted": [mandate_resource(m, names) for m in granted],
            "received": [mandate_resource(m, names) for m in received]}


@bp.delete("/me/mandates/<mandate_id>")
@rules.citizen(api=True)
@bp.output(EndedMandateOut)
@bp.doc(summary="End a proxy at once (the grantor or the proxy; anyone else's: 404); shares made under it end too",
        responses=PROBLEMS.only(401, 403, 404))
def end_mandate(mandate_id: str) -> Any:
    row = representation.end_mandate(db.session(), _citizen(), mandate_id, g.get("request_id"))
    return mandate_resource(row, _names([row]))


__all__ = ["bp"]
