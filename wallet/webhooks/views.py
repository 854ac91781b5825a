"""Agency API: the agency's own webhook deliveries. Importing this module registers the listeners and the job."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from wallet import db, rules
from wallet.agencies.auth import current_agency
from wallet.present import problem_responses
from wallet.webhooks import service
from wallet.webhooks.schemas import DeliveriesOut, DeliveriesQuery

bp = APIBlueprint("webhooks_api", __name__, url_prefix="/api/v1", tag="Agency")

AGENCY_LIMIT = "1200/minute"
PROBLEMS = problem_responses({400: "Bad limit or cursor (bad_cursor)", 401: "Bad or missing API key"})


@bp.get("/webhook-deliveries")
@rules.agency(scope="webhooks:read", limit=AGENCY_LIMIT)
@bp.input(DeliveriesQuery, location="query", arg_name="query")
@bp.output(DeliveriesOut)
@bp.doc(summary="The agency's webhook deliveries and where each stands, newest first",
        responses=PROBLEMS.only(400))
def list_deliveries(query: dict[str, Any]) -> Any:
    rows, cursor = service.list_deliveries(db.session(), current_agency(), limit=query["limit"],
                                           cursor=query.get("cursor"))
    return {"deliveries": [service.to_resource(r) for r in rows], "next_cursor": cursor}
