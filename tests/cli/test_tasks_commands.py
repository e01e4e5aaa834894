"""`governor tasks …` and `governor gate …` as a user types them."""

import json
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from governor.tasks import registry
from tests.support.read_only_db import read_only_database


def setup_module() -> None:
    registry.task("implement_idea")(lambda ctx: None)


def teardown_module() -> None:
    registry.unregister("implement_idea")


def test_submit_list_show_cancel_retry(migrated, cli):
    submitted = cli(
        "tasks", "submit", "implement_idea", "--input", '{"idea_id": "idea_7"}', "--json"
    )
    assert submitted.exit_code == 0, submitted.stderr
    task_id = json.loads(submitted.stdout)["id"]
    child = cli("tasks", "submit", "implement_idea", "--after", task_id).stdout.strip()

    shown = json.loads(cli("tasks", "show", task_id, "--json").stdout)
    assert shown["id"] == task_id
    assert shown["status"] == "pending"
    assert shown["input"] == {"idea_id": "idea_7"}
    assert "ai_model" in shown and "started_at" in shown

    assert cli("tasks", "cancel", task_id).exit_code == 0
    listed = json.loads(cli("tasks", "list", "--status", "skipped", "--json").stdout)
    assert [t["id"] for t in listed] == [child]
    assert cli("tasks", "retry", task_id).exit_code == 0
    assert json.loads(cli("tasks", "show", task_id, "--json").stdout)["status"] == "pending"


def test_task_commands_refuse_a_drifted_schema(engine, cli):
    cli("db", "upgrade", "0001")
    result = cli("tasks", "submit", "implement_idea")  # listing reads on, with a warning
    assert result.exit_code == 1
    assert "adds columns execution_tasks.ai_model" in result.stderr


def test_bad_task_input_exits_2(migrated, cli):
    for args, message in [
        (["tasks", "submit", "implement_idea", "--input", "{oops"], "--input is not JSON"),
        (["tasks", "submit", "no_such_type"], "Unknown task type 'no_such_type'"),
        (["tasks", "submit", "implement_idea", "--after", "task_missing"], "unknown task"),
        (["tasks", "show", "task_missing"], "No task task_missing"),
    ]:
        result = cli(*args)
        assert result.exit_code == 2, args
        assert message in result.stderr


def test_gate_pause_status_resume(migrated, cli):
    assert json.loads(cli("gate", "status", "--json").stdout)["state"] == "open"
    assert cli("gate", "pause", "--reason", "reconciliation found missing money").exit_code == 0
    state = json.loads(cli("gate", "status", "--json").stdout)
    assert state["state"] == "closed"
    assert state["reason"] == "reconciliation found missing money"
    assert state["actor"]
    assert cli("gate", "resume", "--reason", "checked").exit_code == 0
    assert json.loads(cli("gate", "status", "--json").stdout)["state"] == "open"


def test_a_worker_refuses_a_drifted_schema(engine, cli):
    cli("db", "upgrade", "0001")
    result = cli("worker")
    assert result.exit_code == 1
    assert "adds columns execution_tasks.ai_model" in result.stderr


def test_profile_with_no_finished_tasks_says_so(migrated, cli):
    result = cli("tasks", "profile")
    assert result.exit_code == 0
    assert "No finished tasks to profile yet." in result.stdout
    assert cli("tasks", "profile", "--since", "yesterday").exit_code == 2


@pytest.fixture
def read_only(migrated: Engine) -> Iterator[None]:
    """The database refuses writes as a read-only file or a read-only server would."""
    with read_only_database(migrated):
        yield


@pytest.mark.parametrize(
    "command",
    [
        ["tasks", "submit", "implement_idea"],
        ["tasks", "cancel", "PENDING"],
        ["gate", "pause", "--reason", "maintenance"],
    ],
)
def test_a_read_only_database_is_one_clear_line_and_exit_2(migrated, cli, request, command):
    pending = cli("tasks", "submit", "implement_idea").stdout.strip()
    request.getfixturevalue("read_only")
    result = cli(*[pending if part == "PENDING" else part for part in command])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output + result.stderr
    assert lines[0].startswith("error: The database ")
    assert "not writable" in lines[0] or "refuses writes" in lines[0]
    assert len(lines) == 2 and lines[1].startswith("hint: ")
