"""Make a real database refuse writes, as a read-only file or a standby server does."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


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
