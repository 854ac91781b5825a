"""Offline verification, the server side: the JWK set, each shared document's signed QR payload (checked with the
outside `cwt` library exactly as a relying party would), and the Token Status List bits."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import stat
import time
import zlib
from collections.abc import Callable
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cwt import COSE, COSEKey

from tests.representation.test_guardianship import GUARDIAN, MINOR, body, cli, registry  # noqa: F401 (fixture)
from tests.representation.test_proxies import GRANTOR, PROXY, grant
from wallet.present import DISPLAY_TIMEZONE


def b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwks(app: Any) -> list[dict[str, Any]]:
    r = app.test_client().get("/.well-known/wallet-keys.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Cache-Control"] == "public, max-age=3600" and r.headers["Access-Control-Allow-Origin"] == "*"
    return r.get_json()["keys"]  # type: ignore[no-any-return]


def claims_of(app: Any, qr_text: str) -> dict[Any, Any]:
    keys = [COSEKey.from_jwk(k) for k in jwks(app)]
    return cbor2.loads(COSE.new().decode(b64d(qr_text.split("#", 1)[1]), keys))  # type: ignore[no-any-return]


def status_bit(app: Any, ref: dict[str, Any]) -> int:
    # no cache clearing: a flip must show at the very next request (the revoked set is read every time)
    assert ref["uri"].startswith("http://wallet.test/api/v1/status-lists/")
    r = app.test_client().get(ref["uri"].removeprefix("http://wallet.test"))
    assert r.status_code == 200 and r.mimetype == "application/statuslist+jwt"
    assert r.headers["Cache-Control"] == "public, max-age=60" and r.headers["Access-Control-Allow-Origin"] == "*"
    h, p, sig = r.get_data(as_text=True).split(".")
    hdr = json.loads(b64d(h))
    assert hdr["alg"] == "ES256" and hdr["typ"] == "statuslist+jwt"
    jwk = next(k for k in jwks(app) if k["kid"] == hdr["kid"])
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64d(jwk["x"]), "big"), int.from_bytes(b64d(jwk["y"]), "big"),
                                        ec.SECP256R1()).public_key()
    raw = b64d(sig)
    assert len(raw) == 64
    pub.verify(utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
               f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256()))
    body = json.loads(b64d(p))
    assert body["sub"] == ref["uri"] and body["ttl"] == 300 and body["exp"] > body["iat"]
    lst = body["status_list"]
    data = zlib.decompress(b64d(lst["lst"]))
    assert lst["bits"] == 1 and len(data) == 131072 // 8
    return (data[ref["idx"] // 8] >> (ref["idx"] % 8)) & 1


def test_keys_are_a_jwk_set_from_a_private_instance_key(app: Any, settings: Any) -> None:
    keys = jwks(app)
    assert len(keys) == 1 and set(keys[0]) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (keys[0]["kty"], keys[0]["crv"], keys[0]["alg"], keys[0]["use"]) == ("EC", "P-256", "ES256", "sig")
    pem = settings.instance_path / "verify_key.pem"
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    from cryptography.hazmat.primitives import serialization

    pub = serialization.load_pem_private_key(pem.read_bytes(), None).public_key()
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert keys[0]["kid"] == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")[:16]


def test_production_refuses_to_start_without_a_verification_key(settings: Any) -> None:
    from config.settings import SettingsError
    from wallet.extensions import _offline_signer

    with pytest.raises(SettingsError, match="VERIFY_KEY_PEM"):
        _offline_signer(settings.with_(env="production"))


def test_previous_keys_are_published_after_the_current_one(settings: Any, tmp_path: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    from wallet.extensions import _offline_signer

    def pem(private: bool) -> tuple[str, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        path = tmp_path / f"{id(key)}.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()) if private else
                         key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo))
        return str(path), key

    cur, _ = pem(True)
    old, _ = pem(False)
    signer = _offline_signer(settings.with_(env="production", verify_key_pem=cur, verify_keys_previous=(old,)))
    kids = [k["kid"] for k in signer.jwks()["keys"]]
    assert len(kids) == 2 and kids[0] == signer.current.kid


def test_each_document_gets_a_signed_payload_that_an_outside_library_verifies(app: Any, holder: Any,
                                                                             issue: Callable[..., Any]) -> None:
    first, second = issue(), issue(type="nationality")
    before = int(time.time())
    r = holder.share([second["id"], first["id"]], expires_in=86400)
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert len(body["qr_texts"]) == 2 and body["qr_text"] == body["qr_texts"][0]
    seen = []
    for text, doc in zip(body["qr_texts"], (second, first), strict=True):
        assert text.startswith(body["url"] + "#") and len(text.encode()) <= 600
        claims = claims_of(app, text)
        assert claims[1] == "http://wallet.test"
        expires = int(dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp())
        assert claims[4] == expires and before <= claims[6] <= int(time.time())
        d = claims["doc"]
        assert d["typ"] == doc["type"] and d["agc"] == "MJ" and d["hid"] == holder.national_id
        assert d["hnm"] == "Amina Benali" and d["sha"] == bytes.fromhex(doc["sha256"]) and len(d["sha"]) == 32
        issued = dt.datetime.fromisoformat(doc["issued_at"].replace("Z", "+00:00")).astimezone(DISPLAY_TIMEZONE)
        assert d["isd"] == issued.date().isoformat() and "exd" in d and "pby" not in claims  # Morocco's day
        ref = claims[65535]["status_list"]
        seen.append((ref["uri"], ref["idx"]))
        assert status_bit(app, ref) == 0
    assert len(set(seen)) == 2  # one entry per document


def test_protected_header_and_an_altered_byte(app: Any, holder: Any, issue: Callable[..., Any]) -> None:
    text = holder.share([issue()["id"]]).get_json()["qr_text"]
    raw = b64d(text.split("#", 1)[1])
    msg = cbor2.loads(raw)
    assert msg.tag == 18 and msg.value[1] == {}
    assert cbor2.loads(msg.value[0]) == {1: -7, 4: jwks(app)[0]["kid"].encode()}
    at = raw.index(b"Amina")
    altered = raw[:at] + b"E" + raw[at + 1:]
    with pytest.raises(Exception):  # noqa: B017,PT011 - cwt's VerifyError: any failure is the point
        COSE.new().decode(altered, [COSEKey.from_jwk(k) for k in jwks(app)])


def test_a_long_holder_name_is_cut_to_fit_600_bytes(app: Any, citizen: Callable[..., Any],
                                                     issue: Callable[..., Any]) -> None:
    name = "عبد الرحمن بن محمد " * 11  # 209 characters, ~380 bytes
    person = citizen("LN700007", name[:200])
    text = person.share([issue("LN700007")["id"]], expires_in=86400).get_json()["qr_text"]
    assert len(text.encode()) <= 600
    hnm = claims_of(app, text)["doc"]["hnm"]
    assert hnm and name.startswith(hnm) and len(hnm) < 200


def test_status_bit_flips_on_holder_revoke_and_document_revoke(app: Any, holder: Any, issue: Callable[..., Any],
                                                              revoke: Callable[..., Any]) -> None:
    doc = issue()
    a = holder.share([doc["id"]]).get_json()
    b = holder.share([doc["id"]]).get_json()
    ra, rb = (claims_of(app, s["qr_text"])[65535]["status_list"] for s in (a, b))
    assert status_bit(app, ra) == 0 and status_bit(app, rb) == 0
    assert holder.client.delete(f"/api/v1/me/shares/{a['id']}", headers=holder.headers).status_code == 200
    assert status_bit(app, ra) == 1 and status_bit(app, rb) == 0
    revoke(doc["id"])
    assert status_bit(app, rb) == 1


def test_status_bit_flips_when_the_mandate_ends(app: Any, citizen: Callable[..., Any],
                                                issue: Callable[..., Any]) -> None:
    grantor, proxy = citizen(GRANTOR, "Amina Benali"), citizen(PROXY, "Karim Idrissi")
    record = issue(GRANTOR)
    mid = grant(grantor).get_json()["id"]
    share = proxy.share([record["id"]]).get_json()
    claims = claims_of(app, share["qr_text"])
    assert claims["pby"] == {"name": "Karim Idrissi", "role": "proxy"} and claims["doc"]["hnm"] == "Amina Benali"
    ref = claims[65535]["status_list"]
    assert status_bit(app, ref) == 0
    assert grantor.client.delete(f"/api/v1/me/mandates/{mid}", headers=grantor.headers).status_code == 200
    assert status_bit(app, ref) == 1


def test_unknown_status_lists_are_404(app: Any) -> None:
    c = app.test_client()
    for bad in ("999", "0", "abc", "1" * 30, "-1", "²", "١"):  # "²" is str.isdigit() (was a 500, schemathesis)
        r = c.get(f"/api/v1/status-lists/{bad}")
        assert r.status_code == 404 and r.get_json()["code"] == "unknown_status_list"


def test_status_bit_flips_when_the_document_is_replaced(app: Any, holder: Any, issue: Callable[..., Any]) -> None:
    doc = issue()
    ref = claims_of(app, holder.share([doc["id"]]).get_json()["qr_text"])[65535]["status_list"]
    assert status_bit(app, ref) == 0
    issue(replaces=doc["id"])
    assert status_bit(app, ref) == 1


def test_status_bit_flips_when_the_guardianship_ends(app: Any, citizen: Callable[..., Any],
                                                     issue: Callable[..., Any], registry: Callable[..., Any]) -> None:
    parent = citizen(GUARDIAN, "Fatima Zahra")
    doc = issue(MINOR)
    gid = registry("/api/v1/guardianships", body()).get_json()["id"]
    claims = claims_of(app, parent.share([doc["id"]]).get_json()["qr_text"])
    assert claims["pby"] == {"name": "Fatima Zahra", "role": "guardian"} and claims["doc"]["hid"] == MINOR
    ref = claims[65535]["status_list"]
    assert status_bit(app, ref) == 0
    assert cli(app, "guardian", "revoke", gid).exit_code == 0
    assert status_bit(app, ref) == 1


def test_the_status_list_index_names_every_list_in_use(app: Any, holder: Any, issue: Callable[..., Any]) -> None:
    c = app.test_client()
    r = c.get("/api/v1/status-lists")
    assert r.status_code == 200 and r.get_json() == {"lists": []}
    assert r.headers["Access-Control-Allow-Origin"] == "*" and r.headers["Cache-Control"].startswith("public")
    ref = claims_of(app, holder.share([issue()["id"]]).get_json()["qr_text"])[65535]["status_list"]
    lists = c.get("/api/v1/status-lists").get_json()["lists"]
    assert lists == [ref["uri"]]
