"""Batch issuance (issue 16): POST /api/v1/batches and GET /api/v1/batches/{id}.

Each item gets the outcome and problem code a single push would give; a bad manifest is refused whole before
anything is stored; the upload is streamed (the process does not grow by the batch's size); a job run again for
a decided item changes nothing; the same batch again maps every reference to the same document."""
from __future__ import annotations

import io
import json
import os
import tracemalloc
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support import pdfgen
from wallet import db, events, jobs
from wallet.documents.batch_models import Batch, BatchItem
from wallet.documents.models import Document


def body_of(entries: list[tuple[str, bytes, dict[str, Any]]], *, manifest: str | None = None,
            extra_parts: dict[str, bytes] | None = None) -> dict[str, Any]:
    """The test client's multipart form: the manifest first, then one file part per entry."""
    data: dict[str, Any] = {}
    if manifest is None:
        manifest = json.dumps({"documents": [{"file": part, "metadata": meta} for part, _, meta in entries]})
    data["manifest"] = manifest
    for part, pdf, _ in entries:
        data[part] = (io.BytesIO(pdf), f"{part}.pdf", "application/pdf")
    for part, raw in (extra_parts or {}).items():
        data[part] = (io.BytesIO(raw), f"{part}.pdf", "application/pdf")
    return data


def post_batch(client: Any, key: str, data: dict[str, Any]) -> Any:
    return client.post("/api/v1/batches", headers={"Authorization": f"Bearer {key}"},
                       content_type="multipart/form-data", data=data)


