"""Database faults a person can act on, in one line: which database, what is wrong, what to do."""

import sqlite3

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.errors import DatabaseUnreachable, DatabaseUnwritable, GovernorError

# SQLite says these when the file (or its folder, where the -wal and -shm files live) cannot be
# written; each is the start of the driver's message.
_SQLITE_UNWRITABLE = (
    "attempt to write a readonly database",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
    "readonly database",
)
# PostgreSQL's SQLSTATEs for "answers, but will not write": read-only transaction (a standby,
# default_transaction_read_only), disk full, out of memory, too many connections.
_POSTGRES_UNWRITABLE = {"25006", "53100", "53200", "53300"}
# Class 08 is "connection exception"; 57P01-57P03 a server shutting down or starting up.
_POSTGRES_UNREACHABLE_PREFIXES = ("08", "57P")


def database_fault(error: BaseException, engine: Engine) -> GovernorError | None:
    """The GovernorError that explains a database failure, or None for any other error."""
    if not isinstance(error, sa.exc.DBAPIError):
        return None
    where = describe_database(engine)
    cause = first_line(error)
    if engine.dialect.name == "sqlite":
        if isinstance(error.orig, sqlite3.OperationalError) and cause.lower().startswith(
            _SQLITE_UNWRITABLE
        ):
            return DatabaseUnwritable(
                f"The database {where} is not writable: {cause}.",
                hint="Check that the file and its folder are writable by this user and that "
                "the disk has room (SQLite writes -wal and -shm files beside the database).",
            )
        return None
    state = getattr(error.orig, "sqlstate", None) or ""
    if state in _POSTGRES_UNWRITABLE:
        return DatabaseUnwritable(
            f"The database {where} refuses writes: {cause}.",
            hint="Check that the server is a primary with disk space and free connections.",
        )
    if state.startswith(_POSTGRES_UNREACHABLE_PREFIXES) or (
        isinstance(error, sa.exc.OperationalError) and error.connection_invalidated
    ):
        return unreachable(engine, error)
    return None


def unreachable(engine: Engine, error: sa.exc.DBAPIError) -> DatabaseUnreachable:
    """The error for a database that cannot be connected to."""
    return DatabaseUnreachable(
        f"Cannot connect to the database {describe_database(engine)}: {first_line(error)}",
        hint="Check GOVERNOR_DATABASE_URL and that the database server is running.",
    )


def describe_database(engine: Engine) -> str:
    """The engine's URL with any password hidden: safe for logs and the command line."""
    return engine.url.render_as_string(hide_password=True)


def first_line(error: sa.exc.DBAPIError) -> str:
    """The driver's own message, first line only, without a trailing full stop."""
    text = str(error.orig) if error.orig is not None else str(error)
    lines = text.strip().splitlines()
    return (lines[0] if lines else type(error).__name__).rstrip(".")
