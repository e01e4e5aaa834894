"""The migration stream: dated files, and every step down and up again with rows in the tables."""

import itertools
import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.storage import revisions
from governor.storage.guard import check_schema
from governor.storage.migrate import migrate
from tests.factories import insert_task, task_row

KEPT = ["id", "type", "status", "input", "tokens_in", "tokens_out", "cost_micros", "created_at"]


def test_migration_files_are_dated_and_form_one_line():
    history = revisions.history()
    assert [m.revision for m in history][:3] == ["0001", "0002", "0003"]
    for migration in history:
        assert re.fullmatch(r"\d{4}_\d{2}_\d{2}_\d{4}_[a-z0-9_]+\.py", migration.path), (
            migration.path
        )
        assert migration.message
    for older, newer in itertools.pairwise(history):
        assert newer.down_revision == older.revision


def test_fresh_database_built_by_migrations_matches_the_models(migrated: Engine):
    report = check_schema(migrated)
    assert report.problems == []
    assert report.revision == revisions.head()


def test_every_step_down_and_up_keeps_the_rows(engine: Engine):
    history = [m.revision for m in revisions.history()]
    migrate(engine, "upgrade", history[0], backup=False)
    task_id = insert_task(engine)
    expected = task_row(engine, task_id, KEPT)
    for previous, revision in itertools.pairwise(history):
        migrate(engine, "upgrade", revision, backup=False)
        migrate(engine, "downgrade", previous, backup=False)
        assert task_row(engine, task_id, KEPT) == expected
        migrate(engine, "upgrade", revision, backup=False)
        assert task_row(engine, task_id, KEPT) == expected
    assert check_schema(engine).problems == []


def test_ai_model_survives_an_upgrade_and_goes_with_a_downgrade(migrated: Engine):
    task_id = insert_task(migrated, ai_model="gpt-4o-mini")
    migrate(migrated, "downgrade", "0001", backup=False)
    with migrated.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("execution_tasks")}
    assert "ai_model" not in columns
    migrate(migrated, "upgrade", "head", backup=False)
    assert task_row(migrated, task_id, ["ai_model", "type"]) == {
        "ai_model": None,
        "type": "implement_idea",
    }


def test_downgrade_to_base_and_back(migrated: Engine):
    migrate(migrated, "downgrade", "base", backup=False)
    with migrated.connect() as conn:
        assert "execution_tasks" not in sa.inspect(conn).get_table_names()
    migrate(migrated, "upgrade", "head", backup=False)
    assert check_schema(migrated).problems == []
