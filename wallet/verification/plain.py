"""The upload report in plain words: the few facts a person checks, taken from the report (the page words them).

The JSON keeps every detail (ETSI indications, coverage, hashes); the upload page shows three or four checks —
issued by X and unchanged since …, currently valid / revoked on …, the link valid until …, sealed by the wallet
on … — and keeps the rest in a collapsed "technical details" part.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from wallet.verification.changes import issuer_signature


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _signed_at(sig: dict[str, Any]) -> dt.datetime | None:
    ts = sig.get("timestamp") or {}
    return _when(ts.get("time")) if ts.get("present") and ts.get("intact") else _when(sig.get("signing_time"))


def upload_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the checks say: ``unchanged`` (the issuer's signature is intact, trusted and nothing but the wallet's
    seal or validation data came after it: True, False, or None when there is no such signature), ``issuer``,
    ``signed_at``, the registry's ``status`` with ``revoked_at`` / ``expires_at``, the ``share`` of a sealed copy,
    and ``sealed_at`` (the wallet's seal)."""
    sigs: list[dict[str, Any]] = report.get("signatures") or []
    reg: dict[str, Any] = report.get("registry") or {}
    agency = issuer_signature(sigs, reg) or next(
        (s for s in sigs if s.get("role") == "agency" and s.get("kind") == "signature"), None)
    seal = next((s for s in sigs if s.get("role") == "platform_seal" and s.get("intact") and s.get("valid")), None)
    unchanged: bool | None = None
    if agency is not None:
        unchanged = bool(agency["intact"] and agency["valid"] and agency["trusted"]
                         and agency.get("later_changes") != "other")
    issuer = reg.get("issuer") if reg.get("known") else None
    if not issuer and agency is not None:
        issuer = (agency.get("signer") or {}).get("organisation") or (agency.get("signer") or {}).get("common_name")
    share = reg.get("share") or None
    return {
        "unchanged": unchanged, "issuer": issuer, "signed_at": _signed_at(agency) if agency else None,
        "known": bool(reg.get("known")), "status": reg.get("status"), "type_name": reg.get("type_name"),
        "revoked_at": _when(reg.get("revoked_at")), "expires_at": _when(reg.get("expires_at")),
        "share": None if share is None else {"status": share.get("status"),
                                             "expires_at": _when(share.get("expires_at"))},
        "sealed_at": _signed_at(seal) if seal is not None else None,
        "times": [_when((s.get("timestamp") or {}).get("time")) for s in sigs],  # each signature's certified time
    }
