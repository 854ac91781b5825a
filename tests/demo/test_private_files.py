"""Every file of the embedded default is its user's only: 0600 files, 0700 folders, whatever the umask it starts
with (the usual 022 made the database and its WAL world-readable).

The real set-up code runs into a temporary instance folder: ``python -m wallet.demo.prepare`` (what ``make run``
and the Procfile's embedded default run first), then the app on that instance writes to its database (SQLite
creates the WAL and shared-memory files then) and to its blob store, and every mode is read with os.stat.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WRITER = r"""
import json, os, sys
from pathlib import Path
from wallet import create_app
app = create_app()
rt = app.extensions["wallet.runtime"]
engine = rt.db.engine
with engine.begin() as c:  # a write: SQLite creates the WAL and SHM beside the database now
    c.exec_driver_sql("PRAGMA user_version = 7")
conn = engine.connect()  # held open, so the WAL is still there when the modes are read
conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()
rt.store.put("documents/probe/blob", b"ciphertext")
instance = Path(sys.argv[1])
modes = {str(p.relative_to(instance)): oct(p.stat().st_mode & 0o777) for p in [instance, *instance.rglob("*")]}
print(json.dumps(modes))
conn.close()
"""


def _env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "STORAGE_URL", "WALLET_ENV", "TRUST_ROOTS", "MASTER_KEY", "SECRET_KEY")}
    env.update(WALLET_INSTANCE=str(instance), PYTHONDONTWRITEBYTECODE="1")
    return env


def test_make_run_set_up_creates_private_files_only(tmp_path: Path) -> None:
    instance = tmp_path / "nested" / "instance"
    subprocess.run([sys.executable, "-m", "wallet.demo.prepare"], cwd=ROOT, env=_env(instance), check=True,
                   umask=0o022, capture_output=True, timeout=300)
    out = subprocess.run([sys.executable, "-c", WRITER, str(instance)], cwd=ROOT, env=_env(instance), check=True,
                         umask=0o022, capture_output=True, text=True, timeout=120)
    modes: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    # what the set-up is expected to have made, so that an empty walk cannot pass
    for name in ("wallet.sqlite3", "wallet.sqlite3-wal", "wallet.sqlite3-shm", "secret_key", "master_key",
                 "demo-secrets.json", "demo.pending.json", "pki/root.pem", "pki/keys/root.key.pem",
                 "pki/platform/seal.p12", "pki/agencies/MJ/signer.p12", "pki/tsa/tsa.key.pem", "blobs"):
        assert name in modes, (name, sorted(modes))
    blobs = [n for n in modes if n.startswith("blobs/") and (instance / n).is_file()]
    assert len(blobs) == 1
    for name, mode in modes.items():
        path = instance / name if name != "." else instance
        want = "0o700" if path.is_dir() else "0o600"
        assert mode == want, (name, mode)
    assert stat.S_IMODE((tmp_path / "nested").stat().st_mode) == 0o700  # the parent the set-up created


@contextmanager
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_sqlite_files_are_private_without_the_umask(tmp_path: Path) -> None:
    """The database is created 0600 before SQLite opens it (its WAL and SHM take that mode) even when the
    process kept a loose umask: a flask CLI command, a test, an operator's shell."""
    from wallet.db import make_engine

    db = tmp_path / "db" / "w.sqlite3"
    with loose_umask():
        engine = make_engine(f"sqlite:///{db}")
        with engine.begin() as c:
            c.exec_driver_sql("CREATE TABLE t (x)")
            c.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn = engine.connect()
        conn.exec_driver_sql("SELECT * FROM t").all()
        try:
            for suffix in ("", "-wal", "-shm"):
                assert _mode(Path(f"{db}{suffix}")) == 0o600, suffix
            assert _mode(db.parent) == 0o700
        finally:
            conn.close()
            engine.dispose()


def test_an_old_world_readable_database_is_tightened_on_connect(tmp_path: Path) -> None:
    from wallet.db import make_engine

    db = tmp_path / "old.sqlite3"
    import sqlite3

    with loose_umask():
        con = sqlite3.connect(db)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (x)")
        con.commit()
        assert _mode(db) == 0o644 and _mode(Path(f"{db}-wal")) == 0o644  # what main left behind
        engine = make_engine(f"sqlite:///{db}")
        with engine.connect() as c:
            c.exec_driver_sql("SELECT * FROM t").all()
            assert _mode(db) == 0o600 and _mode(Path(f"{db}-wal")) == 0o600 and _mode(Path(f"{db}-shm")) == 0o600
        engine.dispose()
        con.close()


def test_local_store_folders_and_files_are_private(tmp_path: Path) -> None:
    from wallet.storage import LocalStore

    root = tmp_path / "a" / "b" / "blobs"
    with loose_umask():
        store = LocalStore(root)
        for i in range(5):
            store.put(f"documents/{i}/file", b"x" * i)
    made = [root.parent.parent, root.parent, root, *root.rglob("*")]
    assert sum(p.is_file() for p in made) == 5
    for p in made:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), p


def test_write_private_replaces_a_loose_file(tmp_path: Path) -> None:
    from wallet.private_files import write_private

    target = tmp_path / "demo.json"
    with loose_umask():
        target.write_text("{}")
        assert _mode(target) == 0o644
        write_private(target, '{"base_url": "x"}')
    assert _mode(target) == 0o600 and json.loads(target.read_text()) == {"base_url": "x"}
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]  # no temporary file left


def test_demo_pki_is_private_without_the_umask(tmp_path: Path) -> None:
    from signing.demo_pki import generate_demo_pki

    out = tmp_path / "x" / "pki"
    with loose_umask():
        generate_demo_pki(out, [("MJ", "Ministère de la Justice")])
    paths = [out.parent, out, *out.rglob("*")]
    assert any(p.suffix == ".p12" for p in paths) and any(p.name.endswith(".key.pem") for p in paths)
    for p in paths:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), p
