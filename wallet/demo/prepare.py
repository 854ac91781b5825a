"""Prepare the embedded default: migrate SQLite, generate the demo PKI, register the demo agencies and citizen.

Demo material only: generated at run time under instance/, never committed.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pyotp

from config.settings import Settings
from signing.demo_pki import generate_demo_pki
from wallet import db
from wallet.agencies import service as agencies
from wallet.app import create_app
from wallet.citizens.enrolment import create_enrolled_citizen
from wallet.demo.agencies import DEMO_AGENCIES, PKI_AGENCIES
from wallet.extensions import runtime
from wallet.migrate import upgrade
from wallet.private_files import make_private_dirs, private_umask, write_private

DEMO_CITIZEN = {"national_id": "AB123456", "name": "Amina El Idrissi"}


def _secrets(instance: Path) -> dict[str, str]:
    path = instance / "demo-secrets.json"
    if path.exists():
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    values = {"password": "demo-" + secrets.token_urlsafe(12), "totp_secret": pyotp.random_base32()}
    write_private(path, json.dumps(values))
    return values


def prepare(settings: Settings | None = None) -> dict[str, Any]:
    """Idempotent. Returns the demo description (without base_url) — API keys are rotated on every call."""
    private_umask()  # the embedded default: what SQLite, certomancer or anything else creates is private too
    settings = settings or Settings.from_env()
    make_private_dirs(settings.instance_path)
    pki = generate_demo_pki(settings.pki_dir, PKI_AGENCIES)
    upgrade(settings.database_url)
    app = create_app(settings)
    out: dict[str, Any] = {"trust_root": str(Path(pki["root"]).resolve()), "agencies": [], "citizens": []}
    with app.app_context():
        with db.transaction() as sess:
            for spec in DEMO_AGENCIES:
                agency = agencies.get_by_code(sess, spec["code"])
                if agency is None:
                    agency = agencies.add_agency(sess, spec["code"], spec["name"], spec["types"], spec["names"],
                                                 capabilities=spec["capabilities"])
                    if spec["types"]:
                        agencies.add_certificate(sess, agency, Path(pki["agencies"][spec["code"]]["ca"]).read_bytes(),
                                                 "ca")
                    key = agencies.issue_key(sess, agency)
                else:
                    agencies.set_capabilities(sess, agency, spec["capabilities"])  # an instance made before them
                    key = agencies.rotate_key(sess, agency)
                entry = {"code": spec["code"], "name": spec["name"], "api_key": key, "types": list(spec["types"]),
                         "capabilities": list(spec["capabilities"])}
                if spec["types"]:
                    a = pki["agencies"][spec["code"]]
                    entry.update(pkcs12=str(Path(a["pkcs12"]).resolve()), pkcs12_password=a["pkcs12_password"])
                out["agencies"].append(entry)
            sec = _secrets(settings.instance_path)
            create_enrolled_citizen(sess, runtime().envelope, DEMO_CITIZEN["national_id"], DEMO_CITIZEN["name"],
                                    sec["password"], sec["totp_secret"])
        out["citizens"].append({**DEMO_CITIZEN, "password": sec["password"], "totp_secret": sec["totp_secret"]})
    runtime_db = app.extensions["wallet.runtime"].db
    runtime_db.dispose()
    pending = settings.instance_path / "demo.pending.json"
    write_private(pending, json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    prepare()
    print("embedded default prepared under instance/")
