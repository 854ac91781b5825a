"""Public verification: the QR link's page and JSON twin, the sealed copy, and PDF upload checks.

No account; rate-limited per IP; ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` on every
answer (the URL carries the share token). The token is never logged: the access log is redacted by
``wallet.security.RedactTokens`` and nothing here logs it.
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, partial
from typing import Any

from apiflask import APIBlueprint
from flask import Response, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Connection, insert, select
from werkzeug.datastructures import FileStorage

from wallet import db, events, rules
from wallet.db import utcnow
from wallet.documents.service import read_original
from wallet.errors import Forbidden, NotFound, TooLarge, UnsupportedMedia
from wallet.extensions import runtime
from wallet.present import lang, moment, problem_responses
from wallet.shares import codes
from wallet.shares.models import Share, ShareView
from wallet.shares.service import read_copy
from wallet.verification import looks, offline, pages, plain, privacy, uploads
from wallet.verification.present import CODE_FILES, look_payload, page_details
from wallet.verification.schemas import LookOut, UploadForm, UploadReportOut

api = APIBlueprint("verification_api", __name__, url_prefix="/api/v1", tag="Verification")
web = APIBlueprint("verification_web", __name__, enable_openapi=False)
blueprints = [api, web, *offline.blueprints]

LOOK_LIMIT = "60/minute"
UPLOAD_LIMIT = "20/minute"
PAGE_LIMIT = "300/minute"  # page images: up to previews.MAX_PAGES per document of a look
GRANT_SECONDS = 15 * 60
FORM_COOKIE = "wallet_verify_form"
PROBLEMS = problem_responses({413: "Too large", 415: "Not a PDF", 429: "Too many requests"})


@api.after_request
@web.after_request
def _private(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    return resp


# -- download grants: a counted look covers the copy downloads that follow it for a while ----------------

@lru_cache(maxsize=4)
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="wallet.share-download")


def _grants() -> URLSafeTimedSerializer:
    return _serializer(runtime().settings.secret_key)


def grant_for(look: looks.Look) -> str:
    assert look.share is not None
    return _grants().dumps({"s": look.share.id, "v": look.view_id})


def _granted_share() -> str | None:
    """The share id a valid download grant (``?g=``) names, or None."""
    value = request.args.get("g", "")
    if not value or len(value) > 300:
        return None
    try:
        data = _grants().loads(value, max_age=GRANT_SECONDS)
    except BadSignature:
        return None
    return data.get("s") if isinstance(data, dict) and isinstance(data.get("s"), str) else None


def _share_of_grant(conn: Connection) -> looks.SharedLink | None:
    """The share a valid grant names (a look by code knows no token: its copies and pages go by the grant)."""
    granted = _granted_share()
    if granted is None:
        return None
    digest = conn.execute(select(Share.token_hash).where(Share.id == granted)).scalar()
    return looks.find_share(conn, "", digest=digest) if digest else None


@contextmanager
def _connection() -> Iterator[Connection]:
    """The look's connection (``looks.look_connection``); a pooled PostgreSQL one goes back at the end."""
    conn, own = looks.look_connection(runtime().db.engine, db.session)
    try:
        yield conn
    finally:
        if own:
            conn.close()


def _told(look: looks.Look) -> looks.Look:
    """A look that consumed a view tells the share's maker (``share.viewed``: its listener enqueues one job, run
    after the commit; nothing more is read or written here)."""
    if look.counted and look.share is not None:
        events.publish(db.session(), "share.viewed", share_id=look.share.id, holder_id=look.share.citizen_id,
                       document_types=[item.document.type for item in look.share.items])
    return look


def _look(conn: Connection, token: str, channel: looks.Channel, share: looks.SharedLink | None = None) -> looks.Look:
    if share is None:
        share = looks.find_share(conn, token)
    count = share is None or looks.counts(channel, share.id, _granted_share())
    return _told(looks.look(conn, share, channel, ip=request.remote_addr, user_agent=request.user_agent.string,
                            count=count))


def _keep_refused_look(conn: Connection, look: looks.Look) -> None:
    """The holder's log of a refused download must survive the 404's rollback. PostgreSQL: the look ran in
    autocommit (``looks.look_connection``), it is already kept. SQLite: it ran in the request's transaction,
    so its row is copied into ``db.record_rejection``'s own transaction, written once the request rolled back."""
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT" or look.view_id is None:
        return
    views = ShareView.__table__
    row = conn.execute(select(views).where(views.c.id == look.view_id)).mappings().first()
    if row is not None:
        kept = dict(row)
        db.record_rejection(lambda s: s.execute(insert(ShareView).values(kept)))


