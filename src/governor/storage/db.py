"""Engines and sessions: the only module that creates database connections."""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session

from governor.config import get_settings
from governor.storage.faults import database_fault, unreachable
from governor.storage.faults import describe_database as describe  # noqa: F401 (re-exported)
from governor.storage.sqlite_lock import WriterLock

READONLY = "governor_readonly"
"""Execution option: a read-only unit of work, which on SQLite need not take the write lock."""

SQLITE_BUSY_TIMEOUT_MS = 5000

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for another database."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # The driver's own transaction handling opens transactions late (at the first write) and
    # never around DDL; turning it off lets the "begin" hook below issue BEGIN itself, which
    # makes migrations transactional and takes the write lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: readers (the web pages) never block the writer (the task runner), nor it them.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is safe from corruption and only an OS crash can lose the last commits;
    # FULL would fsync on every commit for little gain here.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite ignores foreign keys unless each connection asks for them.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Wait for another writer's lock instead of failing at once with "database is locked".
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _on_sqlite_begin(writer: WriterLock, connection: sa.Connection) -> None:
    # BEGIN IMMEDIATE takes the write lock when the transaction starts. A deferred transaction
    # that reads and then writes can fail with SQLITE_BUSY when another writer got there first,
    # and busy_timeout cannot help it; read-only units of work keep the cheaper deferred BEGIN.
    if connection.get_execution_options().get(READONLY, False):
        connection.exec_driver_sql("BEGIN")
        return
    writer.take(connection.info)  # queue behind this process's other writers
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(database_url: str) -> Engine:
    """A new engine for the URL, with Governor's SQLite settings where it is SQLite."""
    url = make_url(database_url)
    path = sqlite_path(url)
    if path is None:
        # No pre-ping: it costs a round trip on every checkout, which is a third of a task's
        # database time. A connection that died is detected when used, the pool is invalidated,
        # and that one unit of work fails and is retried like any other failure.
        return sa.create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A pool as large as the threads that write at once (web, executor, group commits): a
    # connection made afresh runs the pragmas above, which costs more than most queries.
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False}, pool_size=20, max_overflow=20
    )
    event.listen(engine, "connect", _on_sqlite_connect)
    writer = WriterLock(SQLITE_BUSY_TIMEOUT_MS / 1000)
    writer.listen(engine)
    event.listen(engine, "begin", partial(_on_sqlite_begin, writer))
    return engine


def get_engine(database_url: str | None = None) -> Engine:
    """The process's shared engine for a URL (the configured database by default)."""
    url = database_url or get_settings().database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (before a restore, at shutdown, between tests)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def connect(engine: Engine, *, readonly: bool = False) -> Iterator[sa.Connection]:
    """A connection, with a connection failure turned into DatabaseUnreachable."""
    if readonly:
        engine = engine.execution_options(**{READONLY: True})
    try:
        connection = engine.connect()
    except sa.exc.OperationalError as error:
        raise database_fault(error, engine) or unreachable(engine, error) from error
    with connection, explained_faults(engine):
        yield connection


@contextmanager
def explained_faults(engine: Engine) -> Iterator[None]:
    """Turn a database failure a person can act on (read-only, full, gone) into a GovernorError."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        fault = database_fault(error, engine)
        if fault is None:
            raise
        raise fault from error


@contextmanager
def session_scope(engine: Engine | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    bind = engine or get_engine()
    if readonly:
        bind = bind.execution_options(**{READONLY: True})
        if bind.dialect.name == "postgresql":
            # One snapshot for every statement of the unit (SQLite's transactions already are):
            # a page's figures then never mix states before and after a concurrent commit.
            bind = bind.execution_options(isolation_level="REPEATABLE READ")
    with explained_faults(bind), Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


def refresh_statistics(session: Session) -> None:
    """Let the query planner learn the tables' sizes before a large comparison.

    SQLite keeps no statistics unless asked; without them it may probe a join through the
    wrong index (the refunds of each charge through `kind` rather than `charge_id`).
    `analysis_limit` samples each index, so this takes milliseconds even on millions of
    rows. PostgreSQL's autovacuum keeps its own statistics.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("PRAGMA analysis_limit=1000"))
        session.execute(sa.text("ANALYZE"))
