"""Citizen JSON API (the PWA's contract): sign-in, session, sign-out, own documents, enrolment.

Thin: validate input, call one service function, serialise. Every state-changing call is same-origin
only and, once signed in, needs the session's ``X-CSRF-Token``.
"""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, g, json

from wallet import db, rules
from wallet.citizens import auth, enrolment
from wallet.citizens.credentials import authenticate
from wallet.citizens.holdings import document_for, documents_for, note_representative_use
from wallet.citizens.models import Citizen, CitizenSession
from wallet.citizens.present import citizen_resource, holding_resource, otpauth_qr_svg
from wallet.citizens.schemas import (
    AuthOut,
    CitizenDocumentDetailOut,
    DocumentsOut,
    EnrolConfirmIn,
    EnrolPasswordIn,
    EnrolPasswordOut,
    EnrolStartIn,
    LoginIn,
    LogoutIn,
    SessionsOut,
    TicketOut,
)
from wallet.citizens.sessions import active_sessions, end_all_sessions, end_session, session_expiry
from wallet.documents.service import read_original
from wallet.errors import NotFound
from wallet.extensions import runtime
from wallet.present import lang, problem_responses
from wallet.throttle import ENROL_LIMIT

bp = APIBlueprint("citizen_api", __name__, url_prefix="/api/v1", tag="Citizen")

PROBLEMS = problem_responses({
    400: "Invalid request", 401: "Not signed in", 403: "Cross-site request or missing CSRF token (csrf_failed)",
    404: "Not found (also: another citizen's document)", 429: "Too many attempts: wait and retry"})


@bp.before_request
def _same_origin() -> None:
    auth.check_same_origin()


def _auth_body(citizen: Citizen, row: CitizenSession) -> dict[str, Any]:
    return {"csrf_token": row.csrf_token, "citizen": citizen_resource(citizen),
            "session": {"created_at": row.created_at, "expires_at": session_expiry(row, auth.limits())}}


def _signed_in(citizen: Citizen) -> Response:
    resp = Response(mimetype="application/json")
    row = auth.login(resp, citizen)
    body = AuthOut().dump(_auth_body(citizen, row))
    resp.set_data(json.dumps(body))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/auth/login")
@rules.public(sign_in=True)  # every attempt, valid or not, spends the address's budget (throttle.LOGIN_IP_LIMIT)
@bp.input(LoginIn, arg_name="body")
@bp.doc(summary="Sign in: national ID, password and a TOTP code (each code once)",
        responses=PROBLEMS.only(400, 401, 403, 429, besides={
            200: {"description": "Signed in; sets the session cookie", "content": {"application/json": {"schema": AuthOut}}}}))
def login(body: dict[str, Any]) -> Response:
    s = runtime().settings
    citizen = authenticate(db.session(), runtime().envelope, body["national_id"], body["password"],
                           body["otp"], throttle=s.rate_limits, request_id=g.get("request_id"))
    return _signed_in(citizen)


@bp.get("/auth/session")
@rules.citizen(api=True)
@bp.output(AuthOut)
@bp.doc(summary="Who is signed in, and the CSRF token", responses=PROBLEMS.only(401))
def session_info() -> Any:
    citizen, row = auth.current_citizen(), auth.current_session()
    assert citizen is not None and row is not None
    return _auth_body(citizen, row)


@bp.post("/auth/logout")
@rules.citizen(api=True)
@bp.input(LogoutIn, arg_name="body")
@bp.output({}, status_code=204)
@bp.doc(summary="Sign out: the session ends on the server (everywhere=true: every session)",
        responses=PROBLEMS.only(401, 403))
def logout(body: dict[str, Any]) -> Response:
    row = auth.current_session()
    assert row is not None
    if body.get("everywhere"):
        end_all_sessions(db.session(), row.citizen_id, g.get("request_id"))
    else:
        end_session(db.session(), row)
    resp = Response(status=204)
    auth.logout(resp)
    return resp


@bp.get("/auth/sessions")
@rules.citizen(api=True)
@bp.output(SessionsOut)
@bp.doc(summary="The citizen's active sessions", responses=PROBLEMS.only(401))
def sessions() -> Any:
    row = auth.current_session()
    assert row is not None
    rows = active_sessions(db.session(), row.citizen_id, auth.limits())
    return {"sessions": [{"created_at": r.created_at, "last_seen_at": r.last_seen_at, "user_agent": r.user_agent,
                          "current": r.id == row.id} for r in rows]}