def get_batch(client: Any, key: str, batch_id: str) -> Any:
    return client.get(f"/api/v1/batches/{batch_id}", headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    """The batch events published during the test (listeners of this test only)."""
    seen: dict[str, list[dict[str, Any]]] = {"document.rejected": [], "batch.completed": [], "document.accepted": []}
    for name, got in seen.items():
        monkeypatch.setitem(events._LISTENERS, name, [*events._LISTENERS[name],
                                                      lambda _sess, _got=got, **data: _got.append(data)])
    return seen


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Jobs are kept instead of run: the test runs them itself (``jobs.run``)."""
    kept: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(jobs, "dispatch", lambda _app, name, args, *_a, **_k: kept.append((name, tuple(args))))
    return kept


def blobs(settings: Any, prefix: str = "batches/") -> list[Any]:
    from wallet.storage import open_store

    return list(open_store(settings.storage_url).iter_blobs(prefix))


def good_and_bad(signed_pdf: Any) -> tuple[list[tuple[str, bytes, dict[str, Any]]], dict[str, str]]:
    """Three good school-style documents and one of each bad kind, with the code a single push answers."""
    entries = []
    for i in range(3):
        pdf = signed_pdf("MJ")
        entries.append((f"good{i}", pdf, dict(pdf.meta)))
    unsigned_meta = {**pdf.meta, "reference": f"UNS-{uuid.uuid4().hex[:8]}"}
    entries.append(("unsigned", pdfgen.unsigned("Pas de signature"), unsigned_meta))
    entries.append(("notpdf", b"GIF89a not a pdf at all", {**pdf.meta, "reference": f"GIF-{uuid.uuid4().hex[:8]}"}))
    mismatch = signed_pdf("MJ")
    entries.append(("mismatch", mismatch, {**mismatch.meta, "title": "Pas le titre signé"}))
    other_type = signed_pdf("MJ", type="school_report")
    entries.append(("nottype", other_type, dict(other_type.meta)))
    codes = {unsigned_meta["reference"]: "unsigned", entries[4][2]["reference"]: "not_a_pdf",
             entries[5][2]["reference"]: "metadata_mismatch", entries[6][2]["reference"]: "type_not_allowed"}
    return entries, codes


def test_batch_items_get_a_single_pushs_outcome_and_a_replay_maps_to_the_same_documents(
        client: Any, agencies: Any, signed_pdf: Any, settings: Any, published: Any) -> None:
    key = agencies["MJ"]["key"]
    entries, codes = good_and_bad(signed_pdf)
    resp = post_batch(client, key, body_of(entries))
    assert resp.status_code == 202, resp.json
    assert resp.json["status"] == "queued" and resp.json["total"] == 7
    batch_id = resp.json["id"]

    out = get_batch(client, key, batch_id).json  # eager jobs ran after the upload's commit
    assert (out["status"], out["total"], out["accepted"], out["rejected"]) == ("done", 7, 3, 4)
    assert [i["reference"] for i in out["items"]] == [m["reference"] for _, _, m in entries]
    by_ref = {i["reference"]: i for i in out["items"]}
    for _, _, meta in entries[:3]:
        item = by_ref[meta["reference"]]
        assert item["status"] == "accepted" and item["document_id"] and item["error"] is None
    for ref, code in codes.items():
        assert by_ref[ref]["status"] == "rejected" and by_ref[ref]["document_id"] is None
        assert by_ref[ref]["error"]["code"] == code, by_ref[ref]
        assert by_ref[ref]["error"]["detail"]
    assert blobs(settings) == []  # every batch file deleted once its item was decided

    # the events: one accepted per stored document, one rejected per bad item, one batch.completed
    assert sorted(e["document"].reference for e in published["document.accepted"]
                  if e["batch_id"] == batch_id) == sorted(m["reference"] for _, _, m in entries[:3])
    assert {e["reference"]: e["code"] for e in published["document.rejected"]} == codes
    assert all(e["batch_id"] == batch_id and e["agency_id"] == agencies["MJ"]["id"]
               for e in published["document.rejected"])
    [completed] = published["batch.completed"]
    assert (completed["batch"].id, completed["batch"].accepted, completed["batch"].rejected) == (batch_id, 3, 4)

    # a single push of the same documents answers the same codes
    again = post_batch(client, key, body_of(entries))
    assert again.status_code == 202
    replay = get_batch(client, key, again.json["id"]).json
    assert replay["id"] != batch_id and replay["status"] == "done"
    assert (replay["accepted"], replay["rejected"]) == (3, 4)
    for first, second in zip(out["items"], replay["items"], strict=True):
        assert first["reference"] == second["reference"]
        if first["status"] == "accepted":
            assert second["status"] == "replayed" and second["document_id"] == first["document_id"]
        else:
            assert second["status"] == "rejected" and second["error"]["code"] == first["error"]["code"]
    with client.application.app_context():
        refs = [m["reference"] for _, _, m in entries[:3]]
        assert db.session().scalar(select(func.count()).select_from(Document)
                                   .where(Document.reference.in_(refs))) == 3


def test_status_moves_from_queued_to_running_to_done_and_a_decided_item_is_never_pushed_again(
        client: Any, app: Any, agencies: Any, signed_pdf: Any, held: Any, published: Any) -> None:
    key = agencies["MJ"]["key"]
    entries = []
    for i in range(3):
        pdf = signed_pdf("MJ")
        entries.append((f"f{i}", pdf, dict(pdf.meta)))
    resp = post_batch(client, key, body_of(entries))
    assert resp.status_code == 202
    batch_id = resp.json["id"]
    assert [name for name, _ in held] == ["batches.item"] * 3
    out = get_batch(client, key, batch_id).json
    assert out["status"] == "queued" and {i["status"] for i in out["items"]} == {"pending"}

    jobs.run(app, *held[0])
    out = get_batch(client, key, batch_id).json
    assert (out["status"], out["accepted"]) == ("running", 1)
    first = out["items"][0]
    assert first["status"] == "accepted"

    jobs.run(app, *held[0])  # delivered again (a worker lost after its commit): nothing changes
    out = get_batch(client, key, batch_id).json
    assert (out["status"], out["accepted"], out["items"][0]) == ("running", 1, first)

    for job in held[1:]:
        jobs.run(app, *job)
    out = get_batch(client, key, batch_id).json
    assert (out["status"], out["accepted"], out["rejected"]) == ("done", 3, 0)
    for job in held:
        jobs.run(app, *job)
    assert get_batch(client, key, batch_id).json == out
    assert len(published["batch.completed"]) == 1
    assert len([e for e in published["document.accepted"] if e["batch_id"] == batch_id]) == 3


def test_resume_hands_pending_items_over_again(client: Any, app: Any, agencies: Any, signed_pdf: Any,
                                               held: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread backend's queue is lost with its process: `flask --app wallet batches resume` finds the
    pending items and runs them; decided ones are left alone."""
    key = agencies["MJ"]["key"]
    entries = []
    for i in range(2):
        pdf = signed_pdf("MJ")
        entries.append((f"f{i}", pdf, dict(pdf.meta)))
    batch_id = post_batch(client, key, body_of(entries)).json["id"]
    jobs.run(app, *held[0])
    held.clear()
    result = app.test_cli_runner().invoke(args=["batches", "resume", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "1 pending items" in result.output
    assert held == [("batches.item", (get_item_ids(app, batch_id)[1],))]
    jobs.run(app, *held[0])
    assert get_batch(client, key, batch_id).json["status"] == "done"


def get_item_ids(app: Any, batch_id: str) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(BatchItem.id).where(BatchItem.batch_id == batch_id)
                                         .order_by(BatchItem.position)))


def test_a_file_larger_than_a_single_push_allows_is_rejected_too_large(client: Any, agencies: Any,
                                                                        signed_pdf: Any, settings: Any) -> None:
    pdf = signed_pdf("MJ")
    big = b"%PDF-1.7\n" + os.urandom(settings.max_upload_bytes)
    big_meta = {**pdf.meta, "reference": f"BIG-{uuid.uuid4().hex[:8]}"}
    resp = post_batch(client, agencies["MJ"]["key"], body_of([("ok", pdf, dict(pdf.meta)), ("big", big, big_meta)]))
    assert resp.status_code == 202
    out = get_batch(client, agencies["MJ"]["key"], resp.json["id"]).json
    assert [(i["status"], (i["error"] or {}).get("code")) for i in out["items"]] == \
        [("accepted", None), ("rejected", "too_large")]
    assert blobs(settings) == []


def _manifest_cases() -> Iterator[Any]:
    meta = {"holder_id": "AB123456", "type": "criminal_record", "issued_at": "2026-11-30T10:00:00+00:00"}
    yield pytest.param("{not json", {"a": b"%PDF-"}, "bad_manifest", id="bad-json")
    yield pytest.param(json.dumps({"documents": [{"file": "a", "metadata": {**meta, "reference": "R1"}},
                                                 {"file": "missing", "metadata": {**meta, "reference": "R2"}}]}),
                       {"a": b"%PDF-"}, "missing_file", id="missing-file-part")
    yield pytest.param(json.dumps({"documents": [{"file": "a", "metadata": {**meta, "reference": f"R{i}"}}
                                                 for i in range(1001)]}),
                       {"a": b"%PDF-"}, "batch_too_large", id="over-1000-entries")
    yield pytest.param(json.dumps({"documents": [{"file": "a", "metadata": {**meta, "reference": "SAME"}},
                                                 {"file": "b", "metadata": {**meta, "reference": "SAME"}}]}),
                       {"a": b"%PDF-", "b": b"%PDF-"}, "duplicate_reference", id="duplicate-reference")
    yield pytest.param(json.dumps({"documents": [{"file": "a", "metadata": {**meta, "reference": "R1",
                                                                             "holder_id": "!"}}]}),
                       {"a": b"%PDF-"}, "bad_metadata", id="bad-metadata")
    yield pytest.param(json.dumps({"documents": [{"file": "a", "metadata": {**meta, "reference": "R1"}}]}),
                       {"a": b"%PDF-", "stray": b"%PDF-"}, "bad_manifest", id="part-not-in-manifest")
    yield pytest.param(json.dumps({"documents": []}), {}, "bad_manifest", id="empty")
    yield pytest.param(None, {"a": b"%PDF-"}, "bad_manifest", id="no-manifest")


@pytest.mark.parametrize(("manifest", "parts", "code"), list(_manifest_cases()))
def test_a_bad_manifest_is_refused_whole_and_nothing_is_stored(client: Any, app: Any, agencies: Any,
                                                               settings: Any, manifest: str | None,
                                                               parts: dict[str, bytes], code: str) -> None:
    data: dict[str, Any] = {p: (io.BytesIO(raw), f"{p}.pdf", "application/pdf") for p, raw in parts.items()}
    if manifest is not None:
        data = {"manifest": manifest, **data}
    resp = post_batch(client, agencies["MJ"]["key"], data)
    assert resp.status_code == 400, resp.json
    assert resp.content_type == "application/problem+json"
    assert resp.json["code"] == code
    assert blobs(settings) == []
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Batch)) == 0


