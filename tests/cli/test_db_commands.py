"""`governor db …` and the guard in front of data commands, as a user runs them."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from governor.demo.business.seed_world import drop_ai_model_by_hand
from governor.storage import revisions
from governor.storage.db import get_engine
from tests.factories import insert_task, task_row

HEAD = revisions.head()
ALL = [m.revision for m in revisions.history()]
MISSING_AI_MODEL = (
    "execution_tasks.ai_model: missing in the database (expected VARCHAR(100) NULL) "
    "— run: governor db upgrade"
)
BEHIND_BY_AI_MODEL = (
    "0002  Record which AI model a task used: execution_tasks.ai_model. "
    "(adds columns execution_tasks.ai_model)"
)


def test_the_production_failure_is_caught_before_any_task_runs(database_url, cli):
    """The seed's failure: a database one migration behind, with tasks in it."""
    assert cli("db", "upgrade", "0001").exit_code == 0
    task_id = insert_task(get_engine())
    before = task_row(get_engine(), task_id, ["id", "type", "tokens_in", "created_at"])

    check = cli("db", "check")
    assert check.exit_code == 1
    assert BEHIND_BY_AI_MODEL in check.stdout
    assert MISSING_AI_MODEL in cli("db", "check", "--verbose").stdout

    serve = cli("serve")
    assert serve.exit_code == 1
    assert "refusing to run" in serve.stderr
    assert BEHIND_BY_AI_MODEL in serve.stderr
    assert "Traceback" not in serve.stderr

    upgrade = cli("db", "upgrade")
    assert upgrade.exit_code == 0, upgrade.stderr
    assert f"0001 → {HEAD}" in upgrade.stdout
    assert task_row(get_engine(), task_id, list(before)) == before
    clean = cli("db", "check")
    assert clean.exit_code == 0
    assert "clean" in clean.stdout


def test_a_database_behind_the_code_is_told_once_and_listed_in_full_on_request(database_url, cli):
    """The revision, each pending migration with what it adds, the one command: not 74 lines."""
    cli("db", "upgrade", "0001")
    refused = cli("tasks", "submit", "implement_idea")
    assert refused.exit_code == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == len(ALL) + 3, refused.stderr  # headline, 8 migrations, command, hint
    assert f"at revision 0001, behind this Governor's {HEAD}: {len(ALL) - 1} pending" in lines[1]
    assert "0005  Business objects" in refused.stderr and "api_tokens" in refused.stderr
    assert "run: governor db upgrade (it takes a verified backup first)" in refused.stderr
    assert "--verbose" in lines[-1]
    verbose = cli("db", "check", "--verbose").stdout
    assert "fsar_reports: missing in the database" in verbose
    assert "fsar_reports: missing" not in cli("db", "check").stdout


def test_a_read_the_drift_breaks_names_the_drift_instead_of_a_driver_error(database_url, cli):
    cli("db", "upgrade", "0001")
    status = cli("gate", "status")
    assert status.exit_code == 1
    assert status.stderr.startswith("warning: the schema differs from this Governor's")
    assert "reads what the schema drift changed" in status.stderr and "gate_events" in status.stderr
    assert "Traceback" not in status.stderr


