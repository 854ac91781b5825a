"""Operations endpoints: liveness and readiness."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from sqlalchemy import text

from wallet import db, rules
from wallet.errors import Unavailable
from wallet.extensions import runtime

bp = APIBlueprint("ops", __name__, tag="Operations")


@bp.get("/healthz")
@rules.public(exempt=True)
@bp.doc(summary="The process is alive (touches nothing)")
def healthz() -> Any:
    return {"status": "ok"}


@bp.get("/readyz")
@rules.public(exempt=True)
@bp.doc(summary="Database and blob store reachable")
def readyz() -> Any:
    checks = {}
    try:
        db.session().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        raise Unavailable("database unreachable", code="not_ready") from exc
    try:
        runtime().store.ping()
        checks["storage"] = "ok"
    except Exception as exc:
        raise Unavailable("blob store unreachable", code="not_ready") from exc
    return {"status": "ready", "checks": checks}
