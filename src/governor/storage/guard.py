"""The schema guard: compares the live database with the models and the migration head."""

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from governor.errors import SchemaDrift
from governor.models import Base
from governor.models.analytics import ROLLUP_TRIGGERS
from governor.storage import revisions
from governor.storage.db import connect, describe, sqlite_path

UPGRADE = "run: governor db upgrade"
RESTORE = "restore a backup (governor db restore PATH)"
REPAIR = "`governor db repair` (--dry-run shows its SQL)"


@dataclass(frozen=True)
class Problem:
    """One difference between the database and the code, with what to do about it."""

    kind: str
    object: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.object}: {self.message} — {self.fix}"


@dataclass
class SchemaReport:
    """The guard's verdict on one database."""

    database: str
    revision: str | None
    head: str
    pending: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        return "clean" if self.clean else "drift"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, **asdict(self)}


def _sql(type_: Any, dialect: sa.Dialect) -> str:
    return str(type_.compile(dialect=dialect))


def _column_spec(column: sa.Column[Any], dialect: sa.Dialect) -> str:
    return f"{_sql(column.type, dialect)} {'NULL' if column.nullable else 'NOT NULL'}"


def _describe_table(diff: Any, dialect: sa.Dialect) -> tuple[str, str, str]:
    op, table = diff
    if op == "add_table":
        return "missing_table", table.name, "missing in the database"
    return "extra_table", table.name, "in the database but not in Governor's models"


def _describe_column(diff: Any, dialect: sa.Dialect) -> tuple[str, str, str]:
    op, _, table, column = diff
    name = f"{table}.{column.name}"
    if op == "add_column":
        expected = _column_spec(column, dialect)
        return "missing_column", name, f"missing in the database (expected {expected})"
    found = _sql(column.type, dialect)
    return "extra_column", name, f"in the database ({found}) but not in the models"


def _describe_modify(diff: Any, dialect: sa.Dialect) -> tuple[str, str, str]:
    op, _, table, column, _, found, expected = diff
    name = f"{table}.{column}"
    if op == "modify_type":
        found_sql, expected_sql = _sql(found, dialect), _sql(expected, dialect)
        return (
            "type_mismatch",
            name,
            f"type is {found_sql} in the database, expected {expected_sql}",
        )
    null = {True: "NULL", False: "NOT NULL"}
    return (
        "nullability_mismatch",
        name,
        f"is {null[found]} in the database, expected {null[expected]}",
    )


def _describe_constraint(diff: Any, dialect: sa.Dialect) -> tuple[str, str, str]:
    op, thing = diff
    action, noun = op.split("_", 1)
    noun = {"index": "index", "constraint": "constraint", "fk": "foreign key"}[noun]
    where = f"{thing.table.name}({', '.join(c.name for c in thing.columns)})"
    kind = noun.replace(" ", "_")
    if action == "add":
        return f"missing_{kind}", thing.name or where, f"{noun} on {where} missing in the database"
    return (
        f"extra_{kind}",
        thing.name or where,
        f"{noun} on {where} in the database, not the models",
    )


_DESCRIBE = {
    "add_table": _describe_table,
    "remove_table": _describe_table,
    "add_column": _describe_column,
    "remove_column": _describe_column,
    "modify_type": _describe_modify,
    "modify_nullable": _describe_modify,
    **{
        f"{action}_{noun}": _describe_constraint
        for action in ("add", "remove")
        for noun in ("index", "constraint", "fk")
    },
}


def _describe_diff(diff: Any, dialect: sa.Dialect) -> tuple[str, str, str]:
    """(kind, object, message) for one entry of Alembic's compare_metadata."""
    describe_one = _DESCRIBE.get(diff[0])
    if describe_one is None:
        return "other", str(diff[0]), repr(diff)
    return describe_one(diff, dialect)


def _unexplained_fix(kind: str) -> str:
    if kind == "extra_table":
        return "not made by Governor's migrations: drop it, or move it to another database"
    if kind.startswith("extra_"):
        return f"not made by Governor's migrations: {REPAIR} drops it unless it holds data"
    return f"no migration explains this (changed by hand?): {REPAIR}, or {RESTORE}"


def comparison_context(connection: sa.Connection) -> MigrationContext:
    """The Alembic context the guard compares with (and the repair generates DDL from)."""
    return MigrationContext.configure(connection, opts={"compare_type": True})


def _compare(connection: sa.Connection, fix: str | None) -> list[Problem]:
    problems = []
    for entry in compare_metadata(comparison_context(connection), Base.metadata):
        for diff in entry if isinstance(entry, list) else [entry]:
            kind, name, message = _describe_diff(diff, connection.dialect)
            problems.append(Problem(kind, name, message, fix or _unexplained_fix(kind)))
    return problems