def test_check_as_json_lists_each_problem_with_its_fix(database_url, cli):
    cli("db", "upgrade", "0001")
    result = cli("db", "check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["verdict"] == "drift"
    assert report["revision"] == "0001"
    assert report["pending"] == ALL[1:]
    missing = [p for p in report["problems"] if p["object"] == "execution_tasks.ai_model"]
    assert missing == [
        {
            "kind": "missing_column",
            "object": "execution_tasks.ai_model",
            "message": "missing in the database (expected VARCHAR(100) NULL)",
            "fix": "run: governor db upgrade",
        }
    ]


def test_an_unreachable_database_exits_2_with_the_password_hidden(cli, monkeypatch):
    from tests.support.ports import free_port

    monkeypatch.setenv(
        "GOVERNOR_DATABASE_URL", f"postgresql://gov:s3cret@127.0.0.1:{free_port()}/gov"
    )
    result = cli("db", "check")
    assert result.exit_code == 2
    assert "Cannot connect to the database" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_current_and_history_show_where_the_database_is(database_url, cli):
    cli("db", "upgrade", "0001")
    current = json.loads(cli("db", "current", "--json").stdout)
    assert current == {"revision": "0001", "head": HEAD, "at_head": False}
    history = json.loads(cli("db", "history", "--json").stdout)
    assert [(m["revision"], m["current"]) for m in history] == [
        (revision, revision == "0001") for revision in ALL
    ]
    assert "2026_11_28_0002_execution_tasks_ai_model.py" in cli("db", "history").stdout


def test_upgrading_a_current_database_does_nothing_and_takes_no_backup(database_url, cli, tmp_path):
    cli("db", "upgrade", "0001")  # an empty database: nothing to back up
    assert not (tmp_path / "backups").exists()
    cli("db", "upgrade")
    result = cli("db", "upgrade")
    assert "nothing to do" in result.stdout
    assert len(list((tmp_path / "backups").glob("*"))) == 1  # only the real upgrade's


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["db", "downgrade", "0042"], "Unknown revision '0042'"),
        (["db", "upgrade", "0001"], f"Cannot upgrade from {HEAD} to 0001"),
        (["db", "restore", "missing.sqlite3"], "Backup file missing.sqlite3 does not exist"),
    ],
)
def test_user_mistakes_get_one_clear_line_and_exit_2(database_url, cli, args, message):
    cli("db", "upgrade")
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_name_the_variable(cli, monkeypatch):
    monkeypatch.setenv("GOVERNOR_BACKUP_KEEP", "zero")
    result = cli("db", "check")
    assert result.exit_code == 2
    assert "GOVERNOR_BACKUP_KEEP" in result.stderr


def test_a_bad_database_url_is_one_line_and_debug_shows_the_traceback(cli, monkeypatch):
    monkeypatch.setenv("GOVERNOR_DATABASE_URL", "no-such-thing")
    plain = cli("db", "check")
    assert plain.exit_code == 2
    assert plain.stderr.startswith("error: GOVERNOR_DATABASE_URL is not a database URL.")
    assert "Traceback" not in plain.stderr
    debug = cli("--debug", "db", "check")
    assert debug.exit_code == 2
    assert "Traceback" in debug.stderr


def test_check_runs_on_a_database_other_commands_refuse(migrated, cli):
    with migrated.begin() as conn:
        conn.execute(sa.text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))
    assert cli("serve").exit_code == 1
    result = cli("db", "check")
    assert result.exit_code == 1
    assert "scratch: in the database but not in Governor's models" in result.stdout


def test_repair_shows_its_sql_then_repairs_the_seed_drift_after_a_backup(migrated, cli):
    task_id = insert_task(migrated)
    drop_ai_model_by_hand(migrated)
    check = cli("db", "check")
    assert "changed by hand?): `governor db repair`" in check.stdout

    dry = cli("db", "repair", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "ALTER TABLE execution_tasks ADD COLUMN ai_model VARCHAR(100);" in dry.stdout
    assert "nothing was changed" in dry.stdout and "backup:" not in dry.stdout
    assert cli("db", "check").exit_code == 1

    done = cli("db", "repair")
    assert done.exit_code == 0, done.output
    shown, _, applied = done.stdout.partition("backup: ")
    assert "ADD COLUMN ai_model" in shown  # the SQL first, then the backup and the repair
    path = applied.split(" (verified)")[0]
    assert Path(path).is_file()
    assert "the schema is clean" in applied
    assert cli("db", "check").exit_code == 0
    assert task_row(get_engine(), task_id, ["id"]) == {"id": task_id}
    assert cli("db", "repair").stdout.startswith("clean: nothing to repair")


def test_repair_refuses_to_drop_a_column_holding_data_and_exits_1(migrated, cli):
    insert_task(migrated)
    with migrated.begin() as conn:
        conn.execute(sa.text("ALTER TABLE execution_tasks ADD COLUMN notes VARCHAR(20)"))
        conn.execute(sa.text("UPDATE execution_tasks SET notes = 'keep me'"))
    result = cli("db", "repair", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["complete"] is False and report["statements"] == []
    [refused] = report["refused"]
    assert refused["object"] == "execution_tasks.notes" and "would lose" in refused["reason"]
