"""Enrolled citizens for the tests: one builder (``enrol``), one sign-in (``sign_in``), known passwords and TOTP seeds.

A ``Person`` is who exists in the database (what the sign-in tests need: the password and the TOTP seed); a
``Citizen`` is that person signed in on a test client of their own, with the CSRF token the API wants.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyotp

PASSWORD = "correct horse battery 9"


@dataclass
class Person:
    national_id: str
    password: str
    totp_secret: str
    id: str = ""
    name: str = ""

    def code(self, offset: int = 0) -> str:
        """The TOTP code ``offset`` steps from now (the server accepts ±1 step; each step once)."""
        return pyotp.TOTP(self.totp_secret).at(time.time() + 30 * offset)


@dataclass
class Citizen:
    client: Any
    csrf: str
    national_id: str
    name: str
    person: Person | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    def share(self, doc_ids: list[str], **kw: Any) -> Any:
        body: dict[str, Any] = {"document_ids": doc_ids, "expires_in": 600, "max_views": None,
                                "label": "Banque Populaire", "allow_download": True}
        body.update(kw)
        return self.client.post("/api/v1/me/shares", json=body, headers=self.headers)


def enrol(app: Any, national_id: str, name: str | None = None, password: str = PASSWORD) -> Person:
    """Enrol a citizen straight through the service (what the enrolment desk does), committed."""
    from wallet import db
    from wallet.citizens.enrolment import create_enrolled_citizen
    from wallet.extensions import runtime

    p = Person(national_id, password, pyotp.random_base32(), name=name or f"Citizen {national_id}")
    with app.app_context():
        c = create_enrolled_citizen(db.session(), runtime().envelope, national_id, p.name, password, p.totp_secret)
        p.id = c.id
        db.commit()
    return p


def sign_in(app: Any, person: Person) -> Citizen:
    """``person`` signed in through the API on a fresh test client of their own."""
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"national_id": person.national_id, "password": person.password,
                                                "otp": person.code()})
    assert r.status_code == 200, r.get_data(as_text=True)
    return Citizen(client, r.get_json()["csrf_token"], person.national_id, person.name, person)


def api(client: Any, method: str, url: str, csrf: str | None = None, **kw: Any) -> Any:
    headers = kw.pop("headers", {})
    if csrf:
        headers["X-CSRF-Token"] = csrf
    return client.open(url, method=method, headers=headers, **kw)