def check_schema(engine: Engine) -> SchemaReport:
    """Compare the database with the code; raise DatabaseUnreachable if it cannot be read."""
    report = SchemaReport(database=describe(engine), revision=None, head=revisions.head())
    path = sqlite_path(engine.url)
    if path is not None and not path.exists():
        report.pending = revisions.pending(None)
        report.problems.append(
            Problem("not_initialised", str(path), "the database file does not exist", UPGRADE)
        )
        return report
    with connect(engine, readonly=True) as connection:
        report.revision = revisions.current(connection)
        has_tables = bool(sa.inspect(connection).get_table_names())
        if report.revision is None and not has_tables:
            report.pending = revisions.pending(None)
            report.problems.append(
                Problem("not_initialised", "database", "it has no Governor schema yet", UPGRADE)
            )
            return report
        fix = _revision_problem(report)
        report.problems.extend(_compare(connection, fix))
        if report.revision == report.head:
            report.problems.extend(missing_triggers(connection))
    return report


def missing_triggers(connection: sa.Connection) -> list[Problem]:
    """Triggers the rollups need; rebuilding a table (SQLite's batch migrations do) drops them."""
    dialect = connection.dialect.name
    query = ("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal" if dialect == "postgresql"
             else "SELECT name FROM sqlite_master WHERE type = 'trigger'")  # fmt: skip
    present = set(connection.exec_driver_sql(query).scalars())
    message = ("the trigger that keeps the analytics rollups current is missing, so the "
               "dashboard's figures would silently go stale")  # fmt: skip
    fix = f"{REPAIR} recreates it, or {RESTORE}"
    expected = ROLLUP_TRIGGERS.get(dialect, ())
    return [Problem("missing_trigger", name, message, fix) for name in expected
            if name not in present]  # fmt: skip


def _revision_problem(report: SchemaReport) -> str | None:
    """Record a revision that is not the head; return the fix for the differences it explains."""
    revision = report.revision
    if revision == report.head:
        return None
    if revision is None:
        report.problems.append(
            Problem(
                "unversioned",
                "alembic_version",
                "the database has tables but no migration revision: Governor did not create it",
                "point GOVERNOR_DATABASE_URL at an empty database or a Governor one",
            )
        )
        return "not made by Governor's migrations"
    if not revisions.is_known(revision):
        fix = f"install the Governor that wrote it, or {RESTORE} made before"
        report.problems.append(
            Problem(
                "unknown_revision",
                "alembic_version",
                f"the database is at revision {revision}, newer than this Governor "
                f"(head {report.head})",
                fix,
            )
        )
        return fix
    report.pending = revisions.pending(revision)
    report.problems.append(
        Problem(
            "behind",
            "alembic_version",
            f"the database is at revision {revision}, behind the code's {report.head}; "
            f"pending: {', '.join(report.pending)}",
            UPGRADE,
        )
    )
    return UPGRADE


def summary(report: SchemaReport, *, verbose: bool = False) -> list[str]:
    """The verdict as lines for a person. A database behind the code gets its revision, the
    pending migrations with what each adds, and the one command, rather than every table and
    column they add (those with `verbose`)."""
    if verbose or not any(p.kind == "behind" for p in report.problems):
        return [str(problem) for problem in report.problems]
    count = len(report.pending)
    lines = [f"the database is at revision {report.revision}, behind this Governor's "
             f"{report.head}: {count} pending migration{'s' if count != 1 else ''}"]  # fmt: skip
    for revision in report.pending:
        migration = revisions.migration(revision)
        lines.append(f"    {revision}  {migration.message} ({revisions.adds(revision)})")
    lines += [str(p) for p in report.problems if p.fix != UPGRADE]  # what they do not explain
    lines.append(f"{UPGRADE} (it takes a verified backup first)")
    return lines


def headline(report: SchemaReport) -> str:
    """The verdict in one line: how far behind, or the first differences by name."""
    if any(p.kind == "behind" for p in report.problems):
        return (f"the database is at revision {report.revision}, behind this Governor's "
                f"{report.head} (`governor db upgrade` applies {len(report.pending)} pending "
                "migrations)")  # fmt: skip
    names = ", ".join(p.object for p in report.problems[:3])
    more = f" and {len(report.problems) - 3} more" if len(report.problems) > 3 else ""
    count = len(report.problems)
    return f"{count} difference{'s' if count != 1 else ''}: {names}{more}"


def drift_error(report: SchemaReport) -> SchemaDrift:
    """The SchemaDrift that refuses to run on this report's database, naming what differs."""
    lines = "\n".join(f"  {'' if line.startswith(' ') else '- '}{line}" for line in summary(report))
    behind = any(p.kind == "behind" for p in report.problems)
    details = ("`governor db check --verbose` lists every table and column they add"
               if behind else "`governor db check` shows the details")  # fmt: skip
    return SchemaDrift(
        f"The database schema differs from this Governor's; refusing to run.\n{lines}",
        hint=f"{details}; the `db` commands still work.",
    )


def require_clean_schema(engine: Engine) -> SchemaReport:
    """Run the guard; raise SchemaDrift naming every difference unless the schema is clean."""
    report = check_schema(engine)
    if not report.clean:
        raise drift_error(report)
    return report
