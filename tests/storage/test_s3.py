"""S3Store specifics: moto for speed, a real Ceph RGW for what moto cannot prove."""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.support.s3 import S3Backend, free_port
from wallet.storage import BlobNotFound, S3Store, StorageUnavailable, open_store


def test_ensure_bucket_is_idempotent(s3_backend: S3Backend) -> None:
    bucket = f"wallet-ensure-{uuid.uuid4().hex[:10]}"
    store = s3_backend.store(bucket)
    with pytest.raises(StorageUnavailable):
        store.ping()  # no such bucket yet
    store.ensure_bucket()
    store.ensure_bucket()
    store.ping()
    store.client.delete_bucket(Bucket=bucket)


def test_prefix_isolates_stores(s3_backend: S3Backend, s3_bucket: str) -> None:
    tag = uuid.uuid4().hex[:8]
    one = s3_backend.store(s3_bucket, prefix=f"{tag}/one")
    two = s3_backend.store(s3_bucket, prefix=f"/{tag}/two/")
    one.put("doc", b"1")
    assert not two.exists("doc")
    two.put("doc", b"2")
    assert one.get("doc") == b"1" and two.get("doc") == b"2"
    raw = s3_backend.store(s3_bucket)
    assert raw.get(f"{tag}/one/doc") == b"1"
    assert raw.get(f"{tag}/two/doc") == b"2"


def test_one_client_reused(s3_store: S3Store) -> None:
    client = s3_store.client
    s3_store.put("a", b"1")
    s3_store.get("a")
    s3_store.delete("a")
    assert s3_store.client is client


def test_open_store_s3_url(s3_backend: S3Backend, s3_bucket: str) -> None:
    store = open_store(
        f"s3://{s3_bucket}/via-url/",
        endpoint_url=s3_backend.endpoint_url,
        region=s3_backend.region,
        access_key=s3_backend.access_key,
        secret_key=s3_backend.secret_key,
    )
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == (s3_bucket, "via-url/")
    store.put("x", b"via url")
    assert s3_backend.store(s3_bucket).get("via-url/x") == b"via url"


def test_open_store_s3_url_without_prefix() -> None:
    store = open_store(
        "s3://some-bucket", endpoint_url="http://127.0.0.1:1", region="us-east-1", access_key="a", secret_key="b"
    )
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == ("some-bucket", "")


def test_ping_unreachable_endpoint_is_quick() -> None:
    store = S3Store(
        "b", endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1", access_key="a", secret_key="b"
    )
    t0 = time.monotonic()
    with pytest.raises(StorageUnavailable):
        store.ping()
    assert time.monotonic() - t0 < 2


def test_ping_blackholed_endpoint_times_out_quickly() -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never routed; either refused at once or the 1 s connect timeout
    store = S3Store("b", endpoint_url="http://192.0.2.1:80", region="us-east-1", access_key="a", secret_key="b")
    t0 = time.monotonic()
    with pytest.raises(StorageUnavailable):
        store.ping()
    assert time.monotonic() - t0 < 4


def test_operations_on_unreachable_endpoint_raise_storage_unavailable() -> None:
    store = S3Store(
        "b", endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1", access_key="a", secret_key="b"
    )
    t0 = time.monotonic()
    for op in (
        lambda: store.get("k"),
        lambda: store.put("k", b"x"),
        lambda: store.exists("k"),
        lambda: store.delete("k"),
    ):
        with pytest.raises(StorageUnavailable):
            op()
    assert time.monotonic() - t0 < 30  # 3 attempts each, short jittered back-off


def test_wrong_secret_key_is_rejected(s3_backend: S3Backend, s3_bucket: str) -> None:
    """Only a real server checks SigV4 signatures: this proves the Ceph run is not moto in disguise."""
    if not s3_backend.real:
        pytest.skip(reason="moto does not check signatures")
    good = s3_backend.store(s3_bucket)
    good.put("signed", b"secret document")
    forged = s3_backend.store(s3_bucket, secret_key=s3_backend.secret_key + "-wrong")
    with pytest.raises(ClientError) as exc_info:
        forged.get("signed")
    assert exc_info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as exc_info:
        forged.put("signed", b"tampered")
    assert exc_info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(StorageUnavailable):
        forged.ping()
    assert good.get("signed") == b"secret document"


def test_unknown_access_key_is_rejected(s3_backend: S3Backend, s3_bucket: str) -> None:
    if not s3_backend.real:
        pytest.skip(reason="moto accepts any access key")
    stranger = s3_backend.store(s3_bucket, access_key="NOSUCHACCESSKEY00000")
    with pytest.raises(ClientError) as exc_info:
        stranger.get("anything")
    assert exc_info.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_missing_key_in_missing_bucket(s3_backend: S3Backend) -> None:
    store = s3_backend.store(f"wallet-nobucket-{uuid.uuid4().hex[:8]}")
    with pytest.raises(ClientError) as exc_info:
        store.get("k")
    assert exc_info.value.response["Error"]["Code"] == "NoSuchBucket"
    assert not isinstance(exc_info.value, BlobNotFound)
