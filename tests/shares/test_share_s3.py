"""Share creation on the production blob store (S3 through boto3): the sealed copy is written from the share's
blob-writer thread, encrypted, and served back."""
from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.support.shares import token_of


@pytest.fixture
def app(make_app: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """This module's app keeps its blobs in S3 (moto's server on loopback)."""
    from wallet.storage import S3Store

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    bucket = f"wallet-share-{uuid.uuid4().hex[:10]}"
    S3Store(bucket, endpoint_url=moto_endpoint).ensure_bucket()
    application = make_app(storage_url=f"s3://{bucket}", s3_endpoint_url=moto_endpoint)
    application.config["TEST_BUCKET"] = (bucket, moto_endpoint)
    return application


def test_sealed_copy_goes_to_s3_encrypted_and_comes_back(app: Any, holder: Any, issue: Any,
                                                          signed_pdf: Any) -> None:
    import boto3

    original = signed_pdf("MJ", level="B-T")
    doc = issue(pdf=original)
    r = holder.share([doc["id"], doc["id"]], allow_download=True)  # the duplicate id counts once
    assert r.status_code == 201, r.get_data(as_text=True)
    token = token_of(r.get_json())

    bucket, endpoint = app.config["TEST_BUCKET"]
    s3 = boto3.client("s3", endpoint_url=endpoint)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    copies = [k for k in keys if k.startswith("shares/")]
    assert len(copies) == 1
    assert b"%PDF" not in s3.get_object(Bucket=bucket, Key=copies[0])["Body"].read()  # encrypted at rest

    copy = app.test_client().get(f"/v/{token}/copy.pdf")
    assert copy.status_code == 200
    assert copy.data.startswith(original) and len(copy.data) > len(original)  # one incremental update
