"""Citizen shares: the JSON API (create, list, revoke, activity) and the PWA's share screen.

Thin: validate input, call one service function, serialise. Every state-changing call needs the
session's ``X-CSRF-Token`` (enforced by ``rules.citizen``). The token is returned once, never logged.
"""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, g, json, redirect, render_template, request, url_for

from wallet import db, rules
from wallet.citizens import auth, stepup
from wallet.citizens.holdings import document_for
from wallet.citizens.present import document_view
from wallet.extensions import runtime
from wallet.present import lang, problem_responses
from wallet.shares import service
from wallet.shares.present import share_resource, view_resource
from wallet.shares.schemas import ActivityOut, CreatedShareOut, RevokedShareOut, ShareIn, SharesOut

bp = APIBlueprint("shares_api", __name__, url_prefix="/api/v1", tag="Shares")
web = APIBlueprint("shares_web", __name__, enable_openapi=False)
blueprints = [bp, web]

CREATE_LIMIT = "30/minute"
_CREATED = CreatedShareOut()  # built once (a schema instance deep-copies its fields)
PROBLEMS = problem_responses({
    400: "Invalid request (no document, lifetime out of 60 s .. 30 days, bad view limit)",
    401: "Not signed in; step_up_required (a sensitive document type, e.g. criminal_record, long after "
         "sign-in: POST /api/v1/auth/step-up, then retry)", 403: "Cross-site request or missing CSRF token (csrf_failed)",
    404: "No such document or share (also: another citizen's)",
    409: "A document is revoked, expired or replaced: it cannot be shared (document_not_shareable; "
         "document_id and document_status name it)",
    429: "Too many requests"})


def _citizen() -> Any:
    citizen = auth.current_citizen()
    assert citizen is not None  # rules.citizen ran
    return citizen


def _step_up_for_sensitive(docs: list[Any]) -> None:
    row = auth.current_session()
    assert row is not None
    stepup.require_for_types(row, (d.type for d in docs))


@bp.post("/me/shares")
@rules.citizen(api=True, limit=CREATE_LIMIT, bucket="share-create")
@bp.input(ShareIn, arg_name="body")
@bp.doc(summary="Share documents: a time-limited link and QR code to a sealed copy",
        description="The sealed copy (original + the platform's timestamped PAdES seal with the QR code) is made "
                    "once, here. The token is returned once and never stored in clear.",
        responses=PROBLEMS.only(400, 401, 403, 404, 409, 429, besides={
            201: {"description": "Created", "content": {"application/json": {"schema": CreatedShareOut}}}}))
def create_share(body: dict[str, Any]) -> Response:
    created = service.create_share(runtime(), db.session(), _citizen(), body["document_ids"],
                                    expires_in=body["expires_in"], max_views=body["max_views"],
                                    label=(body.get("label") or "").strip() or None,
                                    allow_download=body["allow_download"], request_id=g.get("request_id"),
                                    before=_step_up_for_sensitive)
    out = share_resource(created.share, lang())
    out.update(token=created.token, url=created.url, qr_svg=created.qr_svg, qr_texts=list(created.qr_texts),
               qr_text=created.qr_texts[0] if created.qr_texts else None, code=created.code)
    payload = _CREATED.dump(out)
    resp = Response(json.dumps(payload), status=201, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/me/shares")
@rules.citizen(api=True)
@bp.output(SharesOut)
@bp.doc(summary="The citizen's shares, newest first, with their status and views used",
        responses=PROBLEMS.only(401))
def list_shares() -> Any:
    now = db.utcnow()
    return {"shares": [share_resource(s, lang(), now) for s in service.list_shares(db.session(), _citizen())]}


@bp.delete("/me/shares/<share_id>")
@rules.citizen(api=True)
@bp.output(RevokedShareOut)
@bp.doc(summary="Revoke a share at once (another citizen's: 404)",
        responses=PROBLEMS.only(401, 403, 404))
def revoke_share(share_id: str) -> Any:
    share = service.revoke_share(db.session(), _citizen(), share_id, g.get("request_id"))
    out = share_resource(share, lang())
    return out


@bp.get("/me/activity")
@rules.citizen(api=True)
@bp.output(ActivityOut)
@bp.doc(summary="Every look at every share of the citizen, newest first (when, share, channel, result, "
                "truncated IP, browser family)", responses=PROBLEMS.only(401))
def activity() -> Any:
    return {"events": [view_resource(v, s) for v, s in service.activity(db.session(), _citizen())]}


# ------------------------------------------------------------------------------------------- the PWA screen

@web.get("/share")
@rules.citizen(api=False)
def share_page() -> Any:
    sess = db.session()
    citizen = _citizen()
    doc_ids = [d for d in request.args.getlist("doc") if d][: service.MAX_DOCUMENTS]
    docs = [document_view(document_for(sess, citizen, d).document, lang()) for d in doc_ids]
    blocked = [d for d in docs if d["status"] in service.UNSHAREABLE]
    now = db.utcnow()
    shares = [share_resource(s, lang(), now) for s in service.list_shares(sess, citizen, limit=50)]
    row = auth.current_session()
    resp = Response(render_template("share.html", docs=docs, blocked=blocked, shares=shares,
                                    csrf=row.csrf_token if row else "", lifetimes=LIFETIMES))
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@web.get("/share/<share_id>/revoke")
@rules.citizen(api=False)
def revoke_page(share_id: str) -> Any:
    """The confirmation step of a revocation without JavaScript (with it, the share screen asks in place)."""
    share = share_resource(service.get_own_share(db.session(), _citizen(), share_id), lang())
    resp = Response(render_template("share_revoke.html", share=share))
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@web.post("/share/<share_id>/revoke")
@rules.citizen(api=False)
def revoke_form(share_id: str) -> Any:
    service.revoke_share(db.session(), _citizen(), share_id, g.get("request_id"))
    return redirect(url_for("shares_web.share_page") + "#list-title", code=303)

# (seconds, msgid) — the counter default first
LIFETIMES = ((600, "10 minutes (at a counter)"), (3600, "1 hour"), (86400, "1 day"), (7 * 86400, "7 days"),
             (30 * 86400, "30 days"))
