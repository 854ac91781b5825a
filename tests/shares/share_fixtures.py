"""Fixtures shared by tests/shares and tests/verification: signed-in citizens, their documents, shares."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest

HOLDER = "AB123456"
OTHER = "CD987654"


@dataclass
class Citizen:
    client: Any
    csrf: str
    national_id: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    def share(self, doc_ids: list[str], **kw: Any) -> Any:
        body: dict[str, Any] = {"document_ids": doc_ids, "expires_in": 600, "max_views": None,
                                "label": "Banque Populaire", "allow_download": True}
        body.update(kw)
        return self.client.post("/api/v1/me/shares", json=body, headers=self.headers)


def enrol_and_login(app: Any, national_id: str, name: str) -> Citizen:
    from wallet import db
    from wallet.citizens.enrolment import create_enrolled_citizen
    from wallet.extensions import runtime

    secret = pyotp.random_base32()
    with app.app_context():
        create_enrolled_citizen(db.session(), runtime().envelope, national_id, name, "correct horse battery 9",
                                secret)
        db.commit()
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"national_id": national_id, "password": "correct horse battery 9",
                                                "otp": pyotp.TOTP(secret).now()})
    assert r.status_code == 200, r.get_data(as_text=True)
    return Citizen(client, r.get_json()["csrf_token"], national_id, name)


@pytest.fixture
def holder(app: Any) -> Citizen:
    return enrol_and_login(app, HOLDER, "Amina Benali")


@pytest.fixture
def other(app: Any) -> Citizen:
    return enrol_and_login(app, OTHER, "Karim Idrissi")


@pytest.fixture
def issue(push: Callable[..., Any], signed_pdf: Callable[..., bytes]) -> Callable[..., dict[str, Any]]:
    """issue(holder_id=HOLDER, pdf=None, **meta) -> the pushed document resource."""

    def make(holder_id: str = HOLDER, pdf: bytes | None = None, level: str = "B-T", **meta: Any) -> dict[str, Any]:
        r = push(pdf or signed_pdf("MJ", level=level), holder_id=holder_id, **meta)
        assert r.status_code == 201, r.get_data(as_text=True)
        return r.get_json()  # type: ignore[no-any-return]

    return make


@pytest.fixture
def revoke(client: Any, agencies: dict[str, Any]) -> Callable[[str], Any]:
    def do(doc_id: str, reason: str = "superseded") -> Any:
        r = client.post(f"/api/v1/documents/{doc_id}/revoke", json={"reason": reason},
                        headers={"Authorization": f"Bearer {agencies['MJ']['key']}"})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r

    return do


def token_of(share: dict[str, Any]) -> str:
    return str(share["url"]).rsplit("/", 1)[-1]


def later(**kw: Any) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(**kw)


__all__ = [
    "HOLDER",
    "OTHER",
    "Citizen",
    "enrol_and_login",
    "holder",
    "issue",
    "later",
    "other",
    "revoke",
    "token_of",
]
