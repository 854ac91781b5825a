"""``create_app`` builds the Flask application in named steps; importing this module builds nothing.

``flask --app wallet`` and gunicorn's ``wallet:create_app()`` reach it through ``wallet/__init__.py``.
"""
from __future__ import annotations

import logging
from typing import Any

from apiflask import APIFlask
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import FRONTEND, Settings
from signing import install_pyhanko_patches
from wallet import db, logs, metrics
from wallet.citizens.passkey_views import bp as passkeys_bp
from wallet.citizens.representation_views import bp as representation_bp
from wallet.citizens.views import bp as citizen_bp
from wallet.cli import register as register_cli
from wallet.documents.batch_views import bp as batches_bp
from wallet.documents.views import bp as documents_bp
from wallet.errors import register_error_handlers as register_problem_handlers
from wallet.extensions import Runtime, babel, install_request_gettext, limiter
from wallet.ops import bp as ops_bp
from wallet.present import day, listing, moment, select_locale, spoken
from wallet.push.keys import load_vapid
from wallet.push.views import bp as push_bp  # also registers the push listeners and jobs
from wallet.rules import check_access_rules
from wallet.security import (
    AnyPathConverter,
    NoCookieSession,
    RedactTokens,
    init_request_security,
    install_log_redaction,
)
from wallet.shares import views as share_views
from wallet.throttle import storage_options
from wallet.transactional import WalletFlask
from wallet.verification import views as verification_views  # its `blueprints` is read at each call (tests add one)
from wallet.web.proxies import bp as proxies_web_bp
from wallet.web.views import bp as web_bp
from wallet.webhooks.views import bp as webhooks_bp


def create_app(settings: Settings | None = None, **overrides: Any) -> APIFlask:
    install_pyhanko_patches()  # explicit, idempotent: importing signing patches nothing (signing/patches.py)
    settings = settings or Settings.from_env()
    if overrides:
        settings = settings.with_(**overrides)
    app = WalletFlask(
        "wallet",  # the package, not this module: app.name is the logger name and the root path
        title="Citizen document wallet API",
        version="1",
        spec_path="/api/v1/openapi.json",
        docs_path=None,  # the docs UI would load scripts from a CDN: we serve the JSON document only
        template_folder=str(FRONTEND / "templates"),
        static_folder=str(FRONTEND / "static"),
        static_url_path="/static",
        instance_path=str(settings.instance_path),
    )
    app.url_map.converters["anypath"] = AnyPathConverter  # before any route uses it
    configure(app, settings)
    register_extensions(app, settings)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    check_access_rules(app)
    return app


def configure(app: APIFlask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        WALLET_SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 64 * 1024,
        VALIDATION_ERROR_STATUS_CODE=400,
        VALIDATION_ERROR_DESCRIPTION="Invalid request",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="__Host-wallet" if settings.secure_cookies else "wallet_session",
        PERMANENT_SESSION_LIFETIME=settings.session_absolute_seconds,
        RATELIMIT_ENABLED=settings.rate_limits,
        RATELIMIT_STORAGE_URI=settings.rate_limit_storage,
        # Flask-Limiter keeps the first app's RATELIMIT_KEY_PREFIX for good; storage options follow each app
        RATELIMIT_STORAGE_OPTIONS=storage_options(settings.rate_limit_storage, settings.rate_limit_key_prefix),
        RATELIMIT_HEADERS_ENABLED=True,
        BABEL_TRANSLATION_DIRECTORIES=str(FRONTEND / "translations"),
        BABEL_DEFAULT_LOCALE="fr",
        JSON_SORT_KEYS=False,
        SPEC_FORMAT="json",
        LOCAL_SPEC_PATH=None,
        INFO={"description": "Agency issuance, the citizen wallet, and public verification. "
                             "Errors are RFC 9457 application/problem+json with a stable `code`."},
        SECURITY_SCHEMES={"AgencyKey": {"type": "http", "scheme": "bearer"},
                          "CitizenSession": {"type": "apiKey", "in": "cookie", "name": "wallet_sid"}},
    )
    if settings.proxy_hops:
        # behind PROXY_HOPS reverse proxies: the client address (rate limits per address, the /24 the holder
        # sees for each view) is the one the nearest trusted proxy appended to X-Forwarded-For; without
        # PROXY_HOPS the header is ignored, as any client can send it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops,  # type: ignore[method-assign]
                                x_proto=settings.proxy_hops)
    app.session_interface = NoCookieSession()
    install_log_redaction()  # every logger, children of "wallet" and libraries included
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", "wallet"):
        logging.getLogger(name).addFilter(RedactTokens())
    # hostile uploads make pyHanko's diff analysis log full tracebacks at WARNING; the report already says why
    logging.getLogger("pyhanko.sign.diff_analysis").setLevel(logging.ERROR)


def register_extensions(app: APIFlask, settings: Settings) -> None:
    rt = Runtime(settings)
    app.extensions["wallet.runtime"] = rt
    app.extensions["wallet.db"] = rt.db
    app.extensions["wallet.vapid"] = load_vapid(settings)  # made once under instance/ (embedded default)
    babel.init_app(app, locale_selector=select_locale)
    install_request_gettext(app)
    # the one date format of every page (Morocco's time zone), list commas and read-aloud text: wallet.present
    app.jinja_env.filters.update(day=day, moment=moment, listing=listing, spoken=spoken)
    limiter.init_app(app)
    init_request_security(app)
    metrics.init_app(app)  # per URL rule: counts and latencies (served by `python -m wallet.metrics`, not here)
    logs.init_app(app, settings.log_format)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        db.close()


def register_blueprints(app: APIFlask) -> None:
    for bp in (ops_bp, documents_bp, batches_bp, webhooks_bp, citizen_bp, passkeys_bp, representation_bp, push_bp,
               web_bp, proxies_web_bp, *share_views.blueprints, *verification_views.blueprints):
        app.register_blueprint(bp)


def register_error_handlers(app: APIFlask) -> None:
    register_problem_handlers(app)


def register_commands(app: APIFlask) -> None:
    register_cli(app)
