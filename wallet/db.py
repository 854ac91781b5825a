"""Database plumbing: the declarative base, reusable column types, and one transaction per request.

Services ``flush()``; nobody else commits. The unit of work ends in one place: ``finish`` after the view of a
request returned (``wallet.WalletFlask.dispatch_request``: commit below 400, roll back otherwise, like
pyramid_tm's commit veto), the error handlers (roll back), ``transaction`` around a CLI command, and ``batch``
for the resumable maintenance jobs (fsck, key rotation) that commit one batch at a time on purpose.

Side effects outside the database (blobs) register a compensation with ``on_rollback`` so a failed commit
leaves nothing behind. Writes that must survive a rejection (its audit event, the holder's log of a refused
look) go through ``record_rejection``: they run in their own short transaction once the request's has ended.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar

from flask import current_app, g, has_app_context
from sqlalchemy import JSON, DateTime, MetaData, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from wallet.private_files import prepare_sqlite_file, sqlite_path, tighten_sqlite_files

log = logging.getLogger("wallet.db")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return uuid.uuid4().hex



class DeadConnectionOnReset(logging.Filter):
    """SQLAlchemy's pool logs "Exception during reset or similar" with a full traceback when it returns a
    connection the database has dropped (a restart, a failover). The request already answered 503 and the pool
    discards the connection: one line says so, without a traceback that reads like a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ == "OperationalError" and \
                str(record.msg).startswith("Exception during reset"):
            record.msg = f"{record.msg}: the connection was already closed ({type(exc).__module__}.OperationalError)"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


_DEAD_CONNECTION_ON_RESET = DeadConnectionOnReset()

class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# reusable annotated column types
str_id = Annotated[str, mapped_column(String(32), primary_key=True, default=new_id)]
timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]
json_doc = Annotated[dict[str, Any], mapped_column(JSON, default=dict)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime()}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            prepare_sqlite_file(path)  # 0600 before SQLite opens it: its WAL and SHM files take that mode
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            if path is not None:
                tighten_sqlite_files(path)  # side files left by an older, looser run

        @event.listens_for(engine, "checkout")
        def _sqlite_driver_autocommit(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            # the driver never begins on its own (we issue BEGIN): a connection handed back by an AUTOCOMMIT
            # user (the QR look) had its isolation reset by SQLAlchemy to the driver's implicit-BEGIN mode
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # writers serialise at BEGIN, so the audit chain and view counters never race; an autocommit
            # connection (the QR look's, verification.looks.look_connection) begins its own write explicitly
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10)
    ping_when_idle(engine)
    return engine


IDLE_PING_SECONDS = 5.0


def ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, paid only when it can matter: a pooled connection that sat idle for
    ``IDLE_PING_SECONDS`` is pinged at checkout (a dead one is replaced, the request never sees it). SQLAlchemy's
    ``pool_pre_ping`` pings at every checkout: one more round trip on every request, a quarter of a QR scan's
    wall time under load. Busy connections are in constant use; a connection lost while busy fails its
    request either way, and SQLAlchemy then invalidates the whole pool."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure: let the pool replace this connection
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        pool = getattr(self.engine.pool, "logger", None)  # the pool's own logger (records are not filtered upwards)
        if isinstance(pool, logging.Logger):
            pool.addFilter(_DEAD_CONNECTION_ON_RESET)  # the same instance: added once per logger
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


def session() -> Session:
    """The request's (or CLI command's) session, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["wallet.db"].sessionmaker()
        g.db_rollbacks = []
        g.db_rejections = []
        g.db_after_commit = []
    return g.db_session  # type: ignore[no-any-return]


def on_rollback(callback: Callable[[], None]) -> None:
    """Run ``callback`` if the current unit of work does not commit (e.g. delete a blob just written)."""
    session()
    g.db_rollbacks.append(callback)


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current unit of work has committed (never if it rolls back): hand a job to the
    workers only when the rows it reads exist for them (wallet.jobs.enqueue)."""
    session()
    g.db_after_commit.append(callback)


