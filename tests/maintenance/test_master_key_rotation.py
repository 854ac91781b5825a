"""keys rotate-master: every wrapped value moves to the new master key, blobs untouched, resumable."""
from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from wallet.crypto import DecryptionError, Envelope, Sealed


def rt_of(app: Any) -> Any:
    return app.extensions["wallet.runtime"]


def keyed(make_app: Any, app: Any, master_key: bytes, previous: tuple[bytes, ...] = ()) -> Any:
    """Another app on the same database and blob store, with its own keyring."""
    s = app.config["WALLET_SETTINGS"]
    return make_app(master_key=master_key, master_keys_previous=previous, storage_url=s.storage_url,
                    s3_endpoint_url=s.s3_endpoint_url)


def wallet_contents(app: Any) -> dict[str, Any]:
    """Every document, sealed copy, TOTP seed and preview, read through the app's keyring."""
    from wallet.citizens.models import Citizen
    from wallet.citizens.credentials import totp_aad
    from wallet.documents.models import Document
    from wallet.documents.service import read_original
    from wallet.fsck import preview_aad_of, unpack_preview
    from wallet.shares.models import ShareItem
    from wallet.shares.service import read_copy
    from wallet.webhooks.models import WebhookEndpoint
    from wallet.webhooks.service import secret_aad

    rt = rt_of(app)
    sess = rt.db.sessionmaker()
    try:
        out: dict[str, Any] = {}
        for doc in sess.scalars(select(Document)):
            out[f"document {doc.id}"] = read_original(rt, doc)
        for item in sess.scalars(select(ShareItem)):
            out[f"share_item {item.id}"] = read_copy(rt, item)
        for c in sess.scalars(select(Citizen)):
            out[f"citizen {c.id}"] = rt.envelope.decrypt_small(c.totp_secret_enc, totp_aad(c.id))
        for w in sess.scalars(select(WebhookEndpoint)):
            out[f"webhook {w.agency_id}"] = rt.envelope.decrypt_small(w.secret_enc, secret_aad(w.agency_id))
        for info in rt.store.iter_blobs("previews/"):
            out[f"preview {info.key}"] = rt.envelope.decrypt(unpack_preview(rt.store.get(info.key)),
                                                              preview_aad_of(info.key)[1])
        return out
    finally:
        sess.close()


def wrapped_values(app: Any) -> list[bytes]:
    from wallet.citizens.models import Citizen
    from wallet.documents.models import Document
    from wallet.fsck import unpack_preview
    from wallet.shares.models import ShareItem
    from wallet.webhooks.models import WebhookEndpoint

    rt = rt_of(app)
    sess = rt.db.sessionmaker()
    try:
        values = list(sess.scalars(select(Document.wrapped_key)))
        values += list(sess.scalars(select(ShareItem.copy_wrapped_key)))
        values += list(sess.scalars(select(Citizen.totp_secret_enc)))
        values += list(sess.scalars(select(WebhookEndpoint.secret_enc)))
    finally:
        sess.close()
    values += [unpack_preview(rt.store.get(b.key)).wrapped_key for b in rt.store.iter_blobs("previews/")]
    return values


@pytest.fixture
def filled(app: Any, holder: Any, issue: Any, agencies: Any) -> dict[str, Any]:
    """Documents, two sealed shares, a cached preview and a webhook secret under the app's (old) master key."""
    from wallet import db
    from wallet.agencies.service import get_by_code
    from wallet.citizens.previews import _store, preview_aad, preview_key
    from wallet.webhooks.service import set_webhook

    docs = [issue() for _ in range(3)]
    assert holder.share([docs[0]["id"], docs[1]["id"]]).status_code == 201
    assert holder.share([docs[2]["id"]]).status_code == 201
    _store(rt_of(app), preview_key(docs[0]["id"], 1, 480), preview_aad(docs[0]["id"], 1, 480), b"PNG bytes")
    with app.app_context(), db.transaction() as sess:
        set_webhook(sess, rt_of(app).envelope, get_by_code(sess, "MJ"), "https://hooks.example.org/",
                    ("hooks.example.org",))
    contents = wallet_contents(app)
    assert len(contents) == 3 + 3 + 1 + 1 + 1
    return contents


def blobs_of(app: Any, prefix: str) -> dict[str, bytes]:
    store = rt_of(app).store
    return {b.key: store.get(b.key) for b in store.iter_blobs(prefix)}


def test_rotate_then_only_the_new_key_reads_everything(app: Any, make_app: Any, filled: dict[str, Any]) -> None:
    from wallet.fsck import run
    from wallet.keys import remaining, rotate

    old, new = app.config["WALLET_SETTINGS"].master_key, os.urandom(32)
    before = {**blobs_of(app, "documents/"), **blobs_of(app, "shares/")}
    ring = keyed(make_app, app, new, (old,))
    result = rotate(rt_of(ring))
    assert result.failed == []
    assert result.rewrapped == {"document": 3, "share_item": 3, "citizen_totp": 1, "webhook_secret": 1,
                                "preview": 1}
    assert remaining(rt_of(ring)) == {"document": 0, "share_item": 0, "citizen_totp": 0, "webhook_secret": 0}
    assert rotate(rt_of(ring)).rewrapped == {"document": 0, "share_item": 0, "citizen_totp": 0,
                                                   "webhook_secret": 0, "preview": 0}

    only_new = keyed(make_app, app, new)
    assert wallet_contents(only_new) == filled
    # blobs were not re-encrypted
    assert {**blobs_of(only_new, "documents/"), **blobs_of(only_new, "shares/")} == before
    # every old wrapped value was replaced: the old key alone opens none of them
    old_ring = Envelope(old)
    values = wrapped_values(only_new)
    assert len(values) == 9 and all(Envelope(new).is_current(v) for v in values)
    doc_value = values[0]
    with pytest.raises(DecryptionError):
        old_ring.rewrap(doc_value, "anything")
    with pytest.raises(DecryptionError):
        wallet_contents(keyed(make_app, app, old))
    assert run(only_new, grace=__import__("datetime").timedelta(0)) == []


