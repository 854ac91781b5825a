"""Fixtures every test directory may use (a pytest plugin named in tests/conftest.py): signed-in citizens,
their documents pushed by the MJ agency, a revocation; ``citizen`` builds more citizens on demand."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.people import Citizen, Person, enrol, sign_in
from tests.support.shares import HOLDER, OTHER


@pytest.fixture
def citizen(app: Any) -> Callable[..., Any]:
    """citizen(national_id, name=None, signed_in=True) -> a ``Citizen`` signed in on a client of their own, or
    (``signed_in=False``) the enrolled ``Person`` only."""

    def make(national_id: str, name: str | None = None, *, signed_in: bool = True) -> Citizen | Person:
        person = enrol(app, national_id, name)
        return sign_in(app, person) if signed_in else person

    return make


@pytest.fixture
def holder(citizen: Callable[..., Any]) -> Citizen:
    return citizen(HOLDER, "Amina Benali")


@pytest.fixture
def other(citizen: Callable[..., Any]) -> Citizen:
    return citizen(OTHER, "Karim Idrissi")


@pytest.fixture
def issue(push: Callable[..., Any], signed_pdf: Callable[..., bytes]) -> Callable[..., dict[str, Any]]:
    """issue(holder_id=HOLDER, pdf=None, **meta) -> the pushed document resource."""

    def make(holder_id: str = HOLDER, pdf: bytes | None = None, level: str = "B-T", **meta: Any) -> dict[str, Any]:
        r = push(pdf or signed_pdf("MJ", level=level), holder_id=holder_id, **meta)
        assert r.status_code == 201, r.get_data(as_text=True)
        return r.get_json()

    return make


@pytest.fixture
def revoke(client: Any, agencies: dict[str, Any]) -> Callable[[str], Any]:
    def do(doc_id: str, reason: str = "superseded") -> Any:
        r = client.post(f"/api/v1/documents/{doc_id}/revoke", json={"reason": reason},
                        headers={"Authorization": f"Bearer {agencies['MJ']['key']}"})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r

    return do
