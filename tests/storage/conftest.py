"""Fixtures for the blob-store tests.

S3 backends:
* ``moto``  -- moto's ThreadedMotoServer over real HTTP on 127.0.0.1 (always available; does not
  check signatures);
* ``ceph``  -- a real Ceph RADOS Gateway, used when ``S3_ENDPOINT_URL`` (and the ``AWS_*`` keys) are
  in the environment: ``scripts/s3-server.sh start && eval "$(scripts/s3-server.sh env)"``.
  Otherwise those tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.s3 import S3Backend
from wallet.storage import LocalStore, S3Store

CEPH_MISSING = 'S3_ENDPOINT_URL not set: start scripts/s3-server.sh (eval "$(scripts/s3-server.sh env)")'


@pytest.fixture(scope="session")
def moto_backend(moto_endpoint: str) -> S3Backend:
    return S3Backend("moto", moto_endpoint, "testing", "testing", "us-east-1", real=False)


@pytest.fixture(scope="session")
def ceph_backend() -> S3Backend:
    endpoint = os.environ.get("S3_ENDPOINT_URL")
    if not endpoint:
        pytest.skip(reason=CEPH_MISSING)
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not access or not secret:
        pytest.skip(reason='AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set: eval "$(scripts/s3-server.sh env)"')
    return S3Backend("ceph", endpoint, access, secret, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), real=True)


@pytest.fixture(
    scope="session",
    params=[pytest.param("moto"), pytest.param("ceph", marks=pytest.mark.s3)],
)
def s3_backend(request: pytest.FixtureRequest) -> S3Backend:
    return request.getfixturevalue(f"{request.param}_backend")


class _Buckets:
    """One bucket per backend and test session (per xdist worker), emptied and removed at the end."""

    def __init__(self) -> None:
        self._made: dict[str, tuple[S3Backend, str]] = {}

    def get(self, backend: S3Backend) -> str:
        if backend.name not in self._made:
            bucket = f"wallet-test-{uuid.uuid4().hex[:12]}"
            backend.store(bucket).ensure_bucket()
            self._made[backend.name] = (backend, bucket)
        return self._made[backend.name][1]

    def cleanup(self) -> None:
        for backend, bucket in self._made.values():
            client = backend.store(bucket).client
            # best-effort clean-up of a throwaway server
            with contextlib.suppress(Exception):
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                    for obj in page.get("Contents", []):
                        client.delete_object(Bucket=bucket, Key=obj["Key"])
                client.delete_bucket(Bucket=bucket)


@pytest.fixture(scope="session")
def buckets() -> Iterator[_Buckets]:
    b = _Buckets()
    yield b
    b.cleanup()


def _new_s3_store(backend: S3Backend, buckets: _Buckets) -> S3Store:
    """An S3Store on a fresh key prefix, so tests never see each other's objects."""
    return backend.store(buckets.get(backend), prefix=f"t-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def s3_bucket(s3_backend: S3Backend, buckets: _Buckets) -> str:
    return buckets.get(s3_backend)


@pytest.fixture
def s3_store(s3_backend: S3Backend, buckets: _Buckets) -> S3Store:
    return _new_s3_store(s3_backend, buckets)


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "blobs")


@pytest.fixture(params=["local", "moto", pytest.param("ceph", marks=pytest.mark.s3)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path, buckets: _Buckets) -> Any:
    """Every backend, for behaviour that must be identical (LocalStore, moto, Ceph)."""
    if request.param == "local":
        return LocalStore(tmp_path / "blobs")
    return _new_s3_store(request.getfixturevalue(f"{request.param}_backend"), buckets)
