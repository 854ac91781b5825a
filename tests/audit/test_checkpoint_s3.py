"""Checkpoints exported to a real Ceph RGW under S3 Object Lock (COMPLIANCE): the locked version cannot be
deleted, a delete marker or a forged newer version does not hide it, a deleted table row is caught."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete

from wallet import db
from wallet.audit import record
from wallet.audit_checkpoints import AuditCheckpoint, object_name

CEPH_MISSING = 'S3_ENDPOINT_URL not set: start scripts/s3-server.sh (eval "$(scripts/s3-server.sh env)")'


@pytest.fixture
def lock_bucket() -> Iterator[tuple[Any, str, str]]:
    endpoint = os.environ.get("S3_ENDPOINT_URL")
    if not endpoint or not os.environ.get("AWS_ACCESS_KEY_ID"):
        pytest.skip(reason=CEPH_MISSING)
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    bucket = f"wallet-audit-lock-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    yield client, bucket, endpoint
    # COMPLIANCE versions stay until their retention (1 day here) ends: the bucket cannot be removed before


def _cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def test_checkpoint_is_locked_on_ceph_and_catches_a_deleted_row(make_app: Any, lock_bucket: Any) -> None:
    from botocore.exceptions import ClientError

    client, bucket, endpoint = lock_bucket
    app = make_app(audit_checkpoint_url=f"s3://{bucket}/checkpoints", audit_checkpoint_endpoint_url=endpoint,
                   audit_checkpoint_retention_days=1)
    with app.app_context():
        record(db.session(), actor="operator", action="test.event")
        db.commit()
    out = _cli(app, "audit", "checkpoint")
    assert out.exit_code == 0, out.output
    key = "checkpoints/" + object_name(2)
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"]
    ok = _cli(app, "audit", "verify")
    assert ok.exit_code == 0 and f"export s3://{bucket}/checkpoints/: 1 match" in ok.output, ok.output

    with pytest.raises(ClientError) as refused:  # the locked version cannot be deleted, even by its owner
        client.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert client.get_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])["Body"].read()

    # a delete marker hides the object from a listing, and the attacker also removes the row
    client.delete_object(Bucket=bucket, Key=key)
    with app.app_context():
        db.session().execute(delete(AuditCheckpoint))
        db.commit()
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "checkpoint at seq 2" in bad.output and "row deleted" in bad.output


def test_forged_newer_version_fails_its_signature(make_app: Any, lock_bucket: Any) -> None:
    client, bucket, endpoint = lock_bucket
    app = make_app(audit_checkpoint_url=f"s3://{bucket}", audit_checkpoint_endpoint_url=endpoint,
                   audit_checkpoint_retention_days=1)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    doc = json.loads(client.get_object(Bucket=bucket, Key=object_name(1))["Body"].read())
    doc["hash"] = "0" * 64
    client.put_object(Bucket=bucket, Key=object_name(1), Body=json.dumps(doc).encode())
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "exported checkpoint" in bad.output and "bad signature" in bad.output
