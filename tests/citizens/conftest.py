"""Citizen fixtures: enrolled citizens and a sign-in helper."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.people import Person, enrol


@pytest.fixture
def alice(app: Any) -> Person:
    return enrol(app, "AB123456")


@pytest.fixture
def bob(app: Any) -> Person:
    return enrol(app, "CD654321")


@pytest.fixture
def login(client: Any) -> Callable[..., Any]:
    """login(person, otp_offset=0, client=...) -> response of POST /api/v1/auth/login."""

    def do(person: Person, offset: int = 0, c: Any = None, **over: Any) -> Any:
        body = {"national_id": person.national_id, "password": person.password, "otp": person.code(offset)}
        body.update(over)
        return (c or client).post("/api/v1/auth/login", json=body)

    return do
