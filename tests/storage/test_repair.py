"""`db repair` puts hand drift back as the models define it, keeping every row, or says why not."""

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.demo.business.seed_world import drop_ai_model_by_hand
from governor.errors import MigrationFailed
from governor.models import TaskSpan
from governor.models.types import utcnow
from governor.storage.backup import inspect_backup
from governor.storage.guard import check_schema
from governor.storage.migrate import migrate
from governor.storage.repair import Repair, apply_repair, plan_repair
from tests.factories import insert_task, task_row
from tests.storage.test_guard import alter

COLUMNS = ["id", "type", "status", "tokens_in", "created_at"]


def repair(engine: Engine) -> Repair:
    return apply_repair(engine, plan_repair(engine))


def objects(engine: Engine) -> set[str]:
    return {p.object for p in check_schema(engine).problems}


def spans(engine: Engine, task_id: str) -> int:
    query = sa.select(sa.func.count()).where(TaskSpan.__table__.c.task_id == task_id)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def add_span(engine: Engine, task_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(TaskSpan.__table__).values(
            task_id=task_id, trace_id="t" * 32, span_id="s" * 16, name="x", kind="internal",
            started_at=utcnow(), duration_us=1))  # fmt: skip


def test_the_seed_drift_is_shown_then_repaired_after_a_backup_keeping_the_rows(migrated: Engine):
    task_id = insert_task(migrated, ai_model="gpt-4o", finished_at=utcnow())
    add_span(migrated, task_id)
    before = task_row(migrated, task_id, COLUMNS)
    drop_ai_model_by_hand(migrated)
    drifted = objects(migrated)
    assert "execution_tasks.ai_model" in drifted

    plan = plan_repair(migrated)
    assert plan.complete and not plan.applied and plan.backup is None
    assert any("ADD COLUMN ai_model VARCHAR(100)" in s for s in plan.statements)
    assert any(
        s.startswith("CREATE INDEX ix_execution_tasks_type_ai_model") for s in plan.statements
    )
    assert objects(migrated) == drifted  # the dry run changed nothing

    done = apply_repair(migrated, plan)
    assert done.applied and done.complete, done.remaining
    assert done.backup is not None and inspect_backup(done.backup.path).revision is not None
    assert check_schema(migrated).clean
    assert task_row(migrated, task_id, COLUMNS) == before
    assert spans(migrated, task_id) == 1
    with migrated.begin() as conn:  # the rollup triggers log changes again
        conn.execute(sa.text("DELETE FROM rollup_changes"))
    insert_task(migrated, ai_model="gpt-4o", finished_at=utcnow())
    with migrated.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM rollup_changes")).scalar_one() == 1

    again = repair(migrated)
    assert again.complete and not again.statements and again.backup is None


def test_a_table_rebuilt_to_repair_it_keeps_the_rows_that_reference_it(migrated: Engine):
    """SQLite rebuilds the table; with foreign keys on, dropping the old one would cascade."""
    task_id = insert_task(migrated)

    def loosen(op) -> None:  # type: ignore[no-untyped-def]
        with op.batch_alter_table("execution_tasks") as batch:
            batch.alter_column("type", nullable=True, existing_type=sa.String(100))

    alter(migrated, loosen)  # (before the span: this rebuild, with foreign keys on, cascades)
    add_span(migrated, task_id)
    assert "execution_tasks.type" in objects(migrated)
    done = repair(migrated)
    assert done.complete, done.remaining
    assert check_schema(migrated).clean
    assert spans(migrated, task_id) == 1
    assert task_row(migrated, task_id, ["type"]) == {"type": "implement_idea"}


def test_an_extra_column_holding_data_is_refused_and_an_empty_one_dropped(migrated: Engine):
    task_id = insert_task(migrated)
    with migrated.begin() as conn:
        conn.execute(sa.text("ALTER TABLE execution_tasks ADD COLUMN notes VARCHAR(20)"))
        conn.execute(sa.text("ALTER TABLE execution_tasks ADD COLUMN unused VARCHAR(20)"))
        conn.execute(sa.text("UPDATE execution_tasks SET notes = 'keep me'"))

    done = repair(migrated)
    assert not done.complete
    [refused] = done.refused
    assert refused.object == "execution_tasks.notes"
    assert "1 rows hold a value" in refused.reason
    assert "execution_tasks.unused" not in objects(migrated)
    with migrated.connect() as conn:
        kept = conn.execute(sa.text("SELECT notes FROM execution_tasks WHERE id = :id"),
                            {"id": task_id}).scalar_one()  # fmt: skip
    assert kept == "keep me"


def test_a_not_null_column_without_a_default_is_refused_on_a_table_with_rows(migrated: Engine):
    insert_task(migrated)

    def drop(op) -> None:  # type: ignore[no-untyped-def]
        op.drop_index("ix_execution_tasks_status_waiting_on_created_at", "execution_tasks")
        with op.batch_alter_table("execution_tasks") as batch:
            batch.drop_column("waiting_on")

    alter(migrated, drop)
    plan = plan_repair(migrated)
    refused, index = plan.refused
    assert index.object == "ix_execution_tasks_status_waiting_on_created_at"
    assert refused.object == "execution_tasks.waiting_on"
    assert "NOT NULL without a server default" in refused.reason
    assert "1 rows" in refused.reason


def test_a_database_behind_the_code_is_sent_to_upgrade(engine: Engine):
    migrate(engine, "upgrade", "0001", backup=False)
    plan = plan_repair(engine)
    assert not plan.statements
    [refused] = plan.refused
    assert "governor db upgrade first" in refused.reason


def test_a_repair_that_fails_is_rolled_back_whole(migrated: Engine):
    """The unique index cannot come back over duplicates: the index before it stays out too."""
    insert_task(migrated, idempotency_key="same")

    def drop(op) -> None:  # type: ignore[no-untyped-def]
        op.drop_index("ix_execution_tasks_type_created_at", table_name="execution_tasks")
        op.drop_index("ix_execution_tasks_idempotency_key", table_name="execution_tasks")

    alter(migrated, drop)
    insert_task(migrated, idempotency_key="same")
    drifted = objects(migrated)
    with pytest.raises(MigrationFailed, match="rolled back, nothing was changed"):
        repair(migrated)
    assert objects(migrated) == drifted
