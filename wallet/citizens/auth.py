"""Request glue for citizens: the session cookie, ``current_citizen()``, CSRF and same-origin checks.

The cookie holds a random secret; the database keeps only its SHA-256 (``CitizenSession.id``), so a
database leak gives no usable session. Every state-changing request must come from our own origin and
carry the session's CSRF token (``X-CSRF-Token`` header for the API, ``csrf_token`` form field for pages).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from wallet import db
from wallet.citizens import sessions
from wallet.citizens.models import Citizen, CitizenSession
from wallet.db import utcnow
from wallet.errors import Forbidden, Unauthorized
from wallet.extensions import runtime

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is written at most once a minute per session
PRE_COOKIE = "wallet_pre"  # pre-session CSRF (login and enrolment forms): double-submit, HMAC-bound


def cookie_name() -> str:
    return "__Host-wallet_sid" if runtime().settings.secure_cookies else "wallet_sid"


def limits() -> sessions.SessionLimits:
    s = runtime().settings
    return sessions.SessionLimits(idle=dt.timedelta(seconds=s.session_idle_seconds),
                                  absolute=dt.timedelta(seconds=s.session_absolute_seconds))


def _load() -> CitizenSession | None:
    if "citizen_session" not in g:
        sess = db.session()
        # an idle or too-old session is ended here, in the request's unit of work (committed with the answer)
        found = sessions.find_session_and_citizen(sess, request.cookies.get(cookie_name()), limits())
        g.citizen_session, g.citizen = found if found is not None else (None, None)
    return g.citizen_session  # type: ignore[no-any-return]


def current_session() -> CitizenSession | None:
    return _load()


def current_citizen() -> Citizen | None:
    _load()
    return g.citizen  # type: ignore[no-any-return]


def touch() -> None:
    """Keep the session alive (idle timeout): part of the request's unit of work, committed with its answer."""
    row = _load()
    if row is not None and utcnow() - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = utcnow()


def user_cache_key(citizen: Citizen) -> str:
    """Opaque per-citizen name for the service worker's cache (no ID number in the browser's storage)."""
    key = runtime().settings.secret_key.encode()
    return hmac.new(key, b"sw-cache:" + citizen.id.encode(), hashlib.sha256).hexdigest()[:20]


# ---------------------------------------------------------------------------- origin and CSRF

def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin() -> None:
    """Refuse cross-site state-changing requests (Fetch Metadata first, Origin/Referer as fallback)."""
    if request.method not in UNSAFE:
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise Forbidden("cross-site requests are refused", code="cross_site_request")
    origin = request.headers.get("Origin") or (
        _origin(request.headers["Referer"]) if request.headers.get("Referer") else None)
    if origin and origin != "null":
        allowed = {_origin(request.host_url), _origin(runtime().settings.public_base_url)}
        if _origin(origin) not in allowed:
            raise Forbidden("cross-site requests are refused", code="cross_site_request")
    elif origin == "null":
        raise Forbidden("cross-site requests are refused", code="cross_site_request")


def check_csrf(row: CitizenSession, *, form: bool) -> None:
    given = (request.form.get("csrf_token") if form else None) or request.headers.get("X-CSRF-Token") or ""
    if not given or not hmac.compare_digest(given.encode(), row.csrf_token.encode()):
        raise Forbidden("missing or wrong CSRF token", code="csrf_failed")


def pre_csrf_token() -> str:
    """CSRF token for forms shown before sign-in: HMAC of a random cookie (set by ``apply_pre_cookie``)."""
    value = request.cookies.get(PRE_COOKIE) or g.get("new_pre_cookie")
    if not value or len(value) > 64:
        value = g.new_pre_cookie = secrets.token_urlsafe(24)
    return hmac.new(runtime().settings.secret_key.encode(), b"pre-csrf:" + value.encode(), "sha256").hexdigest()


def check_pre_csrf() -> None:
    value = request.cookies.get(PRE_COOKIE)
    given = request.form.get("csrf_token") or ""
    if not value or len(value) > 64:
        raise Forbidden("missing or wrong CSRF token", code="csrf_failed")
    expected = hmac.new(runtime().settings.secret_key.encode(), b"pre-csrf:" + value.encode(), "sha256").hexdigest()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("missing or wrong CSRF token", code="csrf_failed")


def apply_pre_cookie(resp: Response) -> Response:
    if g.get("new_pre_cookie"):
        resp.set_cookie(PRE_COOKIE, g.new_pre_cookie, httponly=True, samesite="Lax",
                        secure=runtime().settings.secure_cookies, path="/")
    return resp


# ---------------------------------------------------------------------------- the session mechanism

def citizen_required(*, api: bool) -> Callable[[F], F]:
    """Signed-in citizens only; unsafe methods also need the CSRF token. API: 401; pages: to sign-in.

    Applied by ``wallet.rules.citizen`` only: the start-up check refuses a view wrapped in it outside that rule.
    """

    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            row = _load()
            if row is None:
                if api:
                    raise Unauthorized("sign in first", code="unauthorized")
                return redirect(url_for("web.index", next=request.full_path.rstrip("?")
                                        if request.method == "GET" else None))
            if request.method in UNSAFE:
                check_same_origin()
                check_csrf(row, form=not api)
            touch()
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco


# ---------------------------------------------------------------------------- cookies

def login(resp: BaseResponse, citizen: Citizen) -> CitizenSession:
    """Start a fresh session (rotation: any session this browser had ends) and set its cookie."""
    secret, row = sessions.start_session(db.session(), citizen, request.user_agent.string,
                                         previous_secret=request.cookies.get(cookie_name()), ip=request.remote_addr)
    resp.set_cookie(cookie_name(), secret, max_age=runtime().settings.session_absolute_seconds, path="/",
                    httponly=True, secure=runtime().settings.secure_cookies, samesite="Lax")
    g.citizen_session, g.citizen = row, citizen
    return row


def logout(resp: BaseResponse) -> None:
    """Forget the session in this browser: cookie gone, caches and storage cleared (the JS does it too)."""
    resp.delete_cookie(cookie_name(), path="/", httponly=True, secure=runtime().settings.secure_cookies,
                       samesite="Lax")
    resp.headers["Clear-Site-Data"] = '"cache", "storage"'
