"""Backups: written and verified, restored exactly, refused when they are not Governor's."""

import sqlite3
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.errors import BadInput, MigrationFailed
from governor.storage import revisions
from governor.storage.backup import create_backup, inspect_backup, list_backups, restore_backup
from governor.storage.db import get_engine
from governor.storage.guard import check_schema
from governor.storage.migrate import migrate
from tests.factories import insert_task

HEAD = revisions.head()
FAILING_MIGRATIONS = {
    "2099_01_01_9001_add_scratch.py": '''
        """A migration that works: a new table and column, and rows changed."""
        import sqlalchemy as sa
        from alembic import op

        revision, down_revision, branch_labels, depends_on = "9001", "{head}", None, None

        def upgrade():
            op.create_table("scratch", sa.Column("id", sa.Integer, primary_key=True))
            with op.batch_alter_table("execution_tasks") as batch:
                batch.add_column(sa.Column("extra", sa.Integer, nullable=True))
            op.execute("UPDATE execution_tasks SET status = 'mangled'")

        def downgrade():
            op.drop_table("scratch")
        ''',
    "2099_01_01_9002_fails_midway.py": '''
        """A migration that fails after changing something."""
        from alembic import op

        revision, down_revision, branch_labels, depends_on = "9002", "9001", None, None

        def upgrade():
            op.execute("DELETE FROM execution_tasks")
            raise RuntimeError("disk full (simulated)")

        def downgrade():
            pass
        ''',
}


def task_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(sa.text("SELECT id FROM execution_tasks")))


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_restore_puts_back_exactly_what_the_backup_holds(migrated: Engine):
    kept = insert_task(migrated)
    backup = create_backup(migrated)
    assert backup.revision == HEAD
    assert inspect_backup(backup.path).revision == HEAD

    added = insert_task(migrated)
    with migrated.begin() as conn:
        conn.execute(sa.text("DELETE FROM execution_tasks WHERE id = :id"), {"id": kept})
        conn.execute(sa.text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))

    restored = restore_backup(get_engine(), backup.path)
    engine = get_engine()
    assert task_ids(engine) == {kept}
    assert "scratch" not in table_names(engine)
    assert check_schema(engine).problems == []

    assert restored.previous is not None  # the state before the restore was saved first
    restore_backup(get_engine(), restored.previous.path)
    assert task_ids(get_engine()) == {added}


def test_an_upgrade_starts_with_a_verified_backup_of_the_old_revision(engine: Engine):
    migrate(engine, "upgrade", "0001", backup=False)
    task_id = insert_task(engine)
    result = migrate(engine, "upgrade", "head")
    assert result.backup is not None
    assert (result.before, result.after) == ("0001", HEAD)
    assert inspect_backup(result.backup.path).revision == "0001"
    restore_backup(get_engine(), result.backup.path)
    assert task_ids(get_engine()) == {task_id}
    assert check_schema(get_engine()).revision == "0001"


def test_a_migration_failing_midway_leaves_the_database_as_before(migrated: Engine, tmp_path):
    versions = tmp_path / "versions"
    versions.mkdir()
    for name, source in FAILING_MIGRATIONS.items():
        (versions / name).write_text(textwrap.dedent(source).replace("{head}", HEAD))
    task_id = insert_task(migrated, status="succeeded")

    with pytest.raises(MigrationFailed) as failure:
        migrate(migrated, "upgrade", "head", extra_version_locations=[versions])
    assert "disk full (simulated)" in failure.value.message
    assert "after reaching revision 9001" in failure.value.message
    assert f"back at revision {HEAD}" in failure.value.message

    engine = get_engine()
    assert "scratch" not in table_names(engine)
    assert check_schema(engine).problems == []  # also: no execution_tasks.extra
    with engine.connect() as conn:
        status = conn.scalar(
            sa.text("SELECT status FROM execution_tasks WHERE id = :id"), {"id": task_id}
        )
    assert status == "succeeded"


