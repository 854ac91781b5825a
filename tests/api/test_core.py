"""Foundation: settings, health, OpenAPI, access rules by construction, audit chain, log redaction."""
from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select, text, update

from config.settings import Settings, SettingsError
from wallet import db
from wallet.audit import AuditEvent, record


def test_production_refuses_to_start_without_secrets(tmp_path: Any) -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"WALLET_ENV": "production", "WALLET_INSTANCE": str(tmp_path)})
    for name in ("SECRET_KEY", "DATABASE_URL", "MASTER_KEY", "TSA_URL"):
        assert name in str(exc.value)


def test_embedded_default_settings(tmp_path: Any) -> None:
    s = Settings.from_env({"WALLET_INSTANCE": str(tmp_path)})
    assert s.database_url.startswith("sqlite:///") and s.storage_url.startswith("file://")
    assert len(s.master_key) == 32
    assert Settings.from_env({"WALLET_INSTANCE": str(tmp_path)}).master_key == s.master_key  # kept under instance/
    pg = Settings.from_env({"WALLET_INSTANCE": str(tmp_path), "DATABASE_URL": "postgres://u@h/db"})
    assert pg.database_url == "postgresql+psycopg://u@h/db"


def test_health_and_ready(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "storage": "ok"}


def test_ready_fails_when_storage_unreachable(make_app: Any, tmp_path: Any) -> None:
    app = make_app(storage_url="s3://nobucket", s3_endpoint_url="http://127.0.0.1:9")
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["code"] == "not_ready"


def test_openapi_document(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/documents" in spec["paths"]
    push = spec["paths"]["/api/v1/documents"]["post"]
    assert "multipart/form-data" in push["requestBody"]["content"]
    assert {"201", "401", "409", "413", "415", "422"} <= set(push["responses"])


def test_security_headers(client: Any) -> None:
    resp = client.get("/healthz")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Request-ID"]


def test_views_without_access_rule_refuse_to_start(settings: Settings) -> None:
    from wallet import create_app
    from wallet.rules import check_access_rules

    app = create_app(settings)

    @app.get("/forgotten")
    def forgotten() -> str:
        return "oops"

    with pytest.raises(RuntimeError, match="forgotten"):
        check_access_rules(app)
    app.extensions["wallet.runtime"].db.dispose()


def test_unknown_api_route_is_problem_json(client: Any) -> None:
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("application/problem+json")


def test_error_page_translates_and_escapes_its_detail(app: Any) -> None:
    from wallet.errors import page

    with app.test_request_context("/?lang=fr"):
        html = page(404, "not_found", "Not found", '<img src=x onerror="alert(1)">').get_data(as_text=True)
    assert "<h1>Introuvable</h1>" in html
    assert '<img src=x' not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_token_redaction() -> None:
    from wallet.security import RedactTokens, redact

    assert redact('GET /v/AbC-123_x HTTP/1.1') == "GET /v/[redacted] HTTP/1.1"
    assert redact("/v/tok/copy.pdf") == "/v/[redacted]/copy.pdf"
    assert redact("/api/v1/verify/tok?x=1") == "/api/v1/verify/[redacted]?x=1"
    # a base URL ending in "/" joined with "/" + token: the router merges the slashes (308), the log keeps them
    assert redact("GET /v//AbC-123_x HTTP/1.1") == "GET /v//[redacted] HTTP/1.1"
    assert redact("GET //api/v1//verify//tok HTTP/1.1") == "GET //api/v1//verify//[redacted] HTTP/1.1"
    assert redact("GET /V/tok HTTP/1.1") == "GET /V/[redacted] HTTP/1.1"
    assert redact("GET /verify HTTP/1.1") == "GET /verify HTTP/1.1" and redact("/v/") == "/v/"
    rec = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"%s" %s', ("GET /v/secret HTTP/1.1", 200),
                            None)
    RedactTokens().filter(rec)
    assert "secret" not in rec.getMessage()
    rec = logging.LogRecord("wallet", logging.INFO, __file__, 1, "looked at /v/%s from %s", ("tok123", "1.2.3.4"), None)
    RedactTokens().filter(rec)
    assert rec.getMessage() == "looked at /v/[redacted] from 1.2.3.4"


def _run_cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def test_audit_verify_detects_alteration_removal_reordering(app: Any) -> None:
    with app.app_context():
        sess = db.session()
        for i in range(5):
            record(sess, actor="operator", action="test.event", details={"i": i})
        db.commit()
    ok = _run_cli(app, "audit", "verify")
    assert ok.exit_code == 0 and "intact (5 events)" in ok.output

    with app.app_context():  # alter
        db.session().execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone-else"))
        db.commit()
    bad = _run_cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "event 3" in bad.output

    with app.app_context():  # restore, then remove one
        db.session().execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="operator"))
        db.session().execute(text("DELETE FROM audit_events WHERE seq = 2"))
        db.commit()
    bad = _run_cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "event 2" in bad.output


def test_audit_verify_detects_swapped_rows(app: Any) -> None:
    with app.app_context():
        sess = db.session()
        for i in range(4):
            record(sess, actor="operator", action=f"test.{i}")
        db.commit()
        rows = {e.seq: e for e in sess.execute(select(AuditEvent)).scalars()}
        a, b = rows[2], rows[3]
        fields = ("at", "actor", "action", "target", "outcome", "details", "prev_hash", "hash")
        va, vb = [getattr(a, f) for f in fields], [getattr(b, f) for f in fields]
        for f, x, y in zip(fields, va, vb):
            setattr(a, f, y)
            setattr(b, f, x)
        db.commit()
    bad = _run_cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "event 2" in bad.output


def test_audit_verify_detects_truncated_tail(app: Any) -> None:
    with app.app_context():
        sess = db.session()
        for i in range(3):
            record(sess, actor="operator", action=f"test.{i}")
        db.commit()
        sess.execute(text("DELETE FROM audit_events WHERE seq = 3"))
        db.commit()
    bad = _run_cli(app, "audit", "verify")
    assert bad.exit_code == 1


def test_agency_cli(app: Any, pki: dict[str, Any]) -> None:
    out = _run_cli(app, "agency", "add", "DGSN", "--name", "Sûreté nationale", "--types", "nationality",
                   "--ca", pki["agencies"]["MJ"]["ca"])
    assert out.exit_code == 0, out.output
    assert "API key (shown once): wk_" in out.output
    listing = _run_cli(app, "agency", "list")
    assert "DGSN" in listing.output and "wk_" in listing.output and out.output.split(": ")[-1].strip() \
        not in listing.output
    dup = _run_cli(app, "agency", "add", "DGSN", "--name", "x", "--types", "nationality")
    assert dup.exit_code != 0 and "already exists" in dup.output
    bad = _run_cli(app, "agency", "add", "X1", "--name", "x", "--types", "passport")
    assert bad.exit_code != 0 and "unknown document types" in bad.output
    rot = _run_cli(app, "agency", "rotate-key", "DGSN")
    assert rot.exit_code == 0 and "wk_" in rot.output
