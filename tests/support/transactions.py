"""Whether a request holds a database transaction while pyHanko works (the upload and the push tests share it)."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest


def watch_validation(monkeypatch: pytest.MonkeyPatch, service: ModuleType) -> list[bool]:
    """Wrap ``service.validate_pdf``: each call records whether the session was in a transaction, and on SQLite
    another writer takes the one writer lock (BEGIN IMMEDIATE, no wait) first, which fails if the request holds it.

    Returns the list the calls append to; the test asserts on it.
    """
    from wallet import db
    from wallet.extensions import runtime

    real = service.validate_pdf
    seen: list[bool] = []

    def validate(*args: Any, **kwargs: Any) -> Any:
        seen.append(db.session().in_transaction())
        engine = runtime().db.engine
        if engine.dialect.name == "sqlite":  # another writer gets the lock at once, without waiting
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute("PRAGMA busy_timeout=0")
                cur.execute("BEGIN IMMEDIATE")
                cur.execute("COMMIT")
            finally:
                raw.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "validate_pdf", validate)
    return seen
