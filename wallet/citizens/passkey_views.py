"""Passkeys and step-up: the JSON API (``wallet.citizens.passkeys``, ``wallet.citizens.stepup``).

Sign-in options are bound to a pre-session cookie set with them (``wallet_pk``); registration and step-up
options to the session. Adding or removing a passkey needs a recent authentication (step-up).

Step-up with a passkey: ``POST /auth/step-up/options`` (the citizen's own passkeys), then
``POST /auth/step-up {"credential"}``; with a code: ``POST /auth/step-up {"otp"}``.
"""
from __future__ import annotations

import secrets
from typing import Any

from apiflask import APIBlueprint
from flask import Response, g, json, request

from wallet import audit, db, rules
from wallet.citizens import auth, passkeys, stepup
from wallet.citizens.models import Citizen, CitizenSession, Passkey
from wallet.citizens.schemas import (
    AuthOut,
    PasskeyAssertionIn,
    PasskeyOut,
    PasskeyRegisterIn,
    PasskeysOut,
    StepUpIn,
    StepUpOut,
    WebAuthnOptionsOut,
)
from wallet.citizens.views import _signed_in
from wallet.errors import BadRequest
from wallet.extensions import runtime
from wallet.present import problem_responses

bp = APIBlueprint("passkeys_api", __name__, url_prefix="/api/v1", tag="Passkeys")

PRE_COOKIE = "wallet_pk"
OPTIONS_LIMIT = "30/minute"
STEP_UP_LIMIT = "10/minute"
PROBLEMS = problem_responses({
    400: "Invalid request (bad_passkey_response: a malformed answer)",
    401: "Not signed in; passkey_rejected (replayed, cloned, wrong origin or RP ID, no user verification, "
         "another citizen's); passkey_disabled (a passkey disabled after a cloned answer); step_up_required (with \"methods\"); invalid_credentials",
    403: "Cross-site request or missing CSRF token (csrf_failed)", 404: "No such passkey (also: another citizen's)",
    429: "Too many attempts"})


@bp.before_request
def _same_origin() -> None:
    auth.check_same_origin()


def _session() -> tuple[Citizen, CitizenSession]:
    citizen, row = auth.current_citizen(), auth.current_session()
    assert citizen is not None and row is not None  # rules.citizen ran
    return citizen, row


def _rp() -> passkeys.RelyingParty:
    return passkeys.relying_party(runtime().settings.public_base_url)


def _json(body: Any, status: int = 200) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def passkey_resource(row: Passkey) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "created_at": row.created_at, "last_used_at": row.last_used_at,
            "backed_up": row.backed_up, "disabled_at": row.disabled_at}


OPTIONS_DOC: dict[int | str, Any] = {200: {"description": "The options", "content": {"application/json": {"schema": WebAuthnOptionsOut}}}}


# ------------------------------------------------------------------------------------------- registration

@bp.post("/auth/passkeys/register/options")
@rules.citizen(api=True, limit=OPTIONS_LIMIT, bucket="passkey-options")
@bp.doc(summary="Passkey registration options (PublicKeyCredentialCreationOptions); needs a recent authentication",
        responses=PROBLEMS.only(400, 401, 403, 429, besides=OPTIONS_DOC))
def register_options() -> Response:
    citizen, row = _session()
    stepup.require_recent_auth(row)
    return _json(passkeys.registration_options(db.session(), _rp(), citizen, row.id))


@bp.post("/auth/passkeys/register")
@rules.citizen(api=True, limit=OPTIONS_LIMIT, bucket="passkey-register")
@bp.input(PasskeyRegisterIn, arg_name="body")
@bp.doc(summary="Add a passkey (discoverable, user-verified; attestation none); needs a recent authentication",
        responses=PROBLEMS.only(400, 401, 403, 429, besides={
            201: {"description": "Added", "content": {"application/json": {"schema": PasskeyOut}}}}))
def register(body: dict[str, Any]) -> Response:
    citizen, row = _session()
    stepup.require_recent_auth(row)
    added = passkeys.register(db.session(), _rp(), citizen, row.id, body["credential"], body["name"],
                              g.get("request_id"))
    return _json(PasskeyOut().dump(passkey_resource(added)), 201)


@bp.get("/me/passkeys")
@rules.citizen(api=True)
@bp.output(PasskeysOut)
@bp.doc(summary="The citizen's passkeys", responses=PROBLEMS.only(401))
def my_passkeys() -> Any:
    citizen, _row = _session()
    return {"passkeys": [passkey_resource(p) for p in passkeys.own_passkeys(db.session(), citizen.id)]}


