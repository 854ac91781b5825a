"""The operator CLI refuses mistakes instead of accepting them silently.

- ``agency add`` / ``agency add-cert`` with a certificate that does not chain to the trust roots (a rogue root, a
  signer from elsewhere, an expired CA under the right root, a file that is no certificate): exit 1 with a clear
  message and nothing registered; ``--force`` registers it with a loud warning on stderr.
- ``citizen invite`` checks the national-ID format and warns on stderr when the ID is already enrolled; the
  one-time code stays the last line of the output (PRODUCT.md: scripts read it).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from tests.support.people import enrol
from wallet import db
from wallet.agencies.models import Agency, AgencyCertificate
from wallet.citizens.models import Invite


def run(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def agency_count(app: Any) -> tuple[int, int]:
    with app.app_context():
        sess = db.session()
        return (sess.execute(select(func.count()).select_from(Agency)).scalar_one(),
                sess.execute(select(func.count()).select_from(AgencyCertificate)).scalar_one())


def ca_under_root(pki: dict[str, Any], path: Path, *, expired: bool) -> str:
    """A CA certificate issued by the demo national root (its real key), valid or long expired."""
    root_cert = x509.load_pem_x509_certificate(Path(pki["root"]).read_bytes())
    root_key = serialization.load_pem_private_key((Path(pki["keys_dir"]) / "root.key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    start, end = (now - dt.timedelta(days=400), now - dt.timedelta(days=30)) if expired else \
        (now - dt.timedelta(days=1), now + dt.timedelta(days=300))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA (DEMO)")]))
            .issuer_name(root_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(root_key, hashes.SHA256()))  # type: ignore[arg-type]
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def bad_files(pki: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    return {"rogue root": pki["rogue"]["root"], "rogue signer": pki["rogue"]["signer_cert"],
            "expired CA under the root": ca_under_root(pki, tmp_path / "expired.pem", expired=True),
            "not a certificate": str(junk)}


@pytest.mark.parametrize("option", ["--ca", "--signer"])
def test_agency_add_refuses_what_does_not_chain(app: Any, pki: dict[str, Any], tmp_path: Path, option: str) -> None:
    for label, path in bad_files(pki, tmp_path).items():
        out = run(app, "agency", "add", "DGSN", "--name", "Sûreté", "--types", "nationality", option, path)
        assert out.exit_code == 1, (label, out.output)
        assert "Error:" in out.stderr and path in out.stderr, label
        if label != "not a certificate":
            assert "does not chain to the trust roots" in out.stderr and "--force" in out.stderr, label
        assert "API key" not in out.output, label
        assert agency_count(app) == (0, 0), label  # nothing registered


def test_agency_add_with_force_warns_and_registers(app: Any, pki: dict[str, Any]) -> None:
    out = run(app, "agency", "add", "DGSN", "--name", "Sûreté", "--types", "nationality",
              "--ca", pki["rogue"]["root"], "--force")
    assert out.exit_code == 0, out.output
    assert "WARNING" in out.stderr and "does not chain to the trust roots" in out.stderr
    assert "Rogue Root CA" in out.stderr
    assert out.stdout.strip().splitlines()[-1].startswith("API key (shown once): wk_")
    assert agency_count(app) == (1, 1)


def test_agency_add_accepts_what_chains(app: Any, pki: dict[str, Any], tmp_path: Path) -> None:
    good_ca = ca_under_root(pki, tmp_path / "good.pem", expired=False)
    out = run(app, "agency", "add", "DGSN", "--name", "Sûreté", "--types", "nationality",
              "--ca", pki["agencies"]["MJ"]["ca"], "--ca", good_ca, "--signer", pki["agencies"]["MJ"]["signer_cert"])
    assert out.exit_code == 0, out.output
    assert out.stderr == ""  # no warning for a good chain
    assert agency_count(app) == (1, 3)


def test_agency_add_cert_refuses_what_does_not_chain(app: Any, pki: dict[str, Any], tmp_path: Path) -> None:
    assert run(app, "agency", "add", "DGSN", "--name", "Sûreté", "--types", "nationality",
               "--ca", pki["agencies"]["MEN"]["ca"]).exit_code == 0
    for kind in ("ca", "signer"):
        for label, path in bad_files(pki, tmp_path).items():
            out = run(app, "agency", "add-cert", "DGSN", path, "--kind", kind)
            assert out.exit_code == 1, (kind, label, out.output)
            assert path in out.stderr and "certificate(s) added" not in out.output
            assert agency_count(app) == (1, 1), (kind, label)
    # a signer that chains through a CA registered earlier for the agency is fine
    out = run(app, "agency", "add-cert", "DGSN", pki["agencies"]["MEN"]["signer_cert"], "--kind", "signer")
    assert out.exit_code == 0 and out.stderr == "" and "1 certificate(s) added" in out.output
    forced = run(app, "agency", "add-cert", "DGSN", pki["rogue"]["signer_cert"], "--kind", "signer", "--force")
    assert forced.exit_code == 0 and "WARNING" in forced.stderr and "1 certificate(s) added" in forced.stdout
    assert agency_count(app) == (1, 3)


def invites(app: Any) -> int:
    with app.app_context():
        return int(db.session().execute(select(func.count()).select_from(Invite)).scalar_one())


@pytest.mark.parametrize("national_id", ["AB1", "", "AB-123456", "AB_123456", "ab123456\x00", "ＡＢ１２３４５６",
                                         "AB١٢٣٤٥٦", "ÀB123456", "AB123456" * 5, "AB\u200b123456", "'; DROP--"])
def test_invite_refuses_a_malformed_national_id(app: Any, national_id: str) -> None:
    out = run(app, "citizen", "invite", national_id)
    assert out.exit_code == 1, out.output
    assert "is not a national ID number" in out.stderr and "A-Z" in out.stderr
    assert "enrolment code" not in out.output
    assert invites(app) == 0


def test_invite_accepts_the_usual_spellings(app: Any) -> None:
    for given in ("AB123456", "ab123456", " AB 123 456 ", "J4567"):
        out = run(app, "citizen", "invite", given)
        assert out.exit_code == 0, out.output
        assert out.stderr == ""
        lines = out.output.strip().splitlines()
        assert "enrolment code for" in lines[0] and lines[-1].count("-") == 2 and len(lines[-1]) == 14
    assert invites(app) == 4


def test_invite_warns_when_the_id_is_already_enrolled(app: Any) -> None:
    enrol(app, "CD654321")
    out = run(app, "citizen", "invite", "cd654321")
    assert out.exit_code == 0, out.output
    assert "WARNING: CD654321 is already enrolled" in out.stderr
    assert "WARNING" not in out.stdout
    code = out.stdout.strip().splitlines()[-1]
    assert out.output.strip().splitlines()[-1] == code  # still the last line of everything printed
    assert len(code) == 14 and invites(app) == 1
