"""HTML pages of the citizen PWA (Jinja + Flask-Babel), the web app manifest and the service worker.

Thin: every rule lives in the citizen domain (``wallet.citizens``: credentials, sessions, enrolment, holdings);
these views only turn forms into calls and results into pages. Pages with personal data are ``private, no-store`` for the HTTP cache; the service worker keeps
its own per-citizen copy (the Cache API ignores ``no-store`` on ``put``), wiped at sign-out.
"""
from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from apiflask import APIBlueprint
from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from wallet import db, rules
from wallet.citizens import auth, enrolment, previews
from wallet.citizens.credentials import InvalidCredentials, authenticate
from wallet.citizens.holdings import document_for, documents_for, note_representative_use, representative_uses
from wallet.citizens.passkeys import own_passkeys
from wallet.citizens.present import document_view, otpauth_qr_data_uri
from wallet.citizens.sessions import active_sessions, end_all_sessions, end_own_session, end_session, session_handle
from wallet.citizens.views import pdf_response
from wallet.errors import RateLimited, WalletError
from wallet.extensions import runtime
from wallet.present import LANGUAGE_CODES, lang, page_language, text_dir
from wallet.push import service as push_service
from wallet.push.texts import push_texts
from wallet.shares.service import activity as share_activity
from wallet.throttle import ENROL_LIMIT
from wallet.web.assets import SHELL, VERIFIER, asset, shell_version, sw_source
from wallet.web.holder import activity_item, session_item, use_item
from wallet.web.verifier import page_config

bp = APIBlueprint("web", __name__, enable_openapi=False)

PERSONAL = "private, no-store"
ONE_YEAR = 365 * 24 * 3600


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    settings = runtime().settings
    code = lang()
    return {**page_language(), "asset": asset, "current_citizen": g.get("citizen"), "csrf_token": _csrf_token,
            "format_date": format_date, "format_datetime": format_datetime,
            "service_name": settings.service_name.get(code) or settings.service_name.get("fr", ""),
            "service_emblem": settings.service_emblem}


def _csrf_token() -> str:
    row = g.get("citizen_session")
    return row.csrf_token if row is not None else auth.pre_csrf_token()


@bp.before_request
def _same_origin() -> None:
    auth.check_same_origin()


@bp.after_app_request
def _after(resp: Response) -> Response:
    auth.apply_pre_cookie(resp)
    if request.endpoint == "static" and request.args.get("v"):
        resp.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return resp


def personal(resp: Response | str) -> Response:
    """Mark a response that carries personal data; tell the service worker whose cache it belongs to."""
    if isinstance(resp, str):
        resp = Response(resp, mimetype="text/html")
    resp.headers["Cache-Control"] = PERSONAL
    resp.headers["Vary"] = "Cookie"
    citizen = auth.current_citizen()
    if citizen is not None:
        resp.headers["X-Wallet-Cache"] = auth.user_cache_key(citizen)
    return resp


NEXT_MAX = 2048
_NEXT_BASE = "https://wallet.invalid/"


def _unsafe_char(c: str) -> bool:
    # controls (C0, DEL, C1), format, surrogates, private use, unassigned, and separators other than the
    # plain space: browsers strip tabs and newlines anywhere in a URL, so "/\t/evil.example" becomes
    # "//evil.example", and a backslash is a slash to them
    return c == "\\" or (c != " " and unicodedata.category(c)[0] in "CZ")


def safe_next(target: object) -> str | None:
    """``target`` if it is a path on this site that every browser resolves to this origin, else None.

    Checked on the value as given and on each percent-decoding of it (a proxy or a later redirect may decode
    once more): no control, format or separator character but the plain space, no backslash, and it
    starts with exactly one slash."""
    if not isinstance(target, str) or not target or len(target) > NEXT_MAX:
        return None
    form = target
    for _round in range(4):
        if not form.startswith("/") or form.startswith("//") or any(_unsafe_char(c) for c in form):
            return None
        decoded = unquote(form, errors="replace")
        if decoded == form:
            break
        form = decoded
    else:
        return None  # encoded four times over: nobody needs that
    joined = urlsplit(urljoin(_NEXT_BASE, target))
    base = urlsplit(_NEXT_BASE)
    if (joined.scheme, joined.netloc) != (base.scheme, base.netloc):
        return None
    return target


# ------------------------------------------------------------------------------------------- sign-in

