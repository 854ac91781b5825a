"""Helpers shared by the citizen and browser tests: enrolled people with known passwords and TOTP seeds."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyotp


@dataclass
class Person:
    national_id: str
    password: str
    totp_secret: str
    id: str = ""

    def code(self, offset: int = 0) -> str:
        """The TOTP code ``offset`` steps from now (the server accepts ±1 step; each step once)."""
        return pyotp.TOTP(self.totp_secret).at(time.time() + 30 * offset)


def make_person(app: Any, national_id: str, password: str = "correct horse battery") -> Person:
    from wallet import db
    from wallet.citizens.enrolment import create_enrolled_citizen
    from wallet.extensions import runtime

    p = Person(national_id, password, pyotp.random_base32())
    with app.app_context():
        c = create_enrolled_citizen(db.session(), runtime().envelope, national_id, f"Citizen {national_id}",
                                    password, p.totp_secret)
        p.id = c.id
        db.commit()
    return p


def api(client: Any, method: str, url: str, csrf: str | None = None, **kw: Any) -> Any:
    headers = kw.pop("headers", {})
    if csrf:
        headers["X-CSRF-Token"] = csrf
    return client.open(url, method=method, headers=headers, **kw)
