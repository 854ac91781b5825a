"""Operations endpoints: liveness and readiness."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from sqlalchemy import text

from wallet import db, rules
from wallet.errors import Unavailable
from wallet.extensions import runtime

BROKER_TIMEOUT = 2.0  # seconds: a load balancer's probe must not hang on a broker that does not answer


def ping_broker(url: str) -> None:
    """Raise unless the Celery broker (Redis) answers PING within :data:`BROKER_TIMEOUT`."""
    import redis  # noqa: PLC0415 - only web processes whose jobs go to Celery need it

    client = redis.Redis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT)
    try:
        if not client.ping():
            raise RuntimeError("the broker did not answer PING")
    finally:
        client.close()


bp = APIBlueprint("ops", __name__, tag="Operations")


@bp.get("/healthz")
@rules.public(exempt=True)
@bp.doc(summary="The process is alive (touches nothing)")
def healthz() -> Any:
    return {"status": "ok"}


@bp.get("/readyz")
@rules.public(exempt=True)
@bp.doc(summary="Database, blob store and (with Celery workers) the job broker reachable")
def readyz() -> Any:
    checks: dict[str, str] = {}
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
    settings = runtime().settings
    if settings.jobs_backend == "celery":
        try:
            ping_broker(settings.broker_url)
            checks["broker"] = "ok"
        except Exception as exc:
            raise Unavailable("job broker unreachable", code="not_ready") from exc
    return {"status": "ready", "checks": checks}
