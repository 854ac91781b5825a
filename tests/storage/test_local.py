"""LocalStore specifics: atomic writes, no debris, keys confined to the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wallet.storage import LocalStore, StorageUnavailable, open_store


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_fanned_out_under_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    for i in range(20):
        store.put(f"citizen/{i}/doc.pdf.enc", b"x")
    files = all_files(tmp_path)
    assert len(files) == 20
    for f in files:
        rel = f.relative_to(tmp_path / "blobs")
        assert len(rel.parts) == 3, rel  # two fan-out levels + file
    assert len({f.parent.parent for f in files}) > 1  # actually spread out


def test_no_temp_file_left_when_replace_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path / "blobs")
    store.put("doc", b"old")

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space"):
        store.put("doc", b"new")
    with pytest.raises(OSError):
        store.put("other", b"new")
    monkeypatch.undo()
    assert store.get("doc") == b"old"  # the previous version is intact
    assert not store.exists("other")
    assert len(all_files(tmp_path)) == 1, all_files(tmp_path)


def test_no_temp_file_left_when_fsync_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path / "blobs")

    def boom(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        store.put("doc", b"data")
    monkeypatch.undo()
    assert all_files(tmp_path) == []
    assert not store.exists("doc")


def test_no_temp_file_left_on_keyboard_interrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path / "blobs")

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.put("doc", b"data")
    monkeypatch.undo()
    assert all_files(tmp_path) == []


def test_written_file_is_complete_and_private_to_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    store.put("k", b"payload")
    (f,) = all_files(tmp_path)
    assert f.read_bytes() == b"payload"
    assert not f.name.startswith(".tmp-")


def test_relative_root_refused() -> None:
    with pytest.raises(ValueError):
        LocalStore(Path("relative/dir"))


def test_ping_reports_unusable_root(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    store = LocalStore(not_a_dir / "blobs")  # cannot be created under a file
    with pytest.raises(StorageUnavailable):
        store.ping()


def test_ping_creates_missing_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    (tmp_path / "blobs").rmdir()
    store.ping()
    assert (tmp_path / "blobs").is_dir()


def test_open_store_file_url(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/my%20blobs")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "my blobs"
    store.put("x", b"1")
    assert open_store(f"file://localhost{tmp_path}/my%20blobs").get("x") == b"1"


@pytest.mark.parametrize(
    "url",
    [
        "file://relative/path",
        "file:relative",
        "file://host.example/abs",
        "http://example.org/x",
        "/abs/path",
        "",
        "s3://",
        "file:///a?x=1",
    ],
)
def test_open_store_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        open_store(url)


def test_open_store_file_url_refuses_s3_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        open_store(f"file://{tmp_path}", endpoint_url="http://127.0.0.1:1")


def test_listing_names_keys_temp_files_and_legacy_files(tmp_path: Path) -> None:
    import hashlib

    root = tmp_path / "blobs"
    store = LocalStore(root)
    store.put("documents/1/original", b"new layout")
    # a file as earlier versions named it (the key's SHA-256 only): still read, listed without its key
    digest = hashlib.sha256(b"documents/2/original").hexdigest()
    legacy = root / digest[:2] / digest[2:4] / digest
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_bytes(b"old layout")
    assert store.get("documents/2/original") == b"old layout" and store.exists("documents/2/original")
    # a file whose name claims a key that does not hash to its folder is not taken for that key
    stray = root / "00" / "00" / "k=documents+3+original"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"misplaced")
    tmp = root / "00" / "00" / ".tmp-abc"
    tmp.write_bytes(b"half")

    listed = {b.location: b.key for b in store.iter_blobs()}
    assert listed == {str(legacy.relative_to(root)): None, "00/00/k=documents+3+original": None,
                      str(next(iter(p for p in root.rglob("k=documents+1+original"))).relative_to(root)):
                          "documents/1/original"}
    (left,) = store.iter_leftovers()
    assert left.name == str(tmp)
    store.remove_leftover(left)
    assert not tmp.exists()

    # rewriting a legacy key moves it to the new name; deleting removes every copy
    store.put("documents/2/original", b"rewritten")
    assert not legacy.exists() and store.get("documents/2/original") == b"rewritten"
    store.delete("documents/2/original")
    assert not store.exists("documents/2/original")


def test_remove_refuses_locations_outside_root(tmp_path: Path) -> None:
    import datetime as dt

    from wallet.storage import BlobInfo, InvalidKey, Leftover

    (tmp_path / "victim").write_bytes(b"x")
    store = LocalStore(tmp_path / "blobs")
    with pytest.raises(InvalidKey):
        store.remove(BlobInfo(None, "../victim", 1, dt.datetime.now(dt.UTC)))
    with pytest.raises(InvalidKey):
        store.remove_leftover(Leftover("x", dt.datetime.now(dt.UTC), ("../victim",)))
    assert (tmp_path / "victim").exists()
