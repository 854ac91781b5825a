"""Enrolment the way a citizen does it: an invitation code from the desk (CLI), then the three API steps."""
from __future__ import annotations

from typing import Any

import pyotp


def invite(app: Any, national_id: str) -> str:
    """A fresh enrolment code for ``national_id`` from ``flask citizen invite``."""
    result = app.test_cli_runner().invoke(args=["citizen", "invite", national_id])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def enrol_api(client: Any, national_id: str, code: str, password: str = "a long enough passphrase") -> Any:
    """start, password, confirm: (the confirm response, the TOTP seed the citizen was given)."""
    r = client.post("/api/v1/enrol/start", json={"national_id": national_id, "code": code})
    assert r.status_code == 200, r.json
    r = client.post("/api/v1/enrol/password", json={"ticket": r.json["ticket"], "password": password})
    assert r.status_code == 200, r.json
    assert r.json["qr_svg"].startswith("<svg") and r.json["otpauth_uri"].startswith("otpauth://totp/")
    secret = r.json["totp_secret"]
    return client.post("/api/v1/enrol/confirm", json={"ticket": r.json["ticket"],
                                                       "otp": pyotp.TOTP(secret).now()}), secret
