"""Rows for tests, as plain functions."""

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.ids import new_id
from governor.models import ExecutionTask, LedgerEntry
from governor.models.types import utcnow

TASKS = ExecutionTask.__table__


def insert_task(engine: Engine, **values: Any) -> str:
    """Insert an execution_tasks row naming only the given columns (so it works at any revision)."""
    row = {
        "id": new_id("task"), "kind": "agent", "type": "implement_idea", "status": "succeeded",
        "attempts": 1, "max_attempts": 3, "created_at": utcnow(), "input": {"idea": "x"},
        "tokens_in": 1200, "tokens_out": 300, "cost_micros": 4500,
    }  # fmt: skip
    row.update(values)
    with engine.begin() as conn:
        # The table as it is in the database (at any revision), without the models' defaults.
        table = sa.Table("execution_tasks", sa.MetaData(), autoload_with=conn)
        for name in ("created_at", "started_at", "finished_at"):
            table.c[name].type = TASKS.c[name].type  # keep UTC handling on SQLite
        conn.execute(sa.insert(table).values(**row))
    return str(row["id"])


def task_row(engine: Engine, task_id: str, columns: Iterable[str]) -> dict[str, Any]:
    """The named columns of one task."""
    with engine.connect() as conn:
        query = sa.select(*(TASKS.c[name] for name in columns)).where(TASKS.c.id == task_id)
        return dict(conn.execute(query).mappings().one())


def insert_entry(engine: Engine, **values: Any) -> str:
    """Insert a ledger entry (default: a succeeded USD charge of 49.00 now)."""
    ref = values.pop("source_ref", None) or new_id("ch")
    when = values.pop("occurred_at", None) or utcnow()
    row = {
        "id": new_id("le"), "kind": "charge", "amount_minor": 4900, "currency": "usd",
        "status": "succeeded", "occurred_at": when, "source": "stripe", "source_ref": ref,
        "watermark": when, "created_at": utcnow(), "updated_at": utcnow(),
    }  # fmt: skip
    row.update(values)
    with engine.begin() as conn:
        conn.execute(sa.insert(LedgerEntry.__table__).values(**row))
    return str(row["id"])
