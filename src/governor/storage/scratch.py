"""Scratch databases beside a live one, where audits restore backups and plant faults
without touching real data; each is dropped afterwards."""

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from governor.storage.db import create_engine, sqlite_path


@contextmanager
def scratch_database(engine: Engine) -> Iterator[Engine]:
    """An empty database of the audited one's kind: a temporary SQLite file, or a new
    PostgreSQL database on the same server (the audited role must be allowed to create one)."""
    if sqlite_path(engine.url) is not None:
        with tempfile.TemporaryDirectory(prefix="governor-scratch-") as folder:
            scratch = create_engine(f"sqlite:///{Path(folder) / 'scratch.db'}")
            try:
                yield scratch
            finally:
                scratch.dispose()
        return
    name = f"governor_scratch_{secrets.token_hex(6)}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    scratch = create_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield scratch
    finally:
        scratch.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