@pytest.mark.parametrize("disposition", ['form-data; filename="a.pdf"', "form-data", 'form-data; name=""'])
def test_parts_without_a_name_are_refused_400_not_500(client: Any, agencies: Any, settings: Any,
                                                     disposition: str) -> None:
    """Found by schemathesis: a part whose Content-Disposition names nothing (twice) was a 500."""
    part = f'--B\r\nContent-Disposition: {disposition}\r\nContent-Type: application/pdf\r\n\r\n%PDF-\r\n'
    body = (part * 2 + "--B--\r\n").encode()
    resp = client.post("/api/v1/batches", data=body, content_type="multipart/form-data; boundary=B",
                       headers={"Authorization": f"Bearer {agencies['MJ']['key']}"})
    assert resp.status_code == 400, resp.data
    assert resp.content_type == "application/problem+json" and resp.json["code"] == "bad_manifest"
    assert blobs(settings) == []


def test_not_multipart_is_refused(client: Any, agencies: Any) -> None:
    resp = client.post("/api/v1/batches", headers={"Authorization": f"Bearer {agencies['MJ']['key']}"},
                       json={"documents": []})
    assert resp.status_code == 400 and resp.json["code"] == "bad_manifest"


def test_a_batch_over_its_byte_limit_is_413_and_leaves_nothing(make_app: Any, agencies: Any, settings: Any) -> None:
    app = make_app(batch_max_bytes=64 * 1024)
    client = app.test_client()
    meta = {"holder_id": "AB123456", "type": "criminal_record", "issued_at": "2026-11-30T10:00:00+00:00"}
    entries = [(f"f{i}", b"%PDF-" + os.urandom(30 * 1024), {**meta, "reference": f"R{i}"}) for i in range(3)]
    resp = post_batch(client, agencies["MJ"]["key"], body_of(entries))
    assert resp.status_code == 413 and resp.json["code"] == "too_large"
    assert blobs(settings) == []


