"""The PostgreSQL pool pings a connection only after it sat idle (wallet.db.ping_when_idle), and a connection
that died while idle never reaches a request."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from wallet import db

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture()
def engine() -> Any:
    try:
        create_engine(PG).connect().close()
    except OperationalError as exc:
        pytest.skip(reason=f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
    eng = db.make_engine(PG)
    yield eng
    eng.dispose()


def backend_pid(engine: Any) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT pg_backend_pid()")).scalar_one())


def kill(pid: int) -> None:
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    admin.dispose()


def test_a_connection_killed_while_idle_is_replaced_at_checkout(engine: Any, monkeypatch: Any) -> None:
    first = backend_pid(engine)
    kill(first)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # it has been idle "long enough": pinged, found dead
    second = backend_pid(engine)
    assert second != first


def test_a_busy_pool_does_not_ping(engine: Any, monkeypatch: Any) -> None:
    """Without the idle ping the dead connection reaches the caller: the ping above is what saved it (and under
    load, when connections come back within milliseconds, no round trip is spent on it)."""
    first = backend_pid(engine)
    kill(first)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    with pytest.raises(OperationalError):
        backend_pid(engine)
    assert backend_pid(engine) != first  # SQLAlchemy invalidated it: the next checkout is a new connection