@bp.get("/")
@rules.public()
def index() -> BaseResponse:
    if auth.current_citizen() is not None:
        return redirect(url_for("web.wallet"))
    resp = Response(render_template("login.html", next=safe_next(request.args.get("next"))))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _login_error(message: str, status: int, national_id: str = "") -> Response:
    resp = Response(render_template("login.html", error=message, national_id=national_id,
                                    next=safe_next(request.form.get("next"))), status=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/login")
@rules.public(sign_in=True)
def login() -> BaseResponse:
    auth.check_pre_csrf()
    form = request.form
    nid = form.get("national_id", "")[:64]
    try:
        citizen = authenticate(db.session(), runtime().envelope, nid, form.get("password", "")[:1024],
                               form.get("otp", "")[:16], throttle=runtime().settings.rate_limits,
                               request_id=g.get("request_id"))
    except InvalidCredentials:
        return _login_error(_("The national ID, password or code is wrong. Check them and try again."), 401, nid)
    except RateLimited as exc:
        refused = _login_error(_("Too many attempts. Wait a moment and try again."), 429, nid)
        refused.headers.update(exc.headers)
        return refused
    resp = redirect(safe_next(form.get("next")) or url_for("web.wallet"), code=303)
    auth.login(resp, citizen)
    return resp


@bp.post("/logout")
@rules.citizen(api=False)
def logout() -> BaseResponse:
    row = auth.current_session()
    assert row is not None
    if request.form.get("everywhere"):
        end_all_sessions(db.session(), row.citizen_id, g.get("request_id"))
    else:
        end_session(db.session(), row)
    resp = redirect(url_for("web.index"), code=303)
    auth.logout(resp)
    return resp


# ------------------------------------------------------------------------------------------- enrolment

# every template, imported macros included (they see globals, not the request's context): the read-aloud button
# of _speak.html loads its script with it, also on the verification pages
bp.add_app_template_global(asset, "asset")


@bp.route("/enrol", methods=["GET", "POST"])
@rules.public(limit=ENROL_LIMIT, methods=["POST"])
def enrol() -> BaseResponse:
    return _credential_steps("enrol")


@bp.get("/recover")
@rules.public()
def recover() -> Response:
    """What to do after forgetting the password or losing the phone: a visit to a counter for a reset code."""
    resp = Response(render_template("recover.html"))
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.route("/reset", methods=["GET", "POST"])
@rules.public(limit=ENROL_LIMIT, methods=["POST"])
def reset() -> BaseResponse:
    """The reset code from the counter -> a new password -> a new authenticator: the steps of enrolment."""
    return _credential_steps("reset")


FLOWS = {"enrol": ("enrol.html", "invite"), "reset": ("enrol.html", "reset")}  # flow -> template, claim method


def _credential_steps(flow: str) -> BaseResponse:
    """Enrolment and reset: national ID + one-time code, then a password, then an authenticator confirmed by a
    first code; signs in at the end (a reset has ended every other session of the account)."""
    method = FLOWS[flow][1]
    if request.method == "GET":
        return _enrol_page(flow, "start")
    auth.check_pre_csrf()
    rt, form = runtime(), request.form
    step = form.get("step", "start")
    try:
        if step == "start":
            state = enrolment.enrol_start(db.session(), form.get("national_id", "")[:64], form.get("code", "")[:64],
                                          method)
            return _enrol_page(flow, "password",
                               ticket=enrolment.dump_ticket(rt.settings.secret_key, rt.envelope, state))
        state = _ticket(form.get("ticket", "")[:4096], method)
        if step == "password":
            password = form.get("password", "")[:1024]
            if password != form.get("confirm", "")[:1024]:
                return _enrol_page(flow, "password", ticket=form.get("ticket"), status=400,
                                   error=_("The two passwords are different."))
            state = enrolment.enrol_password(state, password)
            return _totp_page(flow, state)
        citizen = enrolment.enrol_confirm(db.session(), rt.envelope, state, form.get("otp", "")[:16],
                                          g.get("request_id"))
    except enrolment.EnrolmentError as exc:
        return _enrol_error(flow, exc, form)
    resp = redirect(url_for("web.wallet"), code=303)
    auth.login(resp, citizen)
    return resp


def _ticket(raw: str, method: str) -> enrolment.Enrolment:
    """The ticket of this flow (an enrolment ticket does not continue a reset, nor the reverse)."""
    rt = runtime()
    state = enrolment.load_ticket(rt.settings.secret_key, rt.envelope, raw)
    if state.claim.method != method:
        raise enrolment.EnrolmentError("the enrolment has expired: start again with your code",
                                       code="enrolment_expired")
    return state


ENROL_MESSAGES = {
    "invalid_invite": lambda: _("This national ID and enrolment code do not match a valid invitation. "
                                "A code works once, for 72 hours."),
    "enrolment_expired": lambda: _("The activation took too long. Start again with your code."),
    "invalid_code": lambda: _("The code does not match. Check the time on your phone and try again."),
    "too_short": lambda: _("The password must have at least 10 characters."),
    "too_long": lambda: _("The password is too long."),
    "too_common": lambda: _("This password is too common. Choose another one."),
    "contains_id": lambda: _("The password must not contain your national ID number."),
}
RESET_MESSAGES = {  # the same answer for an unknown ID and a wrong, used or expired code
    "invalid_invite": lambda: _("This national ID and reset code do not match. A reset code works once, "
                                "for 72 hours: ask for a new one at a counter if needed."),
    "enrolment_expired": lambda: _("This took too long. Start again with your reset code."),
}


def _enrol_error(flow: str, exc: WalletError, form: Any) -> Response:
    key = exc.extra.get("reason") or exc.code
    messages = {**ENROL_MESSAGES, **RESET_MESSAGES} if flow == "reset" else ENROL_MESSAGES
    message = messages.get(key, messages["invalid_invite"])()
    if exc.code == "weak_password":
        return _enrol_page(flow, "password", ticket=form.get("ticket"), error=message, status=400)
    if exc.code == "invalid_code":
        state = _ticket(form.get("ticket", ""), FLOWS[flow][1])
        return _totp_page(flow, state, error=message, status=400)
    return _enrol_page(flow, "start", error=message, status=400, national_id=form.get("national_id", "")[:64])


def _totp_page(flow: str, state: enrolment.Enrolment, error: str | None = None, status: int = 200) -> Response:
    rt = runtime()
    secret = state.totp_secret or ""
    uri = state.otpauth_uri()
    return _enrol_page(flow, "totp", ticket=enrolment.dump_ticket(rt.settings.secret_key, rt.envelope, state),
                       qr=otpauth_qr_data_uri(uri), otpauth=uri, secret=secret, error=error, status=status,
                       secret_groups=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))