# -- the QR link ----------------------------------------------------------------------------------------

@api.get("/verify/<anypath:token>")
@rules.public(limit=LOOK_LIMIT, shared="verify-look")
@api.output(LookOut, description="valid, or why not")
@api.doc(summary="Verify a shared link (the JSON twin of /v/{token}); a valid look counts as one view",
         responses=PROBLEMS.only(429, besides={404: {"description": "Unknown link (result: unknown)",
                                                     "content": {"application/json": {"schema": LookOut}}}}))
def verify_token(token: str) -> Any:
    with _connection() as conn:
        look = _told(looks.look_token(conn, token, "json", ip=request.remote_addr,
                                      user_agent=request.user_agent.string))
    grant = grant_for(look) if look.result == "valid" else ""
    payload = look_payload(look, token, runtime().settings.public_base_url.rstrip("/"), grant)
    # serialised here, not by the LookOut schema (which documents it): the hot path of every QR scan.
    # tests/verification/test_payload_schema.py checks that this is exactly what LookOut would produce.
    return Response(json.dumps(payload, default=_iso, ensure_ascii=False, separators=(",", ":")),
                    status=404 if look.result == "unknown" else 200, mimetype="application/json")


CODE_LIMIT = "10/minute"  # per client address: a counter types a few codes, a guesser many
CODE_OVERALL = "300/minute"  # every client together: guessing from many addresses


def _code_look(code: str, channel: looks.Channel) -> looks.Look:
    """The counted look of a share's numeric code; a code with a wrong check digit never reaches the database."""
    if not codes.well_formed(code):
        return looks.Look(looks.LookResult.UNKNOWN)
    with _connection() as conn:
        digest = looks.token_hash_of_code(conn, codes.code_hash(runtime().settings.secret_key, code))
        if digest is None:
            return looks.Look(looks.LookResult.UNKNOWN)
        return _told(looks.look_token(conn, "", channel, ip=request.remote_addr,
                                      user_agent=request.user_agent.string, digest=digest))


@api.get("/verify/code/<code>")
@rules.public(limit=CODE_LIMIT, shared="verify-code", overall=CODE_OVERALL)
@api.output(LookOut, description="valid, or why not (as GET /api/v1/verify/{token}; the download links go by "
                                 "the look's grant, under /verify/code/)")
@api.doc(summary="Verify a counter share by its 12-digit code; a valid look counts as one view",
         description="The same counted look as the link. A code whose check digit (Luhn) is wrong is unknown "
                     "without any database work. Rate-limited per client and overall.",
         responses=PROBLEMS.only(429, besides={404: {"description": "Unknown code (result: unknown)",
                                                     "content": {"application/json": {"schema": LookOut}}}}))
def verify_code(code: str) -> Any:
    look = _code_look(code, "json")
    grant = grant_for(look) if look.result == "valid" else ""
    payload = look_payload(look, "", runtime().settings.public_base_url.rstrip("/"), grant, files=CODE_FILES)
    return Response(json.dumps(payload, default=_iso, ensure_ascii=False, separators=(",", ":")),
                    status=404 if look.result == "unknown" else 200, mimetype="application/json")


