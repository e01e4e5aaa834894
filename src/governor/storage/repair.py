"""`governor db repair`: the DDL that puts a hand-changed schema back as the models define it."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.operations import Operations, ops
from sqlalchemy.engine import Engine

from governor.errors import MigrationFailed
from governor.models import Base
from governor.models.analytics import ROLLUP_TRIGGERS
from governor.storage.backup import Backup, create_backup
from governor.storage.db import connect
from governor.storage.faults import database_fault
from governor.storage.guard import SchemaReport, check_schema, comparison_context, missing_triggers
from governor.storage.migrations import rollup_sql

REVISION_KINDS = ("not_initialised", "unversioned", "unknown_revision", "behind")
"""Problems of the migration revision: upgrade or restore mends them, repair does not."""

ROLLUP_GRAIN = "hour"
"""The grain the head's rollup triggers log (migration 0006)."""


@dataclass(frozen=True)
class Refusal:
    """A difference the repair leaves alone, and why."""

    object: str
    reason: str

    def __str__(self) -> str:
        return f"{self.object}: {self.reason}"


@dataclass
class Repair:
    """A repair's plan (the SQL, tried in a transaction and rolled back) and what it did."""

    database: str
    statements: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    backup: Backup | None = None
    applied: bool = False
    remaining: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether the schema is (or, for a plan, would be) clean with the repair."""
        return not self.refused and not self.remaining

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["backup"] = self.backup.to_dict() if self.backup else None
        return {"complete": self.complete, **data}


def plan_repair(engine: Engine) -> Repair:
    """What a repair would run and refuse; the SQL is tried in a transaction then rolled back."""
    report = check_schema(engine)
    plan = Repair(database=report.database)
    plan.refused = _revision_refusals(report)
    if report.clean or plan.refused:
        return plan
    plan.statements, plan.refused = _run(engine, commit=False)
    return plan


def apply_repair(engine: Engine, done: Repair) -> Repair:
    """Take a verified backup, run the plan in one transaction, then check again."""
    if not done.statements:
        return done
    done.backup = create_backup(engine)
    statements, _ = _run(engine, commit=True, expected=done.statements)
    done.applied = bool(statements)
    refused = {r.object for r in done.refused}
    done.remaining = [str(p) for p in check_schema(engine).problems if p.object not in refused]
    return done


def _revision_refusals(report: SchemaReport) -> list[Refusal]:
    return [
        Refusal(p.object, f"{p.message}: {p.fix} first; repair mends hand changes at the head")
        for p in report.problems
        if p.kind in REVISION_KINDS
    ]


def _run(
    engine: Engine, *, commit: bool, expected: list[str] | None = None
) -> tuple[list[str], list[Refusal]]:
    """Run the repair in one transaction; return the SQL it ran and what it refused."""
    with connect(engine) as connection, _foreign_keys_off(connection):
        transaction = connection.begin()
        try:
            refused, statements = _repair_in(connection)
            if expected is not None and sorted(statements) != sorted(expected):
                raise MigrationFailed(
                    "The database changed between the repair's plan and its run; nothing was "
                    "changed.",
                    hint="Run `governor db repair --dry-run` again and check what it shows.",
                )
        except sa.exc.DBAPIError as error:
            transaction.rollback()
            fault = database_fault(error, engine)  # read-only, full, gone: said as such
            if fault is not None:
                raise fault from error
            raise MigrationFailed(
                f"The repair failed and was rolled back, nothing was changed: {error.orig}",
                hint="`governor db check` names the differences; restore a backup "
                "(governor db restore PATH) or put them right by hand.",
            ) from error
        except BaseException:
            transaction.rollback()
            raise
        if commit:
            transaction.commit()
        else:
            transaction.rollback()
    return statements, refused


@contextmanager
def _foreign_keys_off(connection: sa.Connection) -> Iterator[None]:
    """On SQLite, foreign keys off around the transaction: rebuilding a table drops the old one,
    and with them on that would delete the rows that reference it (ON DELETE CASCADE).
    `PRAGMA foreign_key_check` in the transaction then proves that no reference broke."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction: inside, it is ignored
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _repair_in(connection: sa.Connection) -> tuple[list[Refusal], list[str]]:
    """Inside the open transaction: refuse what is unsafe, run the rest, return its SQL."""
    context = comparison_context(connection)
    planned = produce_migrations(context, Base.metadata).upgrade_ops
    assert planned is not None
    refused: list[Refusal] = []
    safe = [op for op in planned.ops if _keep(connection, op, refused)]
    triggers_lost = bool(missing_triggers(connection))
    statements: list[str] = []
    with _recorded(connection, statements):
        operations = Operations(context)
        for op in safe:
            if isinstance(op, ops.ModifyTableOps):
                with operations.batch_alter_table(op.table_name, recreate="auto") as batch:
                    for change in op.ops:
                        batch.invoke(change)
            else:
                operations.invoke(op)
        if triggers_lost or missing_triggers(connection):  # a table rebuild drops them too
            with Operations.context(context):
                _recreate_triggers(connection)
                rollup_sql.rebuild_hourly_and_daily()  # what changed meanwhile was not logged
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise MigrationFailed(
                f"The repair would break {len(broken)} foreign key reference(s) "
                f"(first: {tuple(broken[0])}); it was rolled back, nothing was changed.",
                hint="Restore a backup (governor db restore PATH).",
            )
    return refused, statements