def _enrol_page(flow: str, step: str, status: int = 200, **ctx: Any) -> Response:
    resp = Response(render_template(FLOWS[flow][0], flow=flow, step=step, **ctx), status=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ------------------------------------------------------------------------------------------- the wallet

@bp.get("/wallet")
@rules.citizen(api=False)
def wallet() -> Response:
    citizen = auth.current_citizen()
    assert citizen is not None
    docs: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}  # own documents; then one group per represented person, in the order reached
    for h in documents_for(db.session(), citizen):
        view = document_view(h.document, lang(), facts=True)
        if h.access == "own":
            docs.append(view)
        else:
            groups.setdefault(h.holder_national_id, {"name": h.holder_name, "national_id": h.holder_national_id,
                                                     "access": h.access, "documents": []})["documents"].append(view)
    known = push_service.known_endpoints(db.session(), citizen.id)  # this browser's own "on" is checked against them
    return personal(render_template("wallet.html", documents=docs, groups=list(groups.values()), holder=citizen.name,
                                    push_known=" ".join(known)))


@bp.get("/documents/<doc_id>")
@rules.citizen(api=False)
def document(doc_id: str) -> Response:
    citizen = auth.current_citizen()
    assert citizen is not None
    holding = document_for(db.session(), citizen, doc_id)
    doc = holding.document
    d = document_view(doc, lang(), facts=True)
    try:
        sizes = previews.page_sizes(runtime(), doc)
    except Exception:  # noqa: BLE001 - a broken preview must not hide the document (download still works)
        sizes = []
    pages = []
    for n, size in enumerate(sizes, start=1):
        base = url_for("web.preview", doc_id=doc.id, page=n)
        pages.append({"src": f"{base}?w={previews.DEFAULT_WIDTH}",
                      "srcset": ", ".join(f"{base}?w={w} {w}w" for w in previews.WIDTHS),
                      "width": previews.DEFAULT_WIDTH, "height": size.height_for(previews.DEFAULT_WIDTH)})
    return personal(render_template("document.html", d=d, pages=pages, holder=holding.holder_name))


@bp.get("/documents/<doc_id>/preview/<int:page>.png")
@rules.citizen(api=False)
def preview(doc_id: str, page: int) -> Response:
    citizen = auth.current_citizen()
    assert citizen is not None
    doc = document_for(db.session(), citizen, doc_id).document
    width = request.args.get("w", type=int) or previews.DEFAULT_WIDTH
    png = previews.preview(runtime(), doc, page, width)
    return personal(Response(png, mimetype="image/png"))


