"""The audit log against an attacker who can write to the database but holds neither the audit key nor the
checkpoint key: edits re-chained without the key, deletions, truncation, checkpoint rows edited or deleted,
key rotation, the legacy (unkeyed) prefix, concurrent appends. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import concurrent.futures as cf
import datetime as dt
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, select, text, update

from config.settings import Settings, SettingsError
from wallet import db
from wallet.audit import AuditEvent, AuditHead, record
from wallet.audit_checkpoints import AuditCheckpoint


def _cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def _append(app: Any, n: int, action: str = "test.event") -> None:
    with app.app_context():
        sess = db.session()
        for i in range(n):
            record(sess, actor="operator", action=action, details={"i": i})
        db.commit()


def _sha256_digest(prev: str, seq: int, at: dt.datetime, ev: AuditEvent) -> str:
    """The old unkeyed formula (what anyone can recompute)."""
    body = json.dumps([prev, seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), ev.actor, ev.action,
                       ev.target, ev.outcome, ev.request_id, ev.details], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _wrong_key_digest(prev: str, seq: int, at: dt.datetime, ev: AuditEvent) -> str:
    body = json.dumps([2, ev.key_id, prev, seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), ev.actor,
                       ev.action, ev.target, ev.outcome, ev.request_id, ev.details], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(b"attacker-guess" * 2, body.encode(), hashlib.sha256).hexdigest()


def _rechain(app: Any, digest: Any, from_seq: int = 1, legacy: bool = False) -> None:
    """What the attacker does after an edit or a deletion: recompute every hash from ``from_seq`` (renumbering
    after a gap) and move the head, with whatever they can compute."""
    with app.app_context():
        sess = db.session()
        rows = sess.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        prev = "0" * 64
        kept = []
        for new_seq, ev in enumerate(rows, start=1):
            kept.append((ev.seq, new_seq, ev))
        sess.execute(delete(AuditEvent))
        sess.flush()
        for old_seq, new_seq, ev in kept:
            fields = {c: getattr(ev, c) for c in ("at", "actor", "action", "target", "outcome", "request_id",
                                                  "details", "chain_format", "key_id", "prev_hash", "hash")}
            if new_seq >= from_seq:
                if legacy:
                    fields["chain_format"], fields["key_id"] = 1, None
                fields["prev_hash"] = prev
                fields["hash"] = digest(prev, new_seq, ev.at, ev)
            sess.execute(AuditEvent.__table__.insert().values(seq=new_seq, **fields))
            prev = fields["hash"]
        sess.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=len(kept), hash=prev))
        db.commit()


@pytest.mark.parametrize("attack", ["sha256_as_legacy_events", "hmac_under_a_wrong_key", "sha256_kept_keyed"])
def test_edit_rechained_without_the_key_fails(app: Any, attack: str) -> None:
    _append(app, 6)
    assert _cli(app, "audit", "verify").exit_code == 0
    with app.app_context():
        db.session().execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="citizen:framed"))
        db.commit()
    if attack == "sha256_as_legacy_events":  # the whole chain rewritten as unkeyed events
        _rechain(app, _sha256_digest, from_seq=1, legacy=True)
    elif attack == "hmac_under_a_wrong_key":
        _rechain(app, _wrong_key_digest, from_seq=3)
    else:
        _rechain(app, _sha256_digest, from_seq=3)
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1, bad.output
    assert "BROKEN at event" in bad.output
    if attack != "sha256_as_legacy_events":
        assert "BROKEN at event 3:" in bad.output and "content altered" in bad.output
    else:
        assert "no keyed event" in bad.output


def test_edit_rechained_as_legacy_after_keyed_events_fails(app: Any) -> None:
    _append(app, 5)
    with app.app_context():
        db.session().execute(update(AuditEvent).where(AuditEvent.seq == 4).values(outcome="ok-forged"))
        db.commit()
    _rechain(app, _sha256_digest, from_seq=4, legacy=True)
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "BROKEN at event 4:" in bad.output and "unkeyed event after" in bad.output


def test_deleted_event_with_tail_rechained_fails(app: Any) -> None:
    _append(app, 6)
    with app.app_context():
        db.session().execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        db.commit()
    _rechain(app, _wrong_key_digest, from_seq=2)  # renumbered 3..6 -> 2..5, hashes recomputed
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "BROKEN at event 2:" in bad.output


def test_truncated_tail_is_caught_by_a_checkpoint_that_covered_it(app: Any) -> None:
    _append(app, 4)
    out = _cli(app, "audit", "checkpoint")
    assert out.exit_code == 0, out.output
    assert "checkpoint at seq 5" in out.output  # the checkpoint's own keyed event
    _append(app, 2)
    ok = _cli(app, "audit", "verify")
    assert ok.exit_code == 0 and "intact (7 events)" in ok.output and "1 signed checkpoints" in ok.output
    with app.app_context():  # drop events 4..7 and move the head back to event 3: the chain alone is consistent
        sess = db.session()
        sess.execute(delete(AuditEvent).where(AuditEvent.seq > 3))
        ev3 = sess.get(AuditEvent, 3)
        sess.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=3, hash=ev3.hash))
        db.commit()
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "BROKEN at event 4:" in bad.output and "checkpoint at seq 5" in bad.output


@pytest.mark.parametrize("field", ["head_hash", "seq", "at"])
def test_edited_checkpoint_row_fails_its_signature(app: Any, field: str) -> None:
    _append(app, 3)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    _append(app, 3)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    with app.app_context():
        sess = db.session()
        target = {"head_hash": sess.get(AuditEvent, 2).hash, "seq": 2,
                  "at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}[field]
        sess.execute(update(AuditCheckpoint).where(AuditCheckpoint.seq == 4).values({field: target}))
        db.commit()
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "checkpoint at seq" in bad.output and "bad signature" in bad.output


def test_deleted_checkpoint_row_is_caught_by_the_export(app: Any, settings: Settings) -> None:
    _append(app, 3)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    _append(app, 2)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    exported = sorted((settings.instance_path / "audit-checkpoints").iterdir())
    assert [p.name for p in exported] == ["checkpoint-00000000000000000004.json",
                                          "checkpoint-00000000000000000007.json"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o400 for p in exported)
    with app.app_context():  # the attacker removes the newest checkpoint and the events it covered
        sess = db.session()
        sess.execute(delete(AuditCheckpoint).where(AuditCheckpoint.seq == 7))
        sess.execute(delete(AuditEvent).where(AuditEvent.seq > 5))
        sess.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=5, hash=sess.get(AuditEvent, 5).hash))
        db.commit()
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "seq 7" in bad.output, bad.output


def test_edited_export_fails_its_signature(app: Any, settings: Settings) -> None:
    _append(app, 2)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    path = settings.instance_path / "audit-checkpoints" / "checkpoint-00000000000000000003.json"
    doc = json.loads(path.read_bytes())
    doc["seq"] = 2
    path.chmod(0o600)
    path.write_text(json.dumps(doc))
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "exported checkpoint" in bad.output and "bad signature" in bad.output


def test_checkpoint_export_never_overwritten(app: Any, settings: Settings) -> None:
    _append(app, 1)
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    with app.app_context():  # a replayed checkpoint at an existing seq cannot replace the exported file
        from wallet.audit_checkpoints import object_name

        export = app.extensions["wallet.runtime"].checkpoint_export
        with pytest.raises(FileExistsError):
            export.put(2, b"{}")
        assert (settings.instance_path / "audit-checkpoints" / object_name(2)).read_bytes() != b"{}"


def _key() -> bytes:
    return os.urandom(32)


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def test_key_rotation_verifies_with_the_keyring_and_fails_without_the_old_key(make_app: Any) -> None:
    old, new = _key(), _key()
    a = make_app(audit_key=old, audit_key_id="2026-a")
    _append(a, 3)
    b = make_app(audit_key=new, audit_key_id="2026-b", audit_keys_previous=f"2026-a:{_b64(old)}")
    _append(b, 2)
    ok = _cli(b, "audit", "verify")
    assert ok.exit_code == 0 and "intact (5 events)" in ok.output and "2026-a, 2026-b" in ok.output
    with b.app_context():
        ids = db.session().execute(select(AuditEvent.key_id).order_by(AuditEvent.seq)).scalars().all()
    assert ids == ["2026-a"] * 3 + ["2026-b"] * 2
    without = make_app(audit_key=new, audit_key_id="2026-b")
    bad = _cli(without, "audit", "verify")
    assert bad.exit_code == 1 and "BROKEN at event 1:" in bad.output and "not in the keyring" in bad.output
    # the old key under its id but with other bytes: the MACs do not match
    wrong = make_app(audit_key=new, audit_key_id="2026-b", audit_keys_previous=f"2026-a:{_b64(_key())}")
    bad = _cli(wrong, "audit", "verify")
    assert bad.exit_code == 1 and "BROKEN at event 1: content altered" in bad.output


def test_concurrent_appends_make_one_keyed_chain(app: Any) -> None:
    def worker(i: int) -> None:
        with app.app_context():
            for j in range(5):
                record(db.session(), actor="operator", action="test.concurrent", details={"w": i, "j": j})
                db.commit()

    with cf.ThreadPoolExecutor(6) as ex:
        list(ex.map(worker, range(6)))
    ok = _cli(app, "audit", "verify")
    assert ok.exit_code == 0 and "intact (30 events)" in ok.output, ok.output
    with app.app_context():
        seqs = db.session().execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all()
    assert seqs == list(range(1, 31))


def _legacy_rows(conn: Any, n: int) -> str:
    prev = "0" * 64
    for seq in range(1, n + 1):
        at = dt.datetime(2026, 11, 1, 12, 0, seq, tzinfo=dt.UTC)
        ev = AuditEvent(actor="operator", action="legacy.event", target=None, outcome="ok", request_id=None,
                        details={"n": seq})
        digest = _sha256_digest(prev, seq, at, ev)
        conn.execute(text("INSERT INTO audit_events (seq, at, actor, action, target, outcome, request_id, details,"
                          " prev_hash, hash) VALUES (:seq, :at, 'operator', 'legacy.event', NULL, 'ok', NULL,"
                          " :details, :prev, :hash)"),
                     {"seq": seq, "at": at, "details": json.dumps({"n": seq}), "prev": prev, "hash": digest})
        prev = digest
    conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :seq, :hash)"), {"seq": n, "hash": prev})
    return prev


def test_migration_keeps_legacy_events_verifying_up_to_the_first_keyed_one(make_app: Any, tmp_path: Path) -> None:
    from wallet.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        last_legacy = _legacy_rows(conn, 4)
    engine.dispose()
    upgrade(url)
    app = make_app(database_url=url)
    bad = _cli(app, "audit", "verify")  # only unkeyed events: indistinguishable from a rewrite
    assert bad.exit_code == 1 and "no keyed event" in bad.output and "audit checkpoint" in bad.output
    assert _cli(app, "audit", "checkpoint").exit_code == 0
    _append(app, 2)
    ok = _cli(app, "audit", "verify")
    assert ok.exit_code == 0 and "intact (7 events), keyed 3" in ok.output, ok.output
    with app.app_context():
        first = db.session().get(AuditEvent, 5)
        assert first.chain_format == 2 and first.prev_hash == last_legacy
        db.session().execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="x"))
        db.commit()
    _rechain(app, _sha256_digest, from_seq=1, legacy=True)  # legacy prefix edited and every hash recomputed
    bad = _cli(app, "audit", "verify")
    assert bad.exit_code == 1 and "BROKEN at event" in bad.output
    app.extensions["wallet.runtime"].db.dispose()


def test_embedded_default_keys_live_under_instance_0600(make_app: Any, settings: Settings) -> None:
    a = make_app()
    b = make_app()
    assert a.extensions["wallet.runtime"].audit_keyring.key_id == b.extensions["wallet.runtime"].audit_keyring.key_id
    _append(a, 1)
    assert _cli(b, "audit", "checkpoint").exit_code == 0
    for name in ("audit_key", "audit_checkpoint_key"):
        assert stat.S_IMODE((settings.instance_path / name).stat().st_mode) == 0o600


def test_production_refuses_to_start_without_audit_keys(tmp_path: Path) -> None:
    env = {"WALLET_ENV": "production", "WALLET_INSTANCE": str(tmp_path), "SECRET_KEY": "s" * 40,
           "DATABASE_URL": "postgresql://u@h/db", "STORAGE_URL": "s3://b", "MASTER_KEY": _b64(_key()),
           "TRUST_ROOTS": "/r.pem", "PUBLIC_BASE_URL": "https://w.example", "TSA_URL": "https://tsa.example",
           "SEAL_PKCS12": "/seal.p12", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    with pytest.raises(SettingsError) as exc:
        Settings.from_env(env)
    assert "AUDIT_KEY" in str(exc.value) and "AUDIT_CHECKPOINT_KEY" in str(exc.value)
    with pytest.raises(SettingsError, match="AUDIT_KEY must decode to 32 bytes"):
        Settings.from_env({**env, "AUDIT_KEY": _b64(b"short"), "AUDIT_CHECKPOINT_KEY": _b64(_key())})
    s = Settings.from_env({**env, "AUDIT_KEY": _b64(_key()), "AUDIT_CHECKPOINT_KEY": _b64(_key()),
                           "AUDIT_KEY_ID": "k2027", "AUDIT_CHECKPOINT_URL": "s3://audit-lock"})
    assert s.audit_key_id == "k2027" and s.audit_checkpoint_url == "s3://audit-lock"
    assert not (tmp_path / "audit_key").exists()
