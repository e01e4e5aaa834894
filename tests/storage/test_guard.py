"""The schema guard names every difference between the database and the code, with its fix."""

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Engine

from governor.errors import SchemaDrift
from governor.storage import revisions
from governor.storage.db import get_engine
from governor.storage.guard import check_schema, require_clean_schema


def alter(engine: Engine, change) -> None:  # type: ignore[no-untyped-def]
    """Change the schema by hand, as an operator at a SQL prompt would."""
    with engine.begin() as conn:
        change(Operations(MigrationContext.configure(conn)))


def drift(engine: Engine) -> list:  # type: ignore[type-arg]
    """The problems besides the rollup triggers that SQLite's table rebuilds also drop."""
    return [p for p in check_schema(engine).problems if p.kind != "missing_trigger"]


def kinds(engine: Engine) -> dict[str, str]:
    return {p.object: p.kind for p in drift(engine)}


def test_a_column_dropped_by_hand_is_named_and_not_blamed_on_a_migration(migrated: Engine):
    def drop(op: Operations) -> None:
        with op.batch_alter_table("execution_tasks") as batch:
            batch.drop_column("price_version")

    alter(migrated, drop)
    [problem] = drift(migrated)
    assert (problem.kind, problem.object) == ("missing_column", "execution_tasks.price_version")
    assert "expected VARCHAR(40) NULL" in problem.message
    assert "no migration explains this" in problem.fix
    if migrated.dialect.name == "sqlite":  # the rebuilt table lost its triggers: named too
        lost = {p.object for p in check_schema(migrated).problems} - {problem.object}
        assert lost == {f"trg_execution_tasks_rollup_{e}" for e in ("insert", "update", "delete")}


def test_a_retyped_column_is_named_with_both_types(migrated: Engine):
    def retype(op: Operations) -> None:
        with op.batch_alter_table("execution_tasks") as batch:
            batch.alter_column(
                "lease_owner",
                type_=sa.Integer(),
                existing_type=sa.String(100),
                postgresql_using="NULL::integer",
            )

    alter(migrated, retype)
    [problem] = drift(migrated)
    assert problem.kind == "type_mismatch"
    assert problem.object == "execution_tasks.lease_owner"
    assert "INTEGER in the database, expected VARCHAR(100)" in problem.message


def test_nullability_changed_by_hand_is_named(migrated: Engine):
    def loosen(op: Operations) -> None:
        with op.batch_alter_table("execution_tasks") as batch:
            batch.alter_column("type", nullable=True, existing_type=sa.String(100))

    alter(migrated, loosen)
    assert kinds(migrated) == {"execution_tasks.type": "nullability_mismatch"}


def test_an_extra_table_and_a_dropped_index_are_named(migrated: Engine):
    def tamper(op: Operations) -> None:
        op.create_table("scratch", sa.Column("id", sa.Integer, primary_key=True))
        op.drop_index("ix_execution_tasks_type_created_at", table_name="execution_tasks")

    alter(migrated, tamper)
    assert kinds(migrated) == {
        "scratch": "extra_table",
        "ix_execution_tasks_type_created_at": "missing_index",
    }


def test_a_dropped_foreign_key_is_named(migrated: Engine):
    def drop_fk(op: Operations) -> None:
        with op.batch_alter_table("task_dependencies") as batch:
            batch.drop_constraint(
                "fk_task_dependencies_depends_on_id_execution_tasks", type_="foreignkey"
            )

    alter(migrated, drop_fk)
    assert kinds(migrated) == {
        "fk_task_dependencies_depends_on_id_execution_tasks": "missing_foreign_key"
    }


def test_a_database_newer_than_the_code_is_refused(migrated: Engine):
    with migrated.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    problems = {p.kind: p for p in check_schema(migrated).problems}
    assert "newer than this Governor" in problems["unknown_revision"].message
    with pytest.raises(SchemaDrift, match="revision 0099"):
        require_clean_schema(migrated)


def test_an_empty_database_is_not_initialised(engine: Engine):
    report = check_schema(engine)
    assert [p.kind for p in report.problems] == ["not_initialised"]
    assert report.problems[0].fix == "run: governor db upgrade"
    assert report.pending == [m.revision for m in revisions.history()]


def test_checking_a_missing_sqlite_file_does_not_create_it(tmp_path):
    path = tmp_path / "nowhere" / "governor.db"
    report = check_schema(get_engine(f"sqlite:///{path}"))
    assert report.problems[0].kind == "not_initialised"
    assert not path.exists()


def test_tables_without_a_revision_are_not_mistaken_for_governors(engine: Engine):
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE execution_tasks (id VARCHAR(40) PRIMARY KEY)"))
    problems = kinds(engine)
    assert problems["alembic_version"] == "unversioned"
    assert problems["execution_tasks.type"] == "missing_column"


def test_a_table_rebuilt_without_its_rollup_triggers_is_named(migrated: Engine):
    dialect = migrated.dialect.name
    with migrated.begin() as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER trg_ledger_entries_rollup_update ON ledger_entries")
        else:
            conn.exec_driver_sql("DROP TRIGGER trg_ledger_entries_rollup_update")
    problems = check_schema(migrated).problems
    assert [(p.kind, p.object) for p in problems] == [
        ("missing_trigger", "trg_ledger_entries_rollup_update")]  # fmt: skip
    assert "figures would silently go stale" in problems[0].message
