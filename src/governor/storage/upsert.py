"""Bulk insert-or-update on SQLite and PostgreSQL (both speak ON CONFLICT)."""

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

CHUNK = 2000


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    keep: Sequence[str] = (),
    ignore: bool = False,
    changes: Callable[[Table, Any], dict[str, Any]] | None = None,
) -> None:
    """Insert rows; on a conflict on `key` update them (or leave them, with `ignore`).

    Columns in `keep` keep their stored value when the new one is NULL; `changes(table,
    excluded)` replaces the whole SET clause when a merge needs its own rule.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    if ignore:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    elif changes is not None:
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_=changes(table, statement.excluded)
        )
    else:
        excluded = statement.excluded
        update = {
            name: func.coalesce(excluded[name], table.c[name]) if name in keep else excluded[name]
            for name in rows[0]
            if name not in key
        }
        statement = statement.on_conflict_do_update(index_elements=list(key), set_=update)
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, list(rows[start : start + CHUNK]))