def test_another_agencys_batch_is_404(client: Any, agencies: Any, signed_pdf: Any) -> None:
    pdf = signed_pdf("MJ")
    resp = post_batch(client, agencies["MJ"]["key"], body_of([("a", pdf, dict(pdf.meta))]))
    batch_id = resp.json["id"]
    other = get_batch(client, agencies["MEN"]["key"], batch_id)
    assert other.status_code == 404 and other.json["code"] == "not_found"
    assert get_batch(client, agencies["MJ"]["key"], "0" * 32).status_code == 404
    assert get_batch(client, agencies["MJ"]["key"], "x" * 200).status_code == 404
    assert client.get(f"/api/v1/batches/{batch_id}").status_code == 401


def test_the_upload_is_streamed_not_held_in_memory(make_app: Any, agencies: Any, settings: Any,
                                                   held: Any) -> None:
    """A 50 MB batch: the process allocates a few file-sized buffers (one file is encrypted at a time), far
    from the batch's size (the body is read in 64 kB chunks and each file part spooled to a temporary file)."""
    app = make_app()
    client = app.test_client()
    per_file = 2 * 1024 * 1024 - 1024  # within the tests' single-push limit (2 MB)
    count = 26
    meta = {"holder_id": "AB123456", "type": "criminal_record", "issued_at": "2026-11-30T10:00:00+00:00"}
    boundary = "batchboundary" + uuid.uuid4().hex
    manifest = json.dumps({"documents": [{"file": f"f{i}", "metadata": {**meta, "reference": f"MEM-{i}"}}
                                         for i in range(count)]})
    chunks = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"manifest\"\r\n"
              f"Content-Type: application/json\r\n\r\n{manifest}\r\n".encode()]
    filler = os.urandom(per_file - 9)
    for i in range(count):
        chunks.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"f{i}\"; filename=\"f{i}.pdf\"\r\n"
                      f"Content-Type: application/pdf\r\n\r\n".encode() + b"%PDF-1.7\n" + filler + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    body = b"".join(chunks)
    del chunks, filler
    assert len(body) > 50 * 1024 * 1024
    tracemalloc.start()
    try:
        resp = client.post("/api/v1/batches", input_stream=io.BytesIO(body), content_length=len(body),
                           content_type=f"multipart/form-data; boundary={boundary}",
                           headers={"Authorization": f"Bearer {agencies['MJ']['key']}"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.status_code == 202, resp.json
    assert resp.json["total"] == count and len(held) == count
    assert len(blobs(settings)) == count
    assert peak < 12 * 1024 * 1024, f"the upload allocated {peak / 2 ** 20:.1f} MiB at its peak"


def test_transient_faults_are_retried_and_a_give_up_is_answered_unavailable(
        client: Any, app: Any, agencies: Any, signed_pdf: Any, held: Any, settings: Any,
        monkeypatch: pytest.MonkeyPatch, published: Any) -> None:
    """Every validator busy (503) or the blob store down: TryLater, the item stays pending with its file; once
    the retries are spent the item is rejected with the code a single push would have answered."""
    from signing.sandbox import ValidatorBusy
    from wallet.documents import service
    from wallet.storage import StorageUnavailable

    key = agencies["MJ"]["key"]
    entries = []
    for i in range(2):
        pdf = signed_pdf("MJ")
        entries.append((f"f{i}", pdf, dict(pdf.meta)))
    batch_id = post_batch(client, key, body_of(entries)).json["id"]
    real_validate = service.validate_pdf

    def busy(*_a: Any, **_k: Any) -> Any:
        raise ValidatorBusy("every validator is busy")

    rt = app.extensions["wallet.runtime"]
    real_check = rt.validator.validate
    monkeypatch.setattr(rt.validator, "validate", busy)
    with pytest.raises(jobs.TryLater) as exc:
        jobs.run(app, *held[0])
    assert exc.value.after == 5.0  # the 503's Retry-After
    real_get = rt.store.get

    def down(_key: str) -> bytes:
        raise StorageUnavailable("the blob store is down")

    monkeypatch.setattr(rt.store, "get", down)
    with pytest.raises(jobs.TryLater):
        jobs.run(app, *held[0])
    out = get_batch(client, key, batch_id).json
    assert out["status"] == "queued" and len(blobs(settings)) == 2
    monkeypatch.setattr(rt.store, "get", real_get)
    monkeypatch.setattr(rt.validator, "validate", real_check)  # the validators are back
    assert service.validate_pdf is real_validate
    jobs.run(app, *held[0])
    jobs.give_up(app, *held[1], None, "still busy")
    out = get_batch(client, key, batch_id).json
    assert out["status"] == "done"
    assert [(i["status"], (i["error"] or {}).get("code")) for i in out["items"]] == \
        [("accepted", None), ("rejected", "unavailable")]
    assert blobs(settings) == []
    assert [e["code"] for e in published["document.rejected"]] == ["unavailable"]


@pytest.mark.committed_db
def test_the_embedded_thread_backend_runs_the_same_jobs(make_app: Any, settings: Any, signed_pdf: Any,
                                                        pki: Any) -> None:
    """`make run`'s default (JOBS_BACKEND=thread): the items are pushed by threads of the web process."""
    import time
    from pathlib import Path

    from wallet.agencies import service
    from wallet.demo.agencies import DEMO_AGENCIES

    app = make_app(jobs_backend="thread")
    with app.app_context():
        spec = next(a for a in DEMO_AGENCIES if a["code"] == "MJ")
        agency = service.add_agency(db.session(), "MJ", spec["name"], spec["types"], spec["names"])
        service.add_certificate(db.session(), agency, Path(pki["agencies"]["MJ"]["ca"]).read_bytes(), "ca")
        key = service.issue_key(db.session(), agency)
        db.commit()
    client = app.test_client()
    entries = []
    for i in range(3):
        pdf = signed_pdf("MJ")
        entries.append((f"f{i}", pdf, dict(pdf.meta)))
    batch_id = post_batch(client, key, body_of(entries)).json["id"]
    deadline = time.monotonic() + 60
    while get_batch(client, key, batch_id).json["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
    jobs.drain(app)
    out = get_batch(client, key, batch_id).json
    assert (out["status"], out["accepted"]) == ("done", 3)
    assert blobs(settings) == []


def test_fsck_keeps_a_pending_items_file_and_resume_removes_a_decided_items_leftover(
        client: Any, app: Any, agencies: Any, signed_pdf: Any, held: Any, settings: Any) -> None:
    """A file waiting for its worker is referenced (fsck --repair must not delete it); one left behind by a decided
    item (a worker killed between its commit and the deletion) is an orphan that `batches resume` removes."""
    from wallet.storage import open_store

    pdf = signed_pdf("MJ")
    post_batch(client, agencies["MJ"]["key"], body_of([("a", pdf, dict(pdf.meta))]))
    result = app.test_cli_runner().invoke(args=["fsck", "--repair", "--grace", "0"])
    assert "orphan_blob" not in result.output, result.output
    assert len(blobs(settings)) == 1
    store = open_store(settings.storage_url)
    store.put("batches/" + "0" * 32 + "/" + "1" * 32, b"left behind")
    result = app.test_cli_runner().invoke(args=["batches", "resume", "--older-than", "0"])
    assert result.exit_code == 0 and "1 leftover files deleted" in result.output, result.output
    assert len(blobs(settings)) == 1


def test_a_thousand_file_parts_need_one_file_descriptor(client: Any, agencies: Any, held: Any, settings: Any) -> None:
    """The parts of an upload share one temporary file: 1,000 parts under a limit of 256 open files."""
    import resource

    meta = {"holder_id": "AB123456", "type": "criminal_record", "issued_at": "2026-11-30T10:00:00+00:00"}
    entries = [(f"p{i}", b"%PDF-1.7 tiny " + str(i).encode(), {**meta, "reference": f"FD-{i}"}) for i in range(1000)]
    data = body_of(entries)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        resp = post_batch(client, agencies["MJ"]["key"], data)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert resp.status_code == 202, resp.json
    assert resp.json["total"] == 1000 and len(held) == 1000
    assert len(blobs(settings)) == 1000


def test_an_unexpected_fault_rejects_the_item_internal_error_and_the_batch_still_ends(
        client: Any, app: Any, agencies: Any, signed_pdf: Any, held: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = signed_pdf("MJ")
    batch_id = post_batch(client, agencies["MJ"]["key"], body_of([("a", pdf, dict(pdf.meta))])).json["id"]
    rt = app.extensions["wallet.runtime"]

    def broken(*_a: Any, **_k: Any) -> bytes:
        raise ValueError("a bug")

    monkeypatch.setattr(rt.envelope, "decrypt", broken)
    jobs.run(app, *held[0])
    out = get_batch(client, agencies["MJ"]["key"], batch_id).json
    assert out["status"] == "done" and out["items"][0]["error"]["code"] == "internal_error"
    assert "a bug" not in json.dumps(out)
