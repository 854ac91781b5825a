"""fsck finds each kind of damage, made by code on the real store, names it in a stable line, and repairs it."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from wallet.storage import LocalStore, S3Store

GRACE0 = ["--grace", "0"]


def rt_of(app: Any) -> Any:
    return app.extensions["wallet.runtime"]


def fsck(app: Any, *args: str) -> tuple[int, list[str]]:
    result = app.test_cli_runner().invoke(args=["fsck", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, sorted(result.stdout.splitlines())


def items_of(app: Any) -> list[Any]:
    from wallet.shares.models import ShareItem

    sess = rt_of(app).db.sessionmaker()
    try:
        return list(sess.scalars(select(ShareItem).order_by(ShareItem.id)))
    finally:
        sess.close()


def leave_temp_file(store: Any) -> str:
    """What an interrupted write leaves behind, and the line fsck prints for it."""
    if isinstance(store, LocalStore):
        folder = store.root / "ab" / "cd"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ".tmp-interrupted"
        path.write_bytes(b"half a blob")
        return f"temp_file {path}"
    assert isinstance(store, S3Store)
    key = store.object_key("documents/interrupted/original")
    upload = store.client.create_multipart_upload(Bucket=store.bucket, Key=key)
    return f"temp_file multipart:{key}:{upload['UploadId']}"


def flip_byte(store: Any, key: str) -> None:
    data = bytearray(store.get(key))
    data[len(data) // 2] ^= 0x01
    store.put(key, bytes(data))


def test_clean_wallet_is_clean(app: Any, holder: Any, issue: Any) -> None:
    doc = issue()
    assert holder.share([doc["id"]]).status_code == 201
    assert fsck(app, *GRACE0) == (0, [])
    assert fsck(app, "--quick", *GRACE0) == (0, [])


def test_every_problem_named_then_repaired(app: Any, holder: Any, issue: Any) -> None:
    from wallet.audit import AuditEvent, verify_chain
    from wallet.documents.models import Document

    store = rt_of(app).store
    gone, corrupt, fine = issue(), issue(), issue()
    shared = holder.share([fine["id"], corrupt["id"]])
    assert shared.status_code == 201
    copy_missing, copy_corrupt = sorted(items_of(app), key=lambda i: i.position)

    store.delete(f"documents/{gone['id']}/original")
    flip_byte(store, f"documents/{corrupt['id']}/original")
    store.delete(copy_missing.copy_blob_key)
    flip_byte(store, copy_corrupt.copy_blob_key)
    store.put("documents/0123456789abcdef/original", b"no row refers to me")
    store.put(f"previews/{fine['id']}/1-960.png", b"\x00\x02xx garbage")
    store.put("previews/nosuchdocument/pages.json", b"\x00\x01x")
    temp_line = leave_temp_file(store)

    expected = sorted([
        f"missing_blob document {gone['id']} documents/{gone['id']}/original",
        f"undecryptable document {corrupt['id']}",
        f"missing_blob share_item {copy_missing.id} {copy_missing.copy_blob_key}",
        f"undecryptable share_item {copy_corrupt.id}",
        "orphan_blob documents/0123456789abcdef/original",
        f"undecryptable preview previews/{fine['id']}/1-960.png",
        "orphan_blob previews/nosuchdocument/pages.json",
        temp_line,
    ])
    assert fsck(app, *GRACE0) == (1, expected)
    # young debris may be a write in flight: the default grace period leaves it alone
    assert fsck(app) == (1, [line for line in expected if not line.startswith(("orphan_blob", "temp_file"))])
    # --quick does not decrypt: it sees only what is missing (and the debris)
    assert fsck(app, "--quick", *GRACE0) == (1, [line for line in expected if not line.startswith("undecryptable")])

    code, lines = fsck(app, "--repair", *GRACE0)
    assert (code, lines) == (0, sorted(line + " repaired" for line in expected))
    assert fsck(app, *GRACE0) == (0, [])

    sess = rt_of(app).db.sessionmaker()
    try:
        docs = {d.id: d for d in sess.scalars(select(Document))}
        assert len(docs) == 3  # no row deleted
        assert docs[gone["id"]].damage == "missing_blob" and docs[corrupt["id"]].damage == "undecryptable"
        assert docs[fine["id"]].damage is None
        marks = sess.scalars(select(AuditEvent).where(AuditEvent.action == "fsck.mark_damaged")).all()
        assert sorted(e.target for e in marks) == sorted(
            [f"document:{gone['id']}", f"document:{corrupt['id']}", f"share_item:{copy_missing.id}",
             f"share_item:{copy_corrupt.id}"])
        repair = sess.scalars(select(AuditEvent).where(AuditEvent.action == "fsck.repair")).one()
        assert repair.details == {"removed": {"orphan_blob": 2, "temp_file": 1, "preview": 1}}
        assert verify_chain(sess)[0].ok
    finally:
        sess.close()
    assert not store.exists("documents/0123456789abcdef/original")

    # the holder is told, not given a 500
    r = holder.client.get(f"/api/v1/me/documents/{gone['id']}/file")
    assert r.status_code == 410 and r.get_json()["code"] == "document_damaged"
    r = holder.client.get(f"/api/v1/me/documents/{fine['id']}/file")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    token = shared.get_json()["url"].rsplit("/", 1)[-1]
    r = app.test_client().get(f"/v/{token}/copy.pdf")  # the share's first copy was marked damaged
    assert r.status_code == 410 and b"%PDF" not in r.data


def test_python_api_returns_problems(app: Any, issue: Any) -> None:
    from wallet.fsck import Problem, run

    doc = issue()
    rt_of(app).store.delete(f"documents/{doc['id']}/original")
    seen: list[Problem] = []
    problems = run(app, grace=dt.timedelta(0), report=seen.append)
    assert problems == seen == [Problem("missing_blob", ("document", doc["id"], f"documents/{doc['id']}/original"))]
    assert run(rt_of(app), repair=True, grace=dt.timedelta(0))[0].repaired
    assert run(app, grace=dt.timedelta(0)) == []


def test_store_unreachable_is_exit_2(make_app: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "fsck")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fsck")
    app = make_app(storage_url="s3://fsck-nowhere", s3_endpoint_url="http://127.0.0.1:9")
    result = app.test_cli_runner().invoke(args=["fsck"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error unavailable")
