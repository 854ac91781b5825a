"""Behaviour every BlobStore must share: LocalStore, S3Store on moto, S3Store on Ceph RGW."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from wallet.storage import BlobNotFound, BlobStore, InvalidKey

HOSTILE_KEYS = [
    "",
    "../x",
    "a/../b",
    "..",
    "/abs",
    "/etc/passwd",
    "a\x00b",
    "a//b",
    "a/",
    "./a",
    "a/./b",
    "a\\b",
    "a b",
    "é",
    "a\nb",
    "x" * 1025,
]


def test_implements_protocol(any_store: Any) -> None:
    assert isinstance(any_store, BlobStore)


def test_round_trip(any_store: BlobStore) -> None:
    blob = os.urandom(70_000) + b"\x00\xff" * 10
    any_store.put("docs/2026/abc-123.pdf.enc", blob)
    assert any_store.get("docs/2026/abc-123.pdf.enc") == blob
    assert any_store.exists("docs/2026/abc-123.pdf.enc")


def test_empty_blob(any_store: BlobStore) -> None:
    any_store.put("empty", b"")
    assert any_store.exists("empty")
    assert any_store.get("empty") == b""


def test_overwrite_replaces(any_store: BlobStore) -> None:
    any_store.put("k", b"first version, longer")
    any_store.put("k", b"second")
    assert any_store.get("k") == b"second"


def test_bytearray_and_memoryview_accepted_str_refused(any_store: BlobStore) -> None:
    any_store.put("ba", bytearray(b"abc"))  # type: ignore[arg-type]
    any_store.put("mv", memoryview(b"def"))  # type: ignore[arg-type]
    assert any_store.get("ba") == b"abc" and any_store.get("mv") == b"def"
    with pytest.raises(TypeError):
        any_store.put("s", "text")  # type: ignore[arg-type]


def test_missing_raises_blob_not_found(any_store: BlobStore) -> None:
    with pytest.raises(BlobNotFound) as exc_info:
        any_store.get("no/such/blob")
    assert isinstance(exc_info.value, KeyError)
    assert not any_store.exists("no/such/blob")


def test_delete_is_idempotent(any_store: BlobStore) -> None:
    any_store.put("gone", b"x")
    any_store.delete("gone")
    assert not any_store.exists("gone")
    with pytest.raises(BlobNotFound):
        any_store.get("gone")
    any_store.delete("gone")
    any_store.delete("never-existed")


def test_file_and_folder_like_keys_coexist(any_store: BlobStore) -> None:
    any_store.put("a", b"1")
    any_store.put("a/b", b"2")
    assert any_store.get("a") == b"1" and any_store.get("a/b") == b"2"


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=repr)
def test_hostile_keys_refused(any_store: BlobStore, key: str) -> None:
    for op in (
        lambda: any_store.put(key, b"x"),
        lambda: any_store.get(key),
        lambda: any_store.delete(key),
        lambda: any_store.exists(key),
    ):
        with pytest.raises(InvalidKey):
            op()


def test_non_str_key_refused(any_store: BlobStore) -> None:
    with pytest.raises(InvalidKey):
        any_store.get(b"bytes-key")  # type: ignore[arg-type]
    assert issubclass(InvalidKey, ValueError)


def test_ping_ok(any_store: BlobStore) -> None:
    any_store.ping()


def test_readers_never_see_a_partial_blob(any_store: BlobStore) -> None:
    """One writer alternates two large blobs under a key; readers must only ever see one or the other."""
    a, b = b"A" * 400_000, b"B" * 300_000
    any_store.put("hot", a)
    stop = threading.Event()
    seen: set[bytes] = set()
    bad: list[int] = []

    def writer() -> None:
        for i in range(15):
            any_store.put("hot", b if i % 2 == 0 else a)
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            data = any_store.get("hot")
            if data not in (a, b):
                bad.append(len(data))
            seen.add(data[:1])

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(writer), pool.submit(reader), pool.submit(reader)]
        for f in futures:
            f.result(timeout=60)
    assert not bad, f"partial blobs read: lengths {bad[:5]}"


def test_one_store_shared_by_threads(any_store: BlobStore) -> None:
    def work(i: int) -> None:
        key = f"thread/{i}"
        data = os.urandom(1000 + i)
        any_store.put(key, data)
        assert any_store.get(key) == data
        any_store.delete(key)
        assert not any_store.exists(key)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(32)))


# ---- listing (fsck) -------------------------------------------------------------------------------------


def test_iter_blobs_lists_every_key_page_by_page(any_store: BlobStore) -> None:
    keys = {f"documents/{i:02d}/original" for i in range(7)} | {"previews/x/pages.json", "a", "a/b"}
    for k in keys:
        any_store.put(k, b"v" * len(k))
    listed = list(any_store.iter_blobs(page_size=2))
    assert sorted(b.key for b in listed if b.key) == sorted(keys)
    assert all(b.size == len(b.key or "") for b in listed)
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    assert all(abs((now - b.modified).total_seconds()) < 120 for b in listed)
    assert sorted(b.key or "" for b in any_store.iter_blobs("documents/")) == sorted(
        k for k in keys if k.startswith("documents/"))


def test_remove_by_listing(any_store: BlobStore) -> None:
    any_store.put("keep", b"1")
    any_store.put("drop/me", b"2")
    (drop,) = [b for b in any_store.iter_blobs() if b.key == "drop/me"]
    any_store.remove(drop)
    any_store.remove(drop)  # idempotent
    assert not any_store.exists("drop/me") and any_store.get("keep") == b"1"


def test_no_leftovers_after_ordinary_writes(any_store: BlobStore) -> None:
    for i in range(3):
        any_store.put(f"k{i}", b"x")
    assert list(any_store.iter_leftovers()) == []
