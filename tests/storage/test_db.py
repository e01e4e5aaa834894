"""Engines and sessions: SQLite's settings, UTC times, transactions."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError

from governor.config import normalize_database_url
from governor.errors import ConfigError
from governor.models import ExecutionTask, TaskDependency
from governor.storage.db import session_scope
from tests.factories import insert_task, task_row


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path, monkeypatch):
    from governor.storage.db import get_engine

    engine = get_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_foreign_keys_are_enforced(migrated: Engine):
    with pytest.raises(IntegrityError), session_scope(migrated) as session:
        session.add(TaskDependency(task_id="task_missing", depends_on_id="task_other"))


def test_times_come_back_aware_in_utc(migrated: Engine):
    paris = timezone(timedelta(hours=2))
    started = datetime(2026, 6, 1, 14, 30, 15, 123456, tzinfo=paris)
    task_id = insert_task(migrated, started_at=started)
    value = task_row(migrated, task_id, ["started_at"])["started_at"]
    assert value == started
    assert value.utcoffset() == timedelta(0)
    assert value.hour == 12


def test_naive_times_are_refused(migrated: Engine):
    with pytest.raises(StatementError, match="naive datetime"):
        insert_task(migrated, started_at=datetime(2026, 6, 1, 12, 0))


def test_a_failed_unit_of_work_leaves_nothing_behind(migrated: Engine):
    with pytest.raises(RuntimeError), session_scope(migrated) as session:
        session.add(ExecutionTask(id="task_rolled_back", type="create_offer"))
        session.flush()
        raise RuntimeError("handler crashed")
    with session_scope(migrated, readonly=True) as session:
        assert session.get(ExecutionTask, "task_rolled_back") is None


def test_a_reader_does_not_hold_back_a_writer(migrated: Engine):
    insert_task(migrated)
    with session_scope(migrated, readonly=True) as reader:
        assert reader.scalar(sa.select(sa.func.count()).select_from(ExecutionTask)) == 1
        insert_task(migrated)  # another connection writes while the read transaction is open
    with session_scope(migrated, readonly=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExecutionTask)) == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u:p@db:5432/gov", "postgresql+psycopg://u:p@db:5432/gov"),
        ("postgres://u@db/gov", "postgresql+psycopg://u@db/gov"),
        ("sqlite:///var/governor.db", "sqlite:///var/governor.db"),
    ],
)
def test_database_urls_are_normalised(raw, expected):
    assert normalize_database_url(raw) == expected


@pytest.mark.parametrize("raw", ["not a url", "mysql://u@h/db", "sqlite://", "sqlite:///:memory:"])
def test_unusable_database_urls_are_refused_with_a_hint(raw):
    with pytest.raises(ConfigError) as error:
        normalize_database_url(raw)
    assert "GOVERNOR_DATABASE_URL" in error.value.message
    assert error.value.hint
