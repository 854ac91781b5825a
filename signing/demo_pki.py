"""Demo PKI for development, ``make run`` and the test suite.

Keys are generated with ``cryptography`` (certomancer does not generate keys);
certificates are issued by certomancer from a configuration built in
:func:`_certomancer_config`.  Nothing here is fit for production use: private
keys are written unencrypted next to the certificates.

Layout written under ``out_dir``::

    root.pem
    agencies/<CODE>/{ca.pem, signer.pem, signer.p12}
    platform/{ca.pem, seal.pem, seal.key.pem, seal.p12}
    tsa/{tsa.pem, tsa.key.pem}
    rogue/{root.pem, signer.pem, signer.p12}
    keys/<label>.key.pem        (issuing keys, demo only)
    pki.json                    (absolute paths + PKCS#12 passwords)
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["PLATFORM_SEAL_NAME", "ROOT_NAME", "generate_demo_pki", "load_demo_pki"]

ROOT_NAME = "Royaume du Maroc - Autorité de certification racine (DEMO)"
PLATFORM_CA_NAME = "Portefeuille électronique du citoyen - CA plateforme (DEMO)"
PLATFORM_SEAL_NAME = "Portefeuille électronique du citoyen — cachet (DEMO)"
TSA_NAME = "Royaume du Maroc - Horodatage (DEMO)"
ROGUE_ROOT_NAME = "Rogue Root CA (NOT TRUSTED, DEMO)"

_ARCH = "wallet-demo"
_VALIDITY_BACKDATE = timedelta(days=1)
_VALIDITY_SPAN = timedelta(days=5 * 365)


def _label(code: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in code.lower())


def _mkdirs(path: Path) -> None:
    """``mkdir -p`` giving each folder it creates 0700 (the demo PKI holds keys)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Every file of the demo PKI is its owner's alone (0600): certificates need not be secret, but the folder
    mixes them with keys and PKCS#12 files, and one rule is easier to check. ``private`` is kept for callers."""
    _mkdirs(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)  # a leftover temporary file keeps its old mode through O_CREAT
    os.replace(tmp, path)


def _pem_cert(der: bytes) -> bytes:
    armored: bytes = pem.armor("CERTIFICATE", der)  # asn1crypto is untyped
    return armored