def test_a_backup_from_a_newer_schema_is_refused_and_nothing_changes(migrated: Engine):
    task_id = insert_task(migrated)
    with migrated.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    newer = create_backup(migrated)
    with migrated.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": HEAD})
        conn.execute(sa.text("DELETE FROM execution_tasks"))

    with pytest.raises(BadInput, match=r"comes from a newer schema \(revision 0099\)"):
        restore_backup(get_engine(), newer.path)
    assert task_ids(get_engine()) == set()
    assert task_id not in task_ids(get_engine())


def test_files_that_are_not_governor_backups_are_refused(migrated: Engine, tmp_path: Path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    foreign = tmp_path / "other.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    truncated = tmp_path / "truncated.pgdump"
    truncated.write_bytes(b"PGDMP\x01\x0e\x00")
    for path, message in [
        (text_file, "is not a Governor backup"),
        (foreign, "is a SQLite database but not a Governor backup"),
        (truncated, "cannot be read as a backup"),
    ]:
        with pytest.raises(BadInput, match=message):
            restore_backup(migrated, path)
    assert check_schema(migrated).problems == []


def test_a_backup_of_another_database_kind_is_refused(postgres_server, tmp_path: Path):
    postgres = get_engine(postgres_server.create_database("kinds"))
    sqlite = get_engine(f"sqlite:///{tmp_path / 'other.db'}")
    for engine in (postgres, sqlite):
        migrate(engine, "upgrade", "head", backup=False)
    with pytest.raises(
        BadInput, match="a sqlite backup but GOVERNOR_DATABASE_URL points at postgresql"
    ):
        restore_backup(postgres, create_backup(sqlite).path)
    with pytest.raises(
        BadInput, match="a postgresql backup but GOVERNOR_DATABASE_URL points at sqlite"
    ):
        restore_backup(sqlite, create_backup(postgres).path)


def test_old_backups_beyond_the_retention_setting_are_deleted(migrated: Engine, monkeypatch):
    from governor.config import get_settings

    monkeypatch.setenv("GOVERNOR_BACKUP_KEEP", "2")
    get_settings.cache_clear()
    made = [create_backup(migrated).path for _ in range(3)]
    assert list_backups() == made[1:]


def test_an_empty_database_has_nothing_to_back_up(engine: Engine):
    with pytest.raises(BadInput, match="nothing to back up"):
        create_backup(engine)


def test_backup_and_restore_from_the_command_line(migrated: Engine, cli, tmp_path: Path):
    task_id = insert_task(migrated)
    target = tmp_path / "by-hand.backup"
    made = cli("db", "backup", str(target))
    assert made.exit_code == 0, made.stderr
    assert target.is_file()
    assert cli("db", "backup", str(target)).exit_code == 2  # never overwrites

    with migrated.begin() as conn:
        conn.execute(sa.text("DELETE FROM execution_tasks"))
    restored = cli("db", "restore", str(target))
    assert restored.exit_code == 0, restored.stderr
    assert "saved the current database to" in restored.stdout
    assert task_ids(get_engine()) == {task_id}


def test_restoring_the_oldest_backup_survives_the_retention(migrated: Engine, monkeypatch):
    from governor.config import get_settings

    monkeypatch.setenv("GOVERNOR_BACKUP_KEEP", "2")
    get_settings.cache_clear()
    task_id = insert_task(migrated)
    oldest = create_backup(migrated)
    create_backup(migrated)
    with migrated.begin() as conn:
        conn.execute(sa.text("DELETE FROM execution_tasks"))
    restore_backup(get_engine(), oldest.path)  # its safety copy must not prune it away first
    assert task_ids(get_engine()) == {task_id}
    assert len(list_backups()) == 2


def test_other_schemas_in_the_database_do_not_break_a_restore(postgres_server):
    engine = get_engine(postgres_server.create_database("schemas"))
    migrate(engine, "upgrade", "head", backup=False)
    with engine.begin() as conn:  # as the outbound limiter's counters live beside Governor's
        conn.execute(sa.text("CREATE SCHEMA governor_outbound"))
        conn.execute(sa.text("CREATE TABLE governor_outbound.counters (id INTEGER)"))
    task_id = insert_task(engine)
    backup = create_backup(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM execution_tasks"))
    restore_backup(engine, backup.path)
    assert task_ids(engine) == {task_id}
    assert check_schema(engine).problems == []
