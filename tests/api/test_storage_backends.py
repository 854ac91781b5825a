"""The issuance path on the production blob store (S3 through boto3), and no orphan after a failed commit."""
from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from wallet import db
from wallet.documents.models import Document
from wallet.storage import S3Store


@pytest.fixture(params=["moto", pytest.param("ceph", marks=pytest.mark.s3)])
def s3_app(request: Any, make_app: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    if request.param == "ceph":
        endpoint = os.environ.get("S3_ENDPOINT_URL")
        if not endpoint:
            pytest.skip(reason='S3_ENDPOINT_URL not set: start scripts/s3-server.sh (eval "$(scripts/s3-server.sh env)")')
    else:
        endpoint = moto_endpoint
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    bucket = f"wallet-app-{uuid.uuid4().hex[:10]}"
    S3Store(bucket, endpoint_url=endpoint).ensure_bucket()
    return make_app(storage_url=f"s3://{bucket}", s3_endpoint_url=endpoint)


def test_push_and_read_back_through_s3(s3_app: Any, agencies: Any, signed_pdf: Any) -> None:
    import io
    import json

    from wallet.documents.service import read_original

    client = s3_app.test_client()
    assert client.get("/readyz").status_code == 200
    meta = {"holder_id": "AB123456", "type": "criminal_record", "reference": "S3-1",
            "issued_at": "2026-11-01T10:00:00+00:00"}
    pdf = signed_pdf("MJ", **meta)  # the metadata signed in document.json
    resp = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {agencies['MJ']['key']}"},
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(pdf), "a.pdf"), "metadata": json.dumps(meta)})
    assert resp.status_code == 201, resp.get_json()
    rt = s3_app.extensions["wallet.runtime"]
    with s3_app.app_context():
        doc = db.session().get(Document, resp.get_json()["id"])
        raw = rt.store.get(doc.blob_key)
        assert b"%PDF" not in raw  # encrypted before it leaves the process
        assert read_original(rt, doc) == pdf


def test_failed_commit_leaves_no_blob_and_no_row(app: Any, push: Any, signed_pdf: Any, settings: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.orm import Session

    real_commit = Session.commit
    calls = {"n": 0}

    def failing_commit(self: Session) -> None:
        calls["n"] += 1
        raise RuntimeError("database went away")

    monkeypatch.setattr(Session, "commit", failing_commit)
    resp = push(signed_pdf("MJ"))
    monkeypatch.setattr(Session, "commit", real_commit)
    assert calls["n"] >= 1
    assert resp.status_code == 500
    assert resp.get_json()["code"] == "internal_error"
    assert "database went away" not in resp.get_data(as_text=True)  # no internals leak
    blobs = settings.instance_path / "blobs"
    assert not blobs.exists() or not [p for p in blobs.rglob("*") if p.is_file()]
    with app.app_context():
        assert db.session().execute(select(func.count()).select_from(Document)).scalar_one() == 0