def _run_after_commit() -> None:
    callbacks, g.db_after_commit = list(g.get("db_after_commit") or ()), []
    for cb in callbacks:
        try:
            cb()
        except Exception:  # noqa: BLE001 - the commit stands; a job not handed over is found by its sweeper
            log.warning("after-commit callback %r failed", cb, exc_info=True)


def record_rejection(write: Callable[[Session], object]) -> None:
    """Keep ``write`` whatever becomes of the unit of work: the audit event of a refused push or sign-in, the
    holder's log of a refused look. It runs once the unit of work has ended (committed or rolled back), in a
    short transaction of its own on the same session, and commits.

    Why after, not beside: on SQLite the request's transaction holds the one write lock from its first
    statement (BEGIN IMMEDIATE), so a second connection would wait for it; and the audit chain's head row is
    locked by whoever appends, so writing the rejection after the request's events were rolled back keeps the
    chain one line on both databases. Under the tests' savepoint fixture it is one more savepoint, released."""
    session()
    g.db_rejections.append(write)


def _write_rejections() -> None:
    writes, g.db_rejections = list(g.get("db_rejections") or ()), []
    if not writes:
        return
    sess: Session = g.db_session
    try:
        for write in writes:
            write(sess)
        sess.commit()
    except BaseException:
        sess.rollback()
        raise


def commit() -> None:
    """Commit the unit of work; on failure undo the side effects and re-raise. Called by ``finish`` and
    ``transaction`` only (tests/test_one_commit.py keeps it that way)."""
    if "db_session" not in g:
        return
    sess: Session = g.db_session
    try:
        sess.commit()
    except BaseException:
        rollback()
        raise
    g.db_rollbacks = []
    _write_rejections()
    _run_after_commit()


def rollback() -> None:
    """Roll the unit of work back, run the compensations, then write what ``record_rejection`` kept."""
    if "db_session" not in g:
        return
    sess: Session = g.db_session
    g.db_after_commit = []
    try:
        sess.rollback()
    finally:
        callbacks, g.db_rollbacks = list(g.db_rollbacks), []
        for cb in reversed(callbacks):
            try:
                cb()
            except Exception:  # noqa: BLE001 - compensation is best effort; say so and go on
                log.warning("rollback compensation %r failed", cb, exc_info=True)
    _write_rejections()


def finish(status: int) -> None:
    """End the request's unit of work after its view returned a response: commit unless the answer is an error.

    A view that answers 4xx/5xx without raising (a sign-in page saying "wrong code", an unknown link's 404)
    rolls back, as pyramid_tm vetoes the commit: an error answer never leaves half a change behind. A failed
    commit raises here, before the response exists, so it is answered like any exception of the view."""
    if status >= 400:
        rollback()
    else:
        commit()


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work outside a request (a CLI command, a script): commit at the end, roll back on error.

    Print what the command did after the ``with`` block, so that nothing is reported done before it is."""
    try:
        yield session()
    except BaseException:
        rollback()
        raise
    commit()


@contextmanager
def batch(sess: Session) -> Iterator[Session]:
    """One committed batch of a resumable maintenance job (fsck repairs, key rotation) on its own session:
    each batch is kept as soon as it is done, so an interrupted run resumes where it stopped."""
    try:
        yield sess
    except BaseException:
        sess.rollback()
        raise
    sess.commit()


def close() -> None:
    if has_app_context() and "db_session" in g:
        sess: Session = g.db_session
        try:
            rollback()
            sess.close()
        except DBAPIError as exc:
            # the connection died after the view had answered (a database restart): there is nothing left to
            # undo, and raising here, after the response was made, would turn it into a bare 500. Invalidate
            # it so that the pool does not hand the dead connection to the next request.
            log.warning("rollback at the end of the request failed: the connection is gone (%s)",
                        type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__)
            try:
                sess.invalidate()
            except DBAPIError:
                log.warning("invalidating the request's dead connection failed", exc_info=True)
        finally:
            g.pop("db_session")