@bp.get("/me/documents")
@rules.citizen(api=True)
@bp.output(DocumentsOut)
@bp.doc(summary="The signed-in citizen's documents, newest first; then those they hold as a guardian or proxy (holder, access)", responses=PROBLEMS.only(401))
def my_documents() -> Any:
    citizen = auth.current_citizen()
    assert citizen is not None
    return {"documents": [holding_resource(h, lang()) for h in documents_for(db.session(), citizen)]}


@bp.get("/me/documents/<doc_id>")
@rules.citizen(api=True)
@bp.output(CitizenDocumentDetailOut)
@bp.doc(summary="One of the citizen's documents (anyone else's: 404)", responses=PROBLEMS.only(401, 404))
def my_document(doc_id: str) -> Any:
    citizen = auth.current_citizen()
    assert citizen is not None
    return holding_resource(document_for(db.session(), citizen, doc_id), lang())


@bp.get("/me/documents/<doc_id>/file")
@rules.citizen(api=True)
@bp.doc(summary="The original signed PDF", responses=PROBLEMS.only(401, 404, besides={
    200: {"description": "The PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}))
def my_document_file(doc_id: str) -> Response:
    citizen = auth.current_citizen()
    assert citizen is not None
    holding = document_for(db.session(), citizen, doc_id)
    note_representative_use(db.session(), citizen, holding, "document.download", g.get("request_id"))
    return pdf_response(holding.document)


def pdf_response(doc: Any) -> Response:
    try:
        data = read_original(runtime(), doc)
    except KeyError as exc:  # BlobNotFound
        raise NotFound("the file is not available") from exc
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{doc.type}-{doc.reference.replace("/", "-")}.pdf"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# ------------------------------------------------------------------------------------------- enrolment

@bp.post("/enrol/start")
@rules.public(limit=ENROL_LIMIT)
@bp.input(EnrolStartIn, arg_name="body")
@bp.output(TicketOut)
@bp.doc(summary="Enrolment, step 1: national ID + one-time enrolment code",
        responses=PROBLEMS.only(400, 403, 429))
def enrol_start(body: dict[str, Any]) -> Any:
    state = enrolment.enrol_start(db.session(), body["national_id"], body["code"])
    return {"ticket": enrolment.dump_ticket(runtime().settings.secret_key, runtime().envelope, state)}


@bp.post("/enrol/password")
@rules.public(limit=ENROL_LIMIT)
@bp.input(EnrolPasswordIn, arg_name="body")
@bp.output(EnrolPasswordOut)
@bp.doc(summary="Enrolment, step 2: choose a password; get the TOTP secret to add to an authenticator",
        responses=PROBLEMS.only(400, 403, 429))
def enrol_password(body: dict[str, Any]) -> Any:
    rt = runtime()
    state = enrolment.enrol_password(enrolment.load_ticket(rt.settings.secret_key, rt.envelope, body["ticket"]),
                                     body["password"])
    return {"ticket": enrolment.dump_ticket(rt.settings.secret_key, rt.envelope, state),
            "totp_secret": state.totp_secret, "otpauth_uri": state.otpauth_uri(),
            "qr_svg": otpauth_qr_svg(state.otpauth_uri())}


@bp.post("/enrol/confirm")
@rules.public(limit=ENROL_LIMIT)
@bp.input(EnrolConfirmIn, arg_name="body")
@bp.doc(summary="Enrolment, step 3: confirm with a first code; signs in",
        responses=PROBLEMS.only(400, 403, 429, besides={
            200: {"description": "Enrolled and signed in; sets the session cookie", "content": {"application/json": {"schema": AuthOut}}}}))
def enrol_confirm(body: dict[str, Any]) -> Response:
    rt = runtime()
    state = enrolment.load_ticket(rt.settings.secret_key, rt.envelope, body["ticket"])
    citizen = enrolment.enrol_confirm(db.session(), rt.envelope, state, body["otp"], g.get("request_id"))
    return _signed_in(citizen)


__all__ = ["bp", "pdf_response"]