@contextmanager
def _recorded(connection: sa.Connection, statements: list[str]) -> Iterator[None]:
    """Record the statements that change the schema (not the reflection's reads)."""

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "PRAGMA", "WITH")):
            statements.append(" ".join(statement.split()))

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        yield
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)


def _recreate_triggers(connection: sa.Connection) -> None:
    """Drop whatever is left of the rollup triggers, then create them as migration 0006 did."""
    postgres = connection.dialect.name == "postgresql"
    for table, *_ in rollup_sql.SOURCES:
        for name in ROLLUP_TRIGGERS[connection.dialect.name]:
            if name.startswith(f"trg_{table}_"):
                on = f" ON {table}" if postgres else ""
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{on}")
        if postgres:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS governor_{table}_rollup_change()")
    rollup_sql.create_triggers(ROLLUP_GRAIN)


def _keep(connection: sa.Connection, op: ops.MigrateOperation, refused: list[Refusal]) -> bool:
    """Whether an operation is safe to run; record the reason when it is not."""
    if isinstance(op, ops.DropTableOp):
        rows = _count(connection, op.table_name)
        refused.append(Refusal(op.table_name, f"not a Governor table ({rows} rows): Governor "
                               "does not drop what it did not make; drop it or move it "
                               "yourself if nothing needs it"))  # fmt: skip
        return False
    if isinstance(op, ops.ModifyTableOps):
        table = op.table_name
        op.ops = [change for change in op.ops if _keep_change(connection, table, change, refused)]
        left_out = {r.object.split(".", 1)[1] for r in refused if r.object.startswith(f"{table}.")}
        op.ops = [change for change in op.ops if _needs_none(change, left_out, refused)]
        return bool(op.ops)
    return True


def _needs_none(change: ops.MigrateOperation, left_out: set[str], refused: list[Refusal]) -> bool:
    """Whether an index to create needs none of the columns the repair leaves out."""
    if not isinstance(change, ops.CreateIndexOp):
        return True
    needed = left_out & {getattr(c, "name", str(c)) for c in change.columns}
    if needed:
        refused.append(Refusal(change.index_name or change.table_name,
                               f"needs {', '.join(sorted(needed))}, left out above"))  # fmt: skip
    return not needed


def _keep_change(
    connection: sa.Connection, table: str, change: ops.MigrateOperation, refused: list[Refusal]
) -> bool:
    """Whether a change to one table is safe; refuse what would lose or invent data."""
    if isinstance(change, ops.DropColumnOp):
        name = change.column_name
        values = _count(connection, table, sa.column(name).is_not(None))
        if values:
            refused.append(Refusal(f"{table}.{name}", f"not in the models, but {values} rows "
                                   "hold a value in it, which dropping it would lose: copy "
                                   "what you need, then drop it by hand"))  # fmt: skip
            return False
    if isinstance(change, ops.AddColumnOp):
        column = change.column
        if not column.nullable and column.server_default is None:
            rows = _count(connection, table)
            if rows:
                refused.append(Refusal(f"{table}.{column.name}", f"NOT NULL without a server "
                                       f"default, and the table has {rows} rows that would "
                                       "need a value: restore a backup (governor db restore "
                                       "PATH)"))  # fmt: skip
                return False
    if isinstance(change, ops.AlterColumnOp) and change.modify_nullable is False:
        name = change.column_name
        nulls = _count(connection, table, sa.column(name).is_(None))
        if nulls:
            reason = f"must be NOT NULL, but {nulls} rows hold NULL in it: give them a value"
            refused.append(Refusal(f"{table}.{name}", f"{reason}, then repair again"))
            return False
    return True


def _count(connection: sa.Connection, table: str, where: Any = None) -> int:
    """Rows of a table (that match `where`)."""
    query = sa.select(sa.func.count()).select_from(sa.table(table))
    if where is not None:
        query = query.where(where)
    return int(connection.execute(query).scalar_one())
