"""Rate limits of the sign-in and enrolment routes (Flask-Limiter), per IP and per national ID.

The per-ID limit counts attempts for any ID string, known or not, so it says nothing about which
accounts exist. On top of it, ``Citizen.failed_logins`` grows a per-account delay (capped: no lock-out).
"""
from __future__ import annotations

from flask import request

LOGIN_IP_LIMIT = "30/minute;300/hour"
LOGIN_ID_LIMIT = "5/minute;40/hour"
ENROL_LIMIT = "10/minute;60/hour"


def login_id_key() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    raw = (body or {}).get("national_id") if isinstance(body, dict) else request.form.get("national_id")
    nid = "".join(str(raw or "").split()).upper()[:32]
    return f"login-id:{nid}"
