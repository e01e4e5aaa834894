"""Make a real database refuse writes, as a read-only file or a standby server does."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from governor.storage.db import dispose_engines


def make_read_only(engine: Engine) -> None:
    """Every new connection of the engine refuses writes (SQLite's query_only, PostgreSQL's
    default_transaction_read_only); pooled connections are closed so that none escapes."""
    statement = (
        "PRAGMA query_only = 1"
        if engine.dialect.name == "sqlite"
        else "SET default_transaction_read_only = on"
    )

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    event.listen(engine, "connect", on_connect)
    engine.dispose()


@contextmanager
def read_only_database(engine: Engine) -> Iterator[None]:
    """The database itself refuses writes to every connection opened from now on, in any process:
    an immutable file for SQLite (`chattr +i`, which stops root too), or the database's
    default_transaction_read_only for PostgreSQL."""
    dispose_engines()
    engine.dispose()
    if engine.dialect.name == "sqlite":
        path = str(engine.url.database)
        if subprocess.run(["chattr", "+i", path], capture_output=True).returncode:
            pytest.skip("chattr +i is not supported on this file system")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", path], check=True)
        return
    with engine.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{engine.url.database}" '
                             "SET default_transaction_read_only = on"))  # fmt: skip
        conn.commit()
    try:
        yield
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text("SET TRANSACTION READ WRITE"))
            conn.execute(sa.text(f'ALTER DATABASE "{engine.url.database}" '
                                 "RESET default_transaction_read_only"))  # fmt: skip
            conn.commit()
        engine.dispose()
