"""Deliveries by a real Celery worker on Redis (the production path): the event recorded by the web process is
POSTed by the worker, signed with the secret set-webhook printed, and the row says delivered."""
from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.support import ROOT, start_worker, stop_worker, wait_for
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_webhooks import publish, rows, secret_of, set_webhook, verify


@pytest.mark.committed_db
def test_a_celery_worker_delivers(make_app: Any, settings: Any, agencies: Any, receiver: Receiver,
                                  tmp_path: Path, redis_url: str, database_url: str) -> None:
    queue = f"test-webhooks-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, JOBS_BACKEND="celery", CELERY_BROKER_URL=redis_url, JOBS_QUEUE=queue,
               DATABASE_URL=database_url, WALLET_INSTANCE=str(settings.instance_path), PYTHONPATH=str(ROOT),
               MASTER_KEY=base64.urlsafe_b64encode(settings.master_key).decode(),
               WEBHOOK_ALLOWED_HOSTS=receiver.host)
    app = make_app(jobs_backend="celery", broker_url=redis_url, jobs_queue=queue)
    secret = secret_of(set_webhook(app, "MJ", receiver.url))
    receiver.answer(500)
    worker = start_worker("tests.jobs.worker_app:celery", env, tmp_path, "webhooks")
    try:
        publish(app, "document.rejected", agency_id=agencies["MJ"]["id"], reference="R-9", code="unsigned",
                detail="", batch_id=None)
        wait_for(lambda: rows(app) and rows(app)[0].attempts == 1, 60)
        [row] = rows(app)
        assert (row.status, row.last_status) == ("pending", 500)  # the worker's Celery retry is 30 s away
        publish(app, "document.accepted", document=type("D", (), {"agency_id": agencies["MJ"]["id"],
                                                                  "reference": "R-10", "id": "d" * 32})(),
                replaced=None, batch_id=None)
        wait_for(lambda: any(r.status == "delivered" for r in rows(app)), 60)
        delivered = next(r for r in rows(app) if r.status == "delivered")
        assert delivered.type == "document.accepted" and delivered.attempts == 1
        got = receiver.requests[-1]
        assert got.body == delivered.body and verify(secret, got.headers["wallet-signature"], got.body)
    finally:
        stop_worker(worker)
