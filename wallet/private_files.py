"""Files and folders that only the service's own user may read: the embedded default's database (and the WAL and
shared-memory files SQLite adds beside it), local blobs, keys, secrets and demo.json.

Each is created with its final mode (0600 files, 0700 folders), never created loose and tightened later, and the
embedded default's processes run with a 077 umask so what a library creates on its own is private as well.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Files and folders created from now on by this process (and its children) are its user's alone."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def make_private_dirs(path: Path) -> None:
    """``mkdir -p`` where every folder created gets 0700 (``Path.mkdir(parents=True)`` gives the missing
    parents the default mode); folders that already exist are left as they are."""
    missing = []
    p = Path(path)
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)  # mkdir's mode is filtered by the umask; never wider than 0700 either way


def write_private(path: Path, data: bytes | str) -> None:
    """Write ``path`` atomically, created 0600 (a temporary file beside it, renamed over it)."""
    path = Path(path)
    make_private_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, FILE_MODE)  # an existing temporary file keeps its old mode through O_CREAT
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def sqlite_path(url: str) -> Path | None:
    """The file of an ``sqlite:///`` URL; None for memory databases and other dialects."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:" or rest.startswith("file::memory:"):
        return None
    return Path(rest)


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it: SQLite gives its WAL and shared-memory files the
    mode of the database file, so they are private too. An existing database is tightened (its owner only)."""
    make_private_dirs(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    tighten_sqlite_files(path)


def tighten_sqlite_files(path: Path) -> None:
    """chmod 0600 the database and its side files when they are wider (those of a database made before)."""
    for suffix in SQLITE_SIDE_FILES:
        side = Path(f"{path}{suffix}")
        try:
            st = side.stat()
            if st.st_mode & 0o077 and st.st_uid == os.getuid():
                os.chmod(side, FILE_MODE)
        except OSError:
            continue  # absent, or not ours: nothing to do


def instance_key_file(configured: str | None, instance: Path | None, name: str,
                      make: Callable[[], bytes]) -> Path | None:
    """Where a key lives: the file its setting names (``configured``); else, in the embedded default (an
    ``instance`` folder; None in production), ``instance/<name>``, made once by ``make`` (0600). None when
    neither: production refuses to start then (the caller names the missing setting)."""
    if configured:
        return Path(configured)
    if instance is None:
        return None
    path = instance / name
    if not path.exists():
        create_once(path, make())
    return path


def create_once(path: Path, data: bytes) -> None:
    """``path`` with ``data`` (0600) unless it exists; when another process made it first, theirs is kept (a hard
    link from a private temporary file: the file is never seen half-written, never replaced)."""
    make_private_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.new.{os.getpid()}.{id(data)}")
    write_private(tmp, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
