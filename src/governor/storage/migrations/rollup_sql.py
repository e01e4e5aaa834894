"""The SQL that migrations 0005 and 0006 share: the triggers that log which day (0005) or hour
(0006) of the ledger and of the finished tasks changed, and the statements that rebuild rollups.

Migrations must keep producing what they produced when they shipped, so everything here takes
the grain and the names it works on as arguments and nothing reads the application's models.
"""

from alembic import op

# The columns whose change moves a ledger entry's or a finished task's place in a rollup.
LEDGER_COLUMNS = ("amount_minor", "currency", "kind", "status", "occurred_at", "offer_id",
                  "idea_id")  # fmt: skip
TASK_COLUMNS = ("status", "finished_at", "kind", "type", "ai_model", "duration_ms", "cost_micros",
                "tokens_in", "tokens_out", "offer_id", "idea_id")  # fmt: skip
SOURCES = (("ledger_entries", "ledger", "occurred_at", LEDGER_COLUMNS),
           ("execution_tasks", "tasks", "finished_at", TASK_COLUMNS))  # fmt: skip

# How each rollup sums its raw table: (rollup name stem, raw table, time column, keys, sums).
ROLLUPS = (
    ("ledger", "ledger_entries", "occurred_at",
     ("currency", "kind", "status", "offer_id", "idea_id"),
     {"amount_minor": "SUM(amount_minor)", "entries": "COUNT(*)"}),
    ("task", "execution_tasks", "finished_at",
     ("kind", "type", "ai_model", "status", "offer_id", "idea_id"),
     {"tasks": "COUNT(*)", "duration_ms": "SUM(COALESCE(duration_ms, 0))",
      "cost_micros": "SUM(COALESCE(cost_micros, 0))",
      "tokens_in": "SUM(COALESCE(tokens_in, 0))", "tokens_out": "SUM(COALESCE(tokens_out, 0))"}),
)  # fmt: skip


def postgres() -> bool:
    """Whether the migration runs on PostgreSQL (else SQLite)."""
    return op.get_bind().dialect.name == "postgresql"


def truncated(expression: str, grain: str) -> str:
    """SQL for the start of the UTC day or hour of a timestamp; on SQLite in the text form
    SQLAlchemy stores datetimes in, so that it compares with stored values."""
    if postgres():
        return f"date_trunc('{grain}', {expression}, 'UTC')"
    pattern = "%Y-%m-%d %H:00:00.000000" if grain == "hour" else "%Y-%m-%d 00:00:00.000000"
    return f"strftime('{pattern}', {expression})"


def _sqlite_triggers(table: str, source: str, when: str, columns: tuple[str, ...],
                     grain: str) -> list[str]:  # fmt: skip
    def mark(row: str) -> str:
        return (f"INSERT INTO rollup_changes (source, {grain}) SELECT '{source}', "
                f"{truncated(f'{row}.{when}', grain)} WHERE {row}.{when} IS NOT NULL;")  # fmt: skip

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    return [
        f"CREATE TRIGGER trg_{table}_rollup_insert AFTER INSERT ON {table} "
        f"WHEN NEW.{when} IS NOT NULL BEGIN {mark('NEW')} END",
        f"CREATE TRIGGER trg_{table}_rollup_update AFTER UPDATE ON {table} "
        f"WHEN {changed} BEGIN {mark('OLD')} {mark('NEW')} END",
        f"CREATE TRIGGER trg_{table}_rollup_delete AFTER DELETE ON {table} "
        f"WHEN OLD.{when} IS NOT NULL BEGIN {mark('OLD')} END",
    ]


def _postgres_triggers(table: str, source: str, when: str, columns: tuple[str, ...],
                       grain: str) -> list[str]:  # fmt: skip
    function = f"governor_{table}_rollup_change"

    def mark(row: str) -> str:
        return (f"IF {row}.{when} IS NOT NULL THEN INSERT INTO rollup_changes (source, {grain}) "
                f"VALUES ('{source}', {truncated(f'{row}.{when}', grain)}); END IF;")  # fmt: skip

    old = ", ".join(f"OLD.{c}" for c in columns)
    new = ", ".join(f"NEW.{c}" for c in columns)
    return [
        f"""CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN {mark("OLD")} END IF;
            IF TG_OP <> 'DELETE' THEN {mark("NEW")} END IF;
            RETURN NULL;
        END $$""",
        f"CREATE TRIGGER trg_{table}_rollup_change AFTER INSERT OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER trg_{table}_rollup_update AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN (({old}) IS DISTINCT FROM ({new})) EXECUTE FUNCTION {function}()",
    ]


def create_triggers(grain: str) -> None:
    """Triggers that log the `grain` (day or hour) of every changed row in `rollup_changes`."""
    make = _postgres_triggers if postgres() else _sqlite_triggers
    for table, source, when, columns in SOURCES:
        for statement in make(table, source, when, columns, grain):
            op.execute(statement)


def drop_triggers() -> None:
    """Drop what `create_triggers` made, whichever grain."""
    for table, *_ in SOURCES:
        if postgres():
            op.execute(f"DROP TRIGGER trg_{table}_rollup_change ON {table}")
            op.execute(f"DROP TRIGGER trg_{table}_rollup_update ON {table}")
            op.execute(f"DROP FUNCTION governor_{table}_rollup_change()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER trg_{table}_rollup_{event}")


def rebuild_hourly_and_daily() -> None:
    """Fill `<stem>_hourly` from the raw rows and `<stem>_daily` from the hourly rollup."""
    for stem, raw, when, keys, sums in ROLLUPS:
        key_list = ", ".join(keys)
        op.execute(f"DELETE FROM {stem}_hourly")
        op.execute(
            f"INSERT INTO {stem}_hourly (hour, {key_list}, {', '.join(sums)}) "
            f"SELECT {truncated(when, 'hour')} AS bucket, "
            + ", ".join(f"COALESCE({k}, '')" for k in keys) + ", " + ", ".join(sums.values())
            + f" FROM {raw} WHERE {when} IS NOT NULL GROUP BY bucket, "
            + ", ".join(f"COALESCE({k}, '')" for k in keys)
        )  # fmt: skip
        op.execute(f"DELETE FROM {stem}_daily")
        op.execute(
            f"INSERT INTO {stem}_daily (day, {key_list}, {', '.join(sums)}) "
            f"SELECT {truncated('hour', 'day')} AS bucket, {key_list}, "
            + ", ".join(f"SUM({name})" for name in sums)
            + f" FROM {stem}_hourly GROUP BY bucket, {key_list}"
        )  # fmt: skip