@bp.delete("/me/passkeys/<passkey_id>")
@rules.citizen(api=True)
@bp.output({}, status_code=204)
@bp.doc(summary="Remove one of the citizen's passkeys; needs a recent authentication",
        responses=PROBLEMS.only(401, 403, 404))
def remove_passkey(passkey_id: str) -> Response:
    citizen, row = _session()
    stepup.require_recent_auth(row)
    passkeys.remove(db.session(), citizen, passkey_id, g.get("request_id"))
    return Response(status=204)


# ------------------------------------------------------------------------------------------- sign-in

@bp.post("/auth/passkeys/login/options")
@rules.public(limit=OPTIONS_LIMIT)
@bp.doc(summary="Sign-in options for a discoverable passkey (no ID to type); sets a short-lived cookie they are "
                "bound to", responses=PROBLEMS.only(403, 429, besides=OPTIONS_DOC))
def login_options() -> Response:
    secret = secrets.token_urlsafe(24)
    resp = _json(passkeys.assertion_options(db.session(), _rp(), passkeys.LOGIN, passkeys.binding_of(secret)))
    resp.set_cookie(PRE_COOKIE, secret, max_age=passkeys.CHALLENGE_SECONDS, path="/api/v1/auth/passkeys",
                    httponly=True, secure=runtime().settings.secure_cookies, samesite="Strict")
    return resp


@bp.post("/auth/passkeys/login")
@rules.public(sign_in=True)
@bp.input(PasskeyAssertionIn, arg_name="body")
@bp.doc(summary="Sign in with a passkey alone: the same session as national ID + password + code",
        responses=PROBLEMS.only(400, 401, 403, 429, besides={
            200: {"description": "Signed in; sets the session cookie", "content": {"application/json": {"schema": AuthOut}}}}))
def login(body: dict[str, Any]) -> Response:
    secret = request.cookies.get(PRE_COOKIE) or ""
    if not secret or len(secret) > 64:
        raise passkeys.PasskeyRejected("ask for sign-in options first")
    sess = db.session()
    used = passkeys.verify_assertion(sess, _rp(), body["credential"], passkeys.LOGIN, passkeys.binding_of(secret),
                                     g.get("request_id"))
    citizen = sess.get(Citizen, used.citizen_id)
    assert citizen is not None
    audit.record(sess, actor=f"citizen:{citizen.id}", action="citizen.login", target=f"citizen:{citizen.id}",
                 request_id=g.get("request_id"), details={"method": "passkey"})
    resp = _signed_in(citizen)
    resp.delete_cookie(PRE_COOKIE, path="/api/v1/auth/passkeys")
    return resp


# ------------------------------------------------------------------------------------------- step-up

@bp.post("/auth/step-up/options")
@rules.citizen(api=True, limit=OPTIONS_LIMIT, bucket="passkey-options")
@bp.doc(summary="Passkey options to confirm a sensitive action (the citizen's own passkeys)",
        responses=PROBLEMS.only(401, 403, 429, besides=OPTIONS_DOC))
def step_up_options() -> Response:
    citizen, row = _session()
    return _json(passkeys.assertion_options(db.session(), _rp(), passkeys.STEP_UP, row.id, citizen.id))


@bp.post("/auth/step-up")
@rules.citizen(api=True, limit=STEP_UP_LIMIT, bucket="step-up")
@bp.input(StepUpIn, arg_name="body")
@bp.output(StepUpOut)
@bp.doc(summary="Confirm it is you before a sensitive action: {\"otp\"} (a fresh code) or {\"credential\"} "
                "(a passkey answer to /auth/step-up/options)", responses=PROBLEMS.only(400, 401, 403, 429))
def step_up(body: dict[str, Any]) -> Any:
    citizen, row = _session()
    sess = db.session()
    if body.get("credential") is not None:
        used = passkeys.verify_assertion(sess, _rp(), body["credential"], passkeys.STEP_UP, row.id,
                                         g.get("request_id"))
        if used.citizen_id != citizen.id:
            raise passkeys.PasskeyRejected("the passkey was refused")
        stepup.stepped_up(sess, row, "passkey", g.get("request_id"))
    elif body.get("otp"):
        stepup.step_up_with_otp(sess, runtime().envelope, citizen, row, body["otp"], g.get("request_id"))
    else:
        raise BadRequest("give a one-time code or a passkey answer", code="bad_step_up")
    return {"stepped_up_at": row.stepped_up_at}