def _iso(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@web.get("/v/<token>")
@rules.public(limit=LOOK_LIMIT, shared="verify-look")
def verify_page(token: str) -> Response:
    granted = _granted_share()
    with _connection() as conn:
        look = _told(looks.look_token(conn, token, "page", ip=request.remote_addr,
                                      user_agent=request.user_agent.string, grant_share_id=granted))
    grant = ""
    if look.result == "valid" and look.share is not None:
        # a look the grant covered (no view counted) passes that same grant on, never a fresh one: the grant
        # still ends GRANT_SECONDS after the view that was counted, so reloads cannot extend it forever
        covered = not looks.counts("page", look.share.id, granted)
        grant = request.args.get("g", "") if covered else grant_for(look)
    payload = look_payload(look, token, "", grant)
    if look.result == "valid":
        page_details(look, payload, lambda doc: pages.page_images(runtime(), doc), token, grant, lang())
    # lang, text_dir and languages: the app's context processor (wallet.present.page_language)
    html = render_template("verify_result.html", look=payload, page_path=request.path, grant=grant)
    return Response(html, status=404 if look.result == "unknown" else 200, mimetype="text/html")


def _download(find: Callable[[Connection], looks.SharedLink | None], kind: str) -> Response:
    try:
        pos = int(request.args.get("item", "0"))
    except ValueError:
        pos = -1
    with _connection() as conn:
        share = find(conn)
        if share is None or not share.allow_download or not 0 <= pos < len(share.items):
            raise NotFound("no such copy")  # no view is counted for what cannot be served
        item = share.items[pos]
        if kind == "original" and item.copy_kind != "sheet":
            raise NotFound("no such copy")
        look = _look(conn, "", "copy", share=share)
    if look.result != "valid":  # the look is logged for the holder, and the log outlives the 404's rollback
        _keep_refused_look(conn, look)
        raise NotFound(f"this link no longer gives access to the document ({look.result})",
                       code=look.result, extra={"result": look.result})
    data = read_copy(runtime(), item) if kind == "copy" else read_original(runtime(), item.document)
    name = f"{item.document.type}-{'verification-sheet' if item.copy_kind == 'sheet' and kind == 'copy' else kind}"
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return resp


@web.get("/v/<token>/copy.pdf")
@rules.public(limit=LOOK_LIMIT, shared="verify-look")
def copy_pdf(token: str) -> Response:
    """The sealed copy (or, for an original certified 'no changes', the sealed verification sheet)."""
    return _download(partial(looks.find_share, token=token), "copy")


@web.get("/v/<token>/original.pdf")
@rules.public(limit=LOOK_LIMIT, shared="verify-look")
def original_pdf(token: str) -> Response:
    """The unchanged original, for documents certified 'no changes' (served with a verification sheet)."""
    return _download(partial(looks.find_share, token=token), "original")


@web.get("/v/<token>/pages/<int:item>/<int:page>.png")
@rules.public(limit=PAGE_LIMIT, shared="verify-pages")
def page_image(token: str, item: int, page: int) -> Response:
    """A page of a shared document as a watermarked PNG, under the grant of the look that showed it (``?g=``):
    it counts no view and logs nothing (the look did); without a valid grant for this share, 404, nothing read."""
    return _page(partial(looks.find_share, token=token), item, page)


def _page(find: Callable[[Connection], looks.SharedLink | None], item: int, page: int) -> Response:
    granted = _granted_share()
    if granted is None:
        raise NotFound("no such page")
    with _connection() as conn:
        share = find(conn)
    if share is None or share.id != granted or not 0 <= item < len(share.items):
        raise NotFound("no such page")
    if looks.decide(share, utcnow(), counted=False) is not None:  # withdrawn, expired or revoked since the look
        raise NotFound("this link no longer gives access to the document")
    stamp = _("verification view — valid until %(moment)s", moment=moment(share.expires_at))
    png = pages.page_png(runtime(), share.items[item].document, page, stamp)
    return Response(png, mimetype="image/png")  # Cache-Control: no-store (``_private``)


# -- a look by numeric code: the same copies and pages, found by the look's grant (it knows no token) ---------

@web.get(f"{CODE_FILES}/copy.pdf")
@rules.public(limit=LOOK_LIMIT, shared="verify-look")
def code_copy_pdf() -> Response:
    """The sealed copy of a share looked at by its code, under that look's grant (``?g=``; none: 404)."""
    return _download(_share_of_grant, "copy")


@web.get(f"{CODE_FILES}/original.pdf")
@rules.public(limit=LOOK_LIMIT, shared="verify-look")
def code_original_pdf() -> Response:
    """The unchanged original beside a verification sheet, for a look by code (``?g=``; none: 404)."""
    return _download(_share_of_grant, "original")


@web.get(f"{CODE_FILES}/pages/<int:item>/<int:page>.png")
@rules.public(limit=PAGE_LIMIT, shared="verify-pages")
def code_page_image(item: int, page: int) -> Response:
    """A page of a share looked at by its code, as ``page_image`` (``?g=``; none: 404, nothing read)."""
    return _page(_share_of_grant, item, page)


# -- uploaded files -------------------------------------------------------------------------------------

def _read_upload(upload: FileStorage | None) -> bytes:
    limit = runtime().settings.max_upload_bytes
    if upload is None:
        raise UnsupportedMedia("send the PDF as the multipart field 'file'", code="not_a_pdf")
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the file is larger than {limit} bytes")
    if b"%PDF-" not in data[:1024]:
        raise UnsupportedMedia("the file is not a PDF", code="not_a_pdf")
    return data


# -- what is not a look: HEAD requests and link previews ---------------------------------------------

LOOKS = {"verification_api.verify_token": "application/json", "verification_api.verify_code": "application/json",
         "verification_web.verify_page": "text/html",
         "verification_web.copy_pdf": "application/pdf", "verification_web.original_pdf": "application/pdf"}


@api.before_request
@web.before_request
def _not_a_look() -> Response | None:
    """Answers that open nothing, count nothing and log nothing, whatever the token.

    - HEAD (link checkers, mail scanners): no body is sent, so no view is used; an empty 200 of the GET's type.
    - A messenger or social network fetching the link to draw its preview (WhatsApp, Telegram, Facebook ...,
      ``privacy.is_link_preview``): otherwise sending a one-view link in a chat would use up its view before
      the recipient opens it. The page says only what the link is, in the request's language.
    """
    kind = LOOKS.get(request.endpoint or "")
    if kind is None:
        return None
    if request.method == "HEAD":
        return Response(status=200, mimetype=kind)
    if kind == "text/html" and privacy.is_link_preview(request.user_agent.string):
        html = render_template("verify_preview.html")  # lang and text_dir: the app's context processor
        return Response(html, status=200, mimetype="text/html")
    return None


@api.before_request
@web.before_request
def _size_limit() -> None:
    if request.method == "POST" and request.endpoint in ("verification_api.verify_upload",
                                                          "verification_web.verify_form"):
        limit = runtime().settings.max_upload_bytes + 64 * 1024
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(f"the upload is larger than {runtime().settings.max_upload_bytes} bytes")


@api.post("/verify")
@rules.public(limit=UPLOAD_LIMIT)
@api.input(UploadForm, location="form_and_files", arg_name="form")
@api.output(UploadReportOut)
@api.doc(summary="Verify a PDF: every signature, and whether the registry knows the document and its status",
         responses=PROBLEMS.only(413, 415, 429))
def verify_upload(form: dict[str, Any]) -> Any:
    data = _read_upload(form.get("file"))
    return uploads.verify_upload(runtime(), db.session(), data, lang())


def _form_token(nonce: str) -> str:
    key = runtime().settings.secret_key.encode()
    return hmac.new(key, b"verify-form:" + nonce.encode(), "sha256").hexdigest()


@web.route("/verify", methods=["GET", "POST"])
@rules.public(limit=UPLOAD_LIMIT, methods=["POST"])
def verify_form() -> Response:
    """The upload page. CSRF: double-submit — a random cookie and the HMAC of it in the form."""
    report = None
    error = None
    status = 200
    nonce = request.cookies.get(FORM_COOKIE, "")
    if request.method == "POST":
        _check_form(nonce)
        try:
            data = _read_upload(request.files.get("file"))
            report = uploads.verify_upload(runtime(), db.session(), data, lang())
        except (UnsupportedMedia, TooLarge) as exc:
            error, status = exc.code, exc.status
    new_nonce = nonce if nonce and len(nonce) <= 64 else secrets.token_urlsafe(24)
    # lang and text_dir: the app's context processor (wallet.present.page_language)
    html = render_template("verify_upload.html", report=report, error=error, csrf_token=_form_token(new_nonce),
                           summary=plain.upload_summary(report) if report is not None else None,
                           action=url_for("verification_web.verify_form"),
                           code_action=url_for("verification_web.verify_code_form"))
    resp = Response(html, status=status, mimetype="text/html")
    if new_nonce != nonce:
        resp.set_cookie(FORM_COOKIE, new_nonce, httponly=True, samesite="Strict", path="/verify",
                        secure=runtime().settings.secure_cookies)
    return resp



def _check_form(nonce: str) -> None:
    given = request.form.get("csrf_token", "")
    if not nonce or len(nonce) > 64 or not hmac.compare_digest(given.encode(), _form_token(nonce).encode()):
        raise Forbidden("the form expired: reload the page and try again", code="csrf_failed")


@web.post("/verify/code")
@rules.public(limit=CODE_LIMIT, shared="verify-code", overall=CODE_OVERALL)
def verify_code_form() -> Response:
    """The /verify page's share code: the same counted look and result page as /v/{token}, its page images and
    downloads served under /verify/code/ by the look's grant. Posted, so the code is in no URL (nor any log)."""
    _check_form(request.cookies.get(FORM_COOKIE, ""))
    code = "".join(ch for ch in request.form.get("code", "")[:40] if not ch.isspace() and ch != "-")
    look = _code_look(code, "page")
    grant = grant_for(look) if look.result == "valid" else ""
    payload = look_payload(look, "", "", grant, files=CODE_FILES)
    if look.result == "valid":
        page_details(look, payload, lambda doc: pages.page_images(runtime(), doc), "", grant, lang(), files=CODE_FILES)
    html = render_template("verify_result.html", look=payload, page_path=url_for("verification_web.verify_form"),
                           grant=grant)
    return Response(html, status=404 if look.result == "unknown" else 200, mimetype="text/html")
