"""No network during validation (SSRF), the demo PKI's shape, the trust store."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from signing.demo_pki import generate_demo_pki
from signing.errors import TrustStoreError
from signing.issuance import decide_issuance
from signing.trust import TrustStore
from signing.validation import validate_pdf
from tests.support import pdfgen as g


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signer_with_urls(demo_pki: dict[str, Any], tmp_path: Path) -> Any:
    """An MJ signer certificate whose AIA (OCSP, caIssuers) and CRL DP point at a closed loopback port."""
    base = f"http://127.0.0.1:{_closed_port()}"
    ca_cert = cx509.load_pem_x509_certificate(Path(demo_pki["agencies"]["MJ"]["ca"]).read_bytes())
    root_cert = cx509.load_pem_x509_certificate(Path(demo_pki["root"]).read_bytes())
    ca_key = serialization.load_pem_private_key((Path(demo_pki["keys_dir"]) / "mj-ca.key.pem").read_bytes(), None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(
            cx509.Name(
                [
                    cx509.NameAttribute(NameOID.COMMON_NAME, "MJ signer with URLs"),
                    cx509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "MJ"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(cx509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(
            cx509.AuthorityInformationAccess(
                [
                    cx509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, cx509.UniformResourceIdentifier(base + "/ocsp")
                    ),
                    cx509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS, cx509.UniformResourceIdentifier(base + "/ca.crt")
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(
            cx509.CRLDistributionPoints(
                [cx509.DistributionPoint([cx509.UniformResourceIdentifier(base + "/ca.crl")], None, None, None)]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    p12 = tmp_path / "url-signer.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            None, key, cert, [ca_cert, root_cert], serialization.BestAvailableEncryption(b"pw")
        )
    )
    return g.load_signer(p12, "pw")


def test_validation_never_touches_the_network(
    demo_pki: dict[str, Any], trust: TrustStore, is_mj: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = g.signed(g.base_pdf(), _signer_with_urls(demo_pki, tmp_path))
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    report = validate_pdf(data, trust)
    assert attempts == []
    sig = report.signatures[0]
    assert sig.intact and sig.trusted, sig.problems
    assert decide_issuance(report, is_mj).accepted


def test_validation_context_is_offline_and_fresh(trust: TrustStore) -> None:
    a, b = trust.validation_context(), trust.validation_context()
    assert a is not b
    assert not a.fetching_allowed


def test_demo_pki_layout(demo_pki: dict[str, Any]) -> None:
    from asn1crypto import pem
    from asn1crypto import x509 as ax509

    assert set(demo_pki["agencies"]) >= {"MJ", "MEN", "OMPIC"}
    for path in [
        demo_pki["root"],
        demo_pki["platform"]["ca"],
        demo_pki["platform"]["seal_cert"],
        demo_pki["platform"]["seal_key"],
        demo_pki["platform"]["seal_pkcs12"],
        demo_pki["tsa"]["cert"],
        demo_pki["tsa"]["key"],
        demo_pki["rogue"]["root"],
        demo_pki["rogue"]["pkcs12"],
    ]:
        assert Path(path).is_absolute() and Path(path).is_file()

    def load(path: str) -> ax509.Certificate:
        return ax509.Certificate.load(pem.unarmor(Path(path).read_bytes())[2])

    root = load(demo_pki["root"])
    assert root.subject.native["common_name"] == "Royaume du Maroc - Autorité de certification racine (DEMO)"
    tsa = load(demo_pki["tsa"]["cert"])
    eku = next(e for e in tsa["tbs_certificate"]["extensions"] if e["extn_id"].native == "extended_key_usage")
    assert eku["critical"].native and eku["extn_value"].native == ["time_stamping"]
    seal = load(demo_pki["platform"]["seal_cert"])
    assert seal.subject.native["common_name"] == "Portefeuille électronique du citoyen — cachet (DEMO)"
    signer = load(demo_pki["agencies"]["MJ"]["signer_cert"])
    assert signer.key_usage_value.native == {"digital_signature", "non_repudiation"}
    assert signer.subject.native["organizational_unit_name"] == "MJ"


def test_pkcs12_embeds_the_chain(demo_pki: dict[str, Any]) -> None:
    a = demo_pki["agencies"]["MJ"]
    key, cert, extra = pkcs12.load_key_and_certificates(Path(a["pkcs12"]).read_bytes(), a["pkcs12_password"].encode())
    assert key is not None and cert is not None and len(extra) == 2
    assert demo_pki["platform"]["seal_pkcs12_password"] != a["pkcs12_password"]


def test_generate_is_idempotent(demo_pki: dict[str, Any]) -> None:
    out = Path(demo_pki["root"]).parent
    again = generate_demo_pki(out, [("MJ", "Ministère de la Justice")])
    assert again == json.loads((out / "pki.json").read_text(encoding="utf-8")) == demo_pki


def test_seed_password(tmp_path: Path) -> None:
    pki = generate_demo_pki(tmp_path, [("XX", "Agence de test")], seed_password="demo-pass")
    assert pki["agencies"]["XX"]["pkcs12_password"] == "demo-pass"
    assert pki["platform"]["seal_pkcs12_password"] == "demo-pass"


def test_trust_store_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"not a certificate")
    with pytest.raises(TrustStoreError):
        TrustStore.from_pem_files([bad])
    with pytest.raises(TrustStoreError):
        TrustStore.from_pem_files([tmp_path / "missing.pem"])


def test_rogue_root_is_not_trusted(demo_pki: dict[str, Any], trust: TrustStore) -> None:
    from signing.trust import load_certificates

    rogue = load_certificates(Path(demo_pki["rogue"]["root"]).read_bytes())[0]
    assert rogue.sha256.hex() not in trust.root_fingerprints