def _generate_key(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(path, pem_bytes, private=True)


def _generate_keys(key_dir: Path, labels: Sequence[str]) -> None:
    # OpenSSL releases the GIL during key generation: a small pool halves the wall time.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(_generate_key, [key_dir / f"{label}.key.pem" for label in labels]))


def _ca_extensions() -> list[dict[str, Any]]:
    return [
        {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
        {
            "id": "key_usage",
            "critical": True,
            "smart-value": {"schema": "key-usage", "params": ["digital_signature", "key_cert_sign", "crl_sign"]},
        },
    ]


def _signer_extensions() -> list[dict[str, Any]]:
    return [
        {
            "id": "key_usage",
            "critical": True,
            "smart-value": {"schema": "key-usage", "params": ["digital_signature", "non_repudiation"]},
        },
    ]


def _certomancer_config(
    key_dir: Path, agencies: Sequence[tuple[str, str]], valid_from: datetime, valid_to: datetime
) -> tuple[dict[str, Any], list[str]]:
    """Build the certomancer configuration (as the dict its YAML would load to)."""
    validity = {"valid-from": valid_from.isoformat(), "valid-to": valid_to.isoformat()}
    entities: dict[str, dict[str, str]] = {
        "root": {"common-name": ROOT_NAME, "organization-name": "Royaume du Maroc"},
        "platform-ca": {"common-name": PLATFORM_CA_NAME, "organization-name": "Portefeuille électronique du citoyen"},
        "seal": {
            "common-name": PLATFORM_SEAL_NAME,
            "organization-name": "Portefeuille électronique du citoyen",
            "organizational-unit-name": "PLATFORM",
        },
        "tsa": {"common-name": TSA_NAME, "organization-name": "Royaume du Maroc"},
        "rogue-root": {"common-name": ROGUE_ROOT_NAME, "organization-name": "Rogue"},
    }
    certs: dict[str, dict[str, Any]] = {
        "root": {"subject": "root", "issuer": "root", "validity": validity, "extensions": _ca_extensions()},
        "platform-ca": {"issuer": "root", "validity": validity, "extensions": _ca_extensions()},
        "seal": {"issuer": "platform-ca", "validity": validity, "extensions": _signer_extensions()},
        "tsa": {
            "issuer": "root",
            "validity": validity,
            "extensions": [
                {
                    "id": "key_usage",
                    "critical": True,
                    "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
                },
                {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
            ],
        },
        "rogue-root": {"issuer": "rogue-root", "validity": validity, "extensions": _ca_extensions()},
    }
    labels = ["root", "platform-ca", "seal", "tsa", "rogue-root", "rogue-signer"]
    for code, name in agencies:
        lab = _label(code)
        entities[f"{lab}-ca"] = {
            "common-name": f"{name} CA (DEMO)",
            "organization-name": name,
            "organizational-unit-name": code,
        }
        entities[f"{lab}-signer"] = {
            "common-name": f"{name} - signature (DEMO)",
            "organization-name": name,
            "organizational-unit-name": code,
        }
        certs[f"{lab}-ca"] = {"issuer": "root", "validity": validity, "extensions": _ca_extensions()}
        certs[f"{lab}-signer"] = {"issuer": f"{lab}-ca", "validity": validity, "extensions": _signer_extensions()}
        labels += [f"{lab}-ca", f"{lab}-signer"]
    # The rogue signer impersonates the first agency's name under an unrelated root.
    imp_code, imp_name = agencies[0] if agencies else ("ROGUE", "Rogue agency")
    entities["rogue-signer"] = {
        "common-name": f"{imp_name} - signature (DEMO)",
        "organization-name": imp_name,
        "organizational-unit-name": imp_code,
    }
    certs["rogue-signer"] = {"issuer": "rogue-root", "validity": validity, "extensions": _signer_extensions()}
    for spec in certs.values():
        spec.setdefault("extensions", [])
    config = {
        "external-url-prefix": "http://127.0.0.1:9",
        "keysets": {
            _ARCH: {
                "path-prefix": str(key_dir),
                "keys": {lab: {"path": f"{lab}.key.pem"} for lab in labels},
            }
        },
        "pki-architectures": {
            _ARCH: {"keyset": _ARCH, "entity-defaults": {"country-name": "MA"}, "entities": entities, "certs": certs}
        },
    }
    return config, labels


def _password(seed_password: str | None) -> str:
    return seed_password if seed_password is not None else secrets.token_urlsafe(18)


def _all_paths(manifest: dict[str, Any]) -> list[str]:
    paths = [manifest["root"], manifest["tsa"]["cert"], manifest["tsa"]["key"]]
    for entry in manifest["agencies"].values():
        paths += [entry["ca"], entry["signer_cert"], entry["pkcs12"]]
    plat = manifest["platform"]
    paths += [plat["ca"], plat["seal_cert"], plat["seal_key"], plat["seal_pkcs12"]]
    paths += [manifest["rogue"]["root"], manifest["rogue"]["pkcs12"]]
    return paths


def load_demo_pki(out_dir: Path) -> dict[str, Any] | None:
    """Return the manifest of an existing demo PKI in ``out_dir``, or ``None`` if absent or incomplete."""
    manifest_path = Path(out_dir) / "pki.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if all(Path(p).is_file() for p in _all_paths(manifest)):
            return manifest  # type: ignore[no-any-return]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def generate_demo_pki(
    out_dir: Path,
    agencies: Sequence[tuple[str, str]],
    *,
    seed_password: str | None = None,
) -> dict[str, Any]:
    """Generate (or load, if already there) the demo PKI and return its manifest.

    :param agencies: ``(code, name)`` pairs, e.g. ``("MJ", "Ministère de la Justice")``.
    :param seed_password: if given, every PKCS#12 file uses it; otherwise each gets a random password.
    """
    # certomancer (0.1 s, and YAML) only when the demo PKI is made: `signing/__init__` re-exports this module,
    # so a top-level import would load it into every worker and every validator sandbox child
    from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig  # noqa: PLC0415 - see above

    out_dir = Path(out_dir).resolve()
    existing = load_demo_pki(out_dir)
    if existing is not None and all(code in existing["agencies"] for code, _ in agencies):
        return existing

    key_dir = out_dir / "keys"
    now = datetime.now(UTC).replace(microsecond=0)
    config, labels = _certomancer_config(key_dir, agencies, now - _VALIDITY_BACKDATE, now + _VALIDITY_SPAN)
    _generate_keys(key_dir, labels)
    arch = CertomancerConfig(config, key_search_dir=str(key_dir)).get_pki_arch(ArchLabel(_ARCH))

    def cert_pem(label: str) -> bytes:
        return _pem_cert(arch.get_cert(CertLabel(label)).dump())

    def p12(label: str, password: str) -> bytes:
        # certomancer embeds the whole chain up to (and including) the root
        return bytes(arch.package_pkcs12(CertLabel(label), password=password.encode("utf-8")))

    def put(rel: str, data: bytes, *, private: bool = False) -> str:
        path = out_dir / rel
        _write(path, data, private=private)
        return str(path)

    manifest: dict[str, Any] = {"root": put("root.pem", cert_pem("root")), "agencies": {}}
    for code, name in agencies:
        lab = _label(code)
        pwd = _password(seed_password)
        manifest["agencies"][code] = {
            "name": name,
            "ca": put(f"agencies/{code}/ca.pem", cert_pem(f"{lab}-ca")),
            "signer_cert": put(f"agencies/{code}/signer.pem", cert_pem(f"{lab}-signer")),
            "pkcs12": put(f"agencies/{code}/signer.p12", p12(f"{lab}-signer", pwd), private=True),
            "pkcs12_password": pwd,
        }
    seal_pwd = _password(seed_password)
    manifest["platform"] = {
        "ca": put("platform/ca.pem", cert_pem("platform-ca")),
        "seal_cert": put("platform/seal.pem", cert_pem("seal")),
        "seal_key": put("platform/seal.key.pem", (key_dir / "seal.key.pem").read_bytes(), private=True),
        "seal_pkcs12": put("platform/seal.p12", p12("seal", seal_pwd), private=True),
        "seal_pkcs12_password": seal_pwd,
    }
    manifest["tsa"] = {
        "cert": put("tsa/tsa.pem", cert_pem("tsa")),
        "key": put("tsa/tsa.key.pem", (key_dir / "tsa.key.pem").read_bytes(), private=True),
    }
    rogue_pwd = _password(seed_password)
    manifest["rogue"] = {
        "root": put("rogue/root.pem", cert_pem("rogue-root")),
        "signer_cert": put("rogue/signer.pem", cert_pem("rogue-signer")),
        "pkcs12": put("rogue/signer.p12", p12("rogue-signer", rogue_pwd), private=True),
        "pkcs12_password": rogue_pwd,
    }
    manifest["keys_dir"] = str(key_dir)
    put("pki.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"), private=True)
    return manifest
