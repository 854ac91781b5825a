"""Fixtures for fsck and master-key rotation: the app on each blob store (local folder, the Ceph RGW)."""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

CEPH_MISSING = 'S3_ENDPOINT_URL not set: start scripts/s3-server.sh (eval "$(scripts/s3-server.sh env)")'


@pytest.fixture(scope="session")
def ceph_bucket() -> Iterator[tuple[str, str]]:
    """A bucket on the real Ceph RGW for this session, emptied and removed at the end."""
    from wallet.storage import S3Store

    endpoint = os.environ.get("S3_ENDPOINT_URL")
    if not endpoint or not os.environ.get("AWS_ACCESS_KEY_ID") or not os.environ.get("AWS_SECRET_ACCESS_KEY"):
        pytest.skip(reason=CEPH_MISSING)
    bucket = f"wallet-fsck-{uuid.uuid4().hex[:10]}"
    store = S3Store(bucket, endpoint_url=endpoint)
    store.ensure_bucket()
    yield bucket, endpoint
    client = store.client
    with contextlib.suppress(Exception):  # best-effort clean-up of a shared test server
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for up in page.get("Uploads", []):
                client.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)


@pytest.fixture(params=["local", pytest.param("ceph", marks=pytest.mark.s3)])
def app(request: pytest.FixtureRequest, make_app: Any) -> Any:
    """The app with its blobs in a local folder, or on the Ceph RGW under a fresh prefix."""
    if request.param == "local":
        return make_app()
    bucket, endpoint = request.getfixturevalue("ceph_bucket")
    return make_app(storage_url=f"s3://{bucket}/t-{uuid.uuid4().hex[:10]}", s3_endpoint_url=endpoint)