@bp.get("/documents/<doc_id>/file")
@rules.citizen(api=False)
def document_file(doc_id: str) -> Response:
    citizen = auth.current_citizen()
    assert citizen is not None
    holding = document_for(db.session(), citizen, doc_id)
    note_representative_use(db.session(), citizen, holding, "document.download", g.get("request_id"))
    return personal(pdf_response(holding.document))


@bp.get("/activity")
@rules.citizen(api=False)
def activity() -> Response:
    citizen = auth.current_citizen()
    assert citizen is not None
    code = lang()
    events = [activity_item(v, s, code) for v, s in share_activity(db.session(), citizen, limit=200)]
    uses = [use_item(u, code) for u in representative_uses(db.session(), citizen)]
    return personal(render_template("activity.html", events=events, uses=uses))


@bp.get("/settings/sessions")
@rules.citizen(api=False)
def sessions() -> Response:
    row = auth.current_session()
    assert row is not None
    code = lang()
    items = [session_item(r, row, code) for r in active_sessions(db.session(), row.citizen_id, auth.limits())]
    return personal(render_template("sessions.html", sessions=items, ended=request.args.get("ended") == "1"))


@bp.get("/settings/passkeys")
@rules.citizen(api=False)
def passkeys_page() -> Response:
    citizen = auth.current_citizen()
    assert citizen is not None
    return personal(render_template("passkeys.html", passkeys=own_passkeys(db.session(), citizen.id),
                                    added=request.args.get("added") == "1",
                                    removed=request.args.get("removed") == "1"))


@bp.post("/settings/sessions/end")
@rules.citizen(api=False)
def end_one_session() -> BaseResponse:
    """End one other session (the phone left at a relative's); the current one ends through Sign out."""
    row = auth.current_session()
    assert row is not None
    handle = request.form.get("session", "")[:64]
    if handle == session_handle(row):
        return redirect(url_for("web.sessions"), code=303)  # the page offers "Sign out" for this one
    ended = end_own_session(db.session(), row.citizen_id, handle, g.get("request_id"))
    return redirect(url_for("web.sessions", ended="1" if ended else None), code=303)


# ------------------------------------------------------------------------------------------- language, PWA

@bp.get("/lang/<code>")
@rules.public()
def set_language(code: str) -> BaseResponse:
    target = safe_next(request.args.get("next"))
    if target is None and request.referrer:
        ref = urlsplit(request.referrer)
        if ref.netloc == request.host:
            target = safe_next(ref.path + (f"?{ref.query}" if ref.query else ""))
    resp = redirect(target or url_for("web.index"))
    if code in LANGUAGE_CODES:
        resp.set_cookie("lang", code, max_age=ONE_YEAR, samesite="Lax", path="/",
                        secure=runtime().settings.secure_cookies)
    return resp


@bp.get("/verifier")
@rules.public()
def verifier() -> Response:
    """The offline verifier for clerks: checks a QR's signed payload in the browser, with or without a network."""
    resp = Response(render_template("verifier.html", config=page_config(lang())))
    resp.headers["Cache-Control"] = "no-cache"  # the service worker keeps the copy used offline
    resp.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=(), interest-cohort=()"
    return resp


@bp.get("/offline")
@rules.public()
def offline() -> Response:
    resp = Response(render_template("offline.html"))
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/manifest.webmanifest")
@rules.public()
def manifest() -> Response:
    code = lang()
    body = {
        "name": _("Wallet — my official documents"), "short_name": _("Wallet"),
        "description": _("Your official documents, signed by the issuing administration, on your phone."),
        "lang": code, "dir": text_dir(code),
        "id": "/wallet", "start_url": "/wallet", "scope": "/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#0b5d3b",
        "icons": [
            {"src": asset("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": asset("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": asset("icons/maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": asset("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    resp = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/sw.js")
@rules.public()
def service_worker() -> Response:
    shell = [asset(p) for p in SHELL] + [url_for("web.offline")]
    verifier = [url_for("web.verifier")] + [asset(p) for p in VERIFIER]
    push = push_texts(runtime().settings.service_name)  # the notifications' texts, in every page language
    source = (sw_source().replace("__VERSION__", shell_version())
              .replace('"__SHELL__"', json.dumps(shell)).replace('"__VERIFIER__"', json.dumps(verifier))
              .replace('"__PUSH__"', json.dumps(push, ensure_ascii=False)))
    resp = Response(source, mimetype="text/javascript")
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["Cache-Control"] = "no-cache"
    return resp