def test_interrupted_rotation_stays_readable_and_finishes(app: Any, make_app: Any,
                                                          filled: dict[str, Any]) -> None:
    from wallet.keys import remaining, rotate

    old, new = app.config["WALLET_SETTINGS"].master_key, os.urandom(32)
    ring = keyed(make_app, app, new, (old,))

    class Crash(Exception):
        pass

    def crash(kind: str, n: int) -> None:
        raise Crash(kind)

    with pytest.raises(Crash):
        rotate(rt_of(ring), batch=1, after_batch=crash)  # dies right after the first committed batch
    left = remaining(rt_of(ring))
    assert left["document"] == 2 and left["share_item"] == 3  # half-way: one value moved, the rest did not
    assert wallet_contents(ring) == filled  # both keys on the ring: everything reads
    assert wallet_contents(keyed(make_app, app, new, (old,))) == filled

    assert rotate(rt_of(ring), batch=1).failed == []
    assert remaining(rt_of(ring)) == {"document": 0, "share_item": 0, "citizen_totp": 0, "webhook_secret": 0}
    assert wallet_contents(keyed(make_app, app, new)) == filled


def test_embedded_default_rotates_with_new_key_and_keeps_serving(make_app: Any, settings: Any, holder: Any,
                                                                 issue: Any) -> None:
    """`make run`'s keyring lives under instance/: --new-key rotates it there; the running app follows."""
    from config.settings import instance_keyring

    doc = issue()
    app = holder.client.application
    current, previous = instance_keyring(settings.instance_path)
    embedded = keyed(make_app, app, current, previous)
    assert rt_of(embedded).envelope.reloadable
    # the holder's document, re-wrapped under the embedded key by a rotation from the test app's key
    from wallet.keys import rotate

    rotate(rt_of(keyed(make_app, app, current, (app.config["WALLET_SETTINGS"].master_key,))))
    before = wallet_contents(embedded)
    result = embedded.test_cli_runner().invoke(args=["keys", "rotate-master", "--new-key"])
    assert result.exit_code == 0, result.output
    assert "left under other keys: document 0, share_item 0, citizen_totp 0, webhook_secret 0" in result.stdout
    new, previous = instance_keyring(settings.instance_path)
    assert new != current and current in previous
    assert (settings.instance_path / "master_key").stat().st_mode & 0o777 == 0o600
    assert wallet_contents(keyed(make_app, app, new)) == before  # a fresh start with the new key alone
    assert doc["id"] in {k.split()[1] for k in before}


def test_production_refuses_new_key_flag(make_app: Any) -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["keys", "rotate-master", "--new-key"])
    assert result.exit_code != 0 and "embedded default" in result.output


def test_first_format_values_still_read_and_rotate() -> None:
    """Values written before key ids existed (0x01 || nonce || ...) open under any key on the ring."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    old, new = os.urandom(32), os.urandom(32)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    legacy_wrapped = b"\x01" + nonce + AESGCM(old).encrypt(nonce, data_key, b"key|document:1:original")
    n2 = os.urandom(12)
    blob = b"\x01" + n2 + AESGCM(data_key).encrypt(n2, b"pdf", b"document:1:original")
    ring = Envelope(new, (old,))
    assert ring.decrypt(Sealed(legacy_wrapped, blob), "document:1:original") == b"pdf"
    assert not ring.is_current(legacy_wrapped)
    moved = ring.rewrap(legacy_wrapped, "document:1:original")
    assert Envelope(new).decrypt(Sealed(moved, blob), "document:1:original") == b"pdf"
    with pytest.raises(DecryptionError):
        Envelope(new).decrypt(Sealed(legacy_wrapped, blob), "document:1:original")


def test_keyring_from_environment(tmp_path: Any) -> None:
    import base64

    from config.settings import Settings, SettingsError

    a, b, c = (os.urandom(32) for _ in range(3))
    enc = [base64.urlsafe_b64encode(k).decode().rstrip("=") for k in (a, b, c)]
    s = Settings.from_env({"WALLET_INSTANCE": str(tmp_path), "MASTER_KEY": enc[0],
                           "MASTER_KEYS_PREVIOUS": f"{enc[1]}, {enc[2]}"})
    assert s.master_key == a and s.master_keys_previous == (b, c)
    assert not (tmp_path / "master_key").exists()  # an explicit key: nothing generated under instance/
    with pytest.raises(SettingsError, match="MASTER_KEYS_PREVIOUS"):
        Settings.from_env({"WALLET_INSTANCE": str(tmp_path), "MASTER_KEY": enc[0], "MASTER_KEYS_PREVIOUS": "short"})
    with pytest.raises(SettingsError, match="MASTER_KEY"):
        Settings.from_env({"WALLET_ENV": "production", "WALLET_INSTANCE": str(tmp_path)})
    embedded = Settings.from_env({"WALLET_INSTANCE": str(tmp_path)})
    assert len(embedded.master_key) == 32 and embedded.master_keys_previous == ()
    assert Settings.from_env({"WALLET_INSTANCE": str(tmp_path)}).master_key == embedded.master_key
