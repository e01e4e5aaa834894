"""The health verdict /healthz and the pages show: schema and writability, re-checked at most
every few seconds."""

import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.requests import Request

from governor.auth.service import verify_token
from governor.errors import DatabaseUnreachable, DatabaseUnwritable, GovernorError
from governor.storage.db import connect, session_scope
from governor.storage.faults import first_line
from governor.storage.guard import check_schema
from governor.web.auth import CONTEXT_KEY, SESSION_COOKIE, AuthContext


def check_writable(engine: Engine) -> None:
    """Raise DatabaseUnwritable unless the database takes a write; the write is rolled back,
    so nothing is left behind (SQLite: the header's user_version rewritten as it is, which
    needs the file, its journal and the write lock; PostgreSQL: a read-only session or a
    standby)."""
    with connect(engine) as connection:
        if engine.dialect.name == "sqlite":
            with connection.begin() as transaction:  # BEGIN IMMEDIATE (storage/db.py)
                version = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
                connection.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
                transaction.rollback()
            return
        read_only, standby = connection.exec_driver_sql(
            "SELECT current_setting('transaction_read_only') = 'on', pg_is_in_recovery()"
        ).one()
    if read_only or standby:
        what = "is a standby (in recovery)" if standby else "opens read-only transactions"
        raise DatabaseUnwritable(
            f"The database {engine.url.render_as_string(hide_password=True)} {what}.",
            hint="Point GOVERNOR_DATABASE_URL at the primary, or turn off "
            "default_transaction_read_only.",
        )


class HealthProbe:
    """Runs the schema guard and the write check and keeps their answer for `max_age` seconds."""

    def __init__(self, engine: Engine, max_age: float) -> None:
        self._engine = engine
        self._max_age = max_age
        self._lock = threading.Lock()
        self._answer: tuple[dict[str, Any], dict[str, Any]] | None = None
        self._at = 0.0

    def _schema(self) -> dict[str, Any]:
        try:
            report = check_schema(self._engine)
        except DatabaseUnreachable as error:
            return {"verdict": "unreachable", "message": error.message, "problems": []}
        return report.to_dict()

    def _writable(self) -> dict[str, Any]:
        try:
            check_writable(self._engine)
        except (DatabaseUnwritable, DatabaseUnreachable) as error:
            return {"writable": False, "message": error.message}
        except sa.exc.DBAPIError as error:  # e.g. the write lock not had within busy_timeout
            return {
                "writable": False,
                "message": f"A rolled-back write failed: {first_line(error)}.",
            }
        return {"writable": True, "message": None}

    def _measured(self) -> tuple[dict[str, Any], dict[str, Any]]:
        with self._lock:
            if self._answer is None or time.monotonic() - self._at >= self._max_age:
                schema = self._schema()
                database = self._writable() if schema["verdict"] != "unreachable" else {
                    "writable": False, "message": schema["message"]}  # fmt: skip
                self._answer, self._at = (schema, database), time.monotonic()
            return self._answer

    def schema(self) -> dict[str, Any]:
        """The latest schema report as JSON-ready data."""
        return self._measured()[0]

    def database(self) -> dict[str, Any]:
        """Whether the database took the latest rolled-back write, and if not why."""
        return self._measured()[1]


def signed_in(request: Request) -> bool:
    """Whether the request carries a valid token or session (/healthz is public, so the sign-in
    middleware does not look; a database that cannot say counts as not signed in)."""
    context = request.scope.get("state", {}).get(CONTEXT_KEY)
    authorization = request.headers.get("authorization")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not isinstance(context, AuthContext) or not (authorization or cookie):
        return False
    try:
        if authorization and authorization[:7].lower() == "bearer ":  # read-only: no last_used
            with session_scope(context.engine, readonly=True) as session:
                return verify_token(session, authorization[7:].strip(), touch=False) is not None
        return context.identify(None, cookie) is not None
    except (GovernorError, sa.exc.SQLAlchemyError):
        return False
