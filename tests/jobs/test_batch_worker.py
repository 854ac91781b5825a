"""Batch issuance on real Celery workers (Redis): a worker killed in the middle of a batch, inside an item's
transaction, loses nothing and stores nothing twice; another worker finishes the batch."""
from __future__ import annotations

import io
import json
import os
import pickle
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.jobs.support import ROOT, start_worker, stop_worker, wait_for
from wallet import db
from wallet.documents.batch_models import BatchItem
from wallet.documents.models import Document

APP = "tests.jobs.batch_worker_app:celery"


@pytest.mark.committed_db
def test_a_worker_killed_mid_batch_leaves_every_reference_stored_exactly_once(
        make_app: Any, settings: Any, tmp_path: Path, redis_url: str, signed_pdf: Any,
        pki: Any) -> None:
    queue = f"test-batch-{uuid.uuid4().hex[:12]}"
    pickled = tmp_path / "settings.pickle"
    pickled.write_bytes(pickle.dumps(settings))
    decided = tmp_path / "decided.log"
    env = dict(os.environ, CELERY_BROKER_URL=redis_url, JOBS_QUEUE=queue, TEST_SETTINGS_PICKLE=str(pickled),
               TEST_DECIDED_LOG=str(decided), PYTHONPATH=str(ROOT))
    app = make_app(jobs_backend="celery", broker_url=redis_url, jobs_queue=queue, jobs_visibility_seconds=5)
    client = app.test_client()
    from wallet.agencies import service
    from wallet.demo.agencies import DEMO_AGENCIES

    with app.app_context():
        spec = next(a for a in DEMO_AGENCIES if a["code"] == "MJ")
        agency = service.add_agency(db.session(), "MJ", spec["name"], spec["types"], spec["names"])
        service.add_certificate(db.session(), agency, Path(pki["agencies"]["MJ"]["ca"]).read_bytes(), "ca")
        key = service.issue_key(db.session(), agency)
        db.commit()
    count = 6
    pdfs = [signed_pdf("MJ") for _ in range(count)]
    data: dict[str, Any] = {"manifest": json.dumps(
        {"documents": [{"file": f"f{i}", "metadata": pdf.meta} for i, pdf in enumerate(pdfs)]})}
    for i, pdf in enumerate(pdfs):
        data[f"f{i}"] = (io.BytesIO(pdf), f"f{i}.pdf", "application/pdf")

    first = start_worker(APP, {**env, "TEST_DECIDE_SLEEP": "30"}, tmp_path, "first")
    second = None
    try:
        resp = client.post("/api/v1/batches", headers={"Authorization": f"Bearer {key}"},
                           content_type="multipart/form-data", data=data)
        assert resp.status_code == 202, resp.json
        batch_id = resp.json["id"]
        # the first worker decided its first item and sleeps inside that item's transaction: kill it there
        wait_for(lambda: decided.exists() and decided.read_text().strip(), 90)
        [(pid, killed_item)] = [line.split() for line in decided.read_text().split("\n") if line]
        assert int(pid) == first.pid
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)

        def status() -> dict[str, Any]:
            return client.get(f"/api/v1/batches/{batch_id}", headers={"Authorization": f"Bearer {key}"}).json

        assert status()["status"] == "queued"  # the killed item's outcome was never committed
        second = start_worker(APP, env, tmp_path, "second")
        wait_for(lambda: status()["status"] == "done", 120)
        out = status()
        assert (out["accepted"], out["rejected"]) == (count, 0), out
        assert {i["status"] for i in out["items"]} == {"accepted"}
        with app.app_context():
            sess = db.session()
            refs = [pdf.meta["reference"] for pdf in pdfs]
            per_ref = dict(sess.execute(select(Document.reference, func.count()).where(
                Document.reference.in_(refs)).group_by(Document.reference)).all())
            assert per_ref == dict.fromkeys(refs, 1)
            assert {i["document_id"] for i in out["items"]} == set(sess.scalars(
                select(Document.id).where(Document.reference.in_(refs))))
            assert sess.scalar(select(func.count()).select_from(BatchItem)
                               .where(BatchItem.blob_key.is_not(None))) == 0
        lines = [line.split() for line in decided.read_text().split("\n") if line]
        # the killed item was decided again, by the second worker; every item once by it
        assert sorted(item for p, item in lines if int(p) == second.pid) == sorted(
            i for i in _item_ids(app, batch_id))
        assert killed_item in {item for p, item in lines if int(p) == second.pid}
        from wallet.storage import open_store

        assert list(open_store(settings.storage_url).iter_blobs("batches/")) == []
    finally:
        stop_worker(first)
        stop_worker(second)


def _item_ids(app: Any, batch_id: str) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(BatchItem.id).where(BatchItem.batch_id == batch_id)))
