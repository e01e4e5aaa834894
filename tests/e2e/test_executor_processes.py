"""Real executor processes: a worker killed mid-task loses nothing; a backlog runs in chunks."""

import importlib
import os
import signal
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

import governor
from governor.models import ExecutionTask
from governor.storage.db import get_engine
from governor.tasks import registry
from tests.e2e import agent_tasks
from tests.e2e.processes import governor_env, start, stop, wait_until
from tests.support.ports import free_port

pytestmark = pytest.mark.slow
TASKS = 16


@pytest.fixture(autouse=True)
def _agent_tasks():
    importlib.reload(agent_tasks)  # registers slow_step here too, for submit
    yield
    registry.unregister("slow_step")
    registry.unregister("quick_step")


def statuses(engine) -> Counter[str]:
    """Statuses of the agents' tasks (Governor's own periodic tasks run beside them)."""
    with engine.connect() as conn:
        query = sa.select(ExecutionTask.status).where(ExecutionTask.kind == "agent")
        rows = conn.execute(query).scalars()
        return Counter(rows)


def started_by(log: Path, pid: int) -> bool:
    """Whether process `pid` has started running a handler."""
    lines = log.read_text().splitlines() if log.exists() else []
    return any(line.startswith("start ") and line.endswith(f" {pid}") for line in lines)


def submit_work(log: Path) -> list[str]:
    return [
        governor.submit("slow_step", {"seconds": 1.0, "log": str(log)}, idempotency_key=f"k{n}")
        for n in range(TASKS)
    ]


def check_outcome(engine, log: Path, ids: list[str], killed_pid: int) -> None:
    assert statuses(engine) == Counter({"succeeded": TASKS})
    lines = [line.split() for line in log.read_text().splitlines()]
    starts = Counter(fields[1] for fields in lines if fields[0] == "start")
    assert set(starts) == set(ids)
    rerun = {task for task, n in starts.items() if n > 1}
    interrupted = {f[1] for f in lines if f[0] == "start" and f[4] == str(killed_pid)}
    assert interrupted, "the killed worker had started no task"
    assert interrupted <= rerun | {f[1] for f in lines if f[0] == "end" and f[3] == str(killed_pid)}
    for fields in lines:  # a task that ran again kept its idempotency key
        if fields[0] == "start":
            assert fields[3] == f"k{ids.index(fields[1])}"


def test_celery_worker_killed_mid_task(migrated, broker_url, tmp_path):
    env = governor_env(database_url=str(migrated.url.render_as_string(hide_password=False)),
                       broker_url=broker_url, executor="celery", lease_seconds="1.5")  # fmt: skip
    log = tmp_path / "work.log"
    first = start(["worker", "-c", "4"], env, tmp_path / "worker1.log")
    second = start(["worker", "-c", "4"], env, tmp_path / "worker2.log")
    server = start(["serve", "--port", str(free_port())], env, tmp_path / "serve.log")
    try:
        ids = submit_work(log)
        engine = get_engine()
        wait_until(lambda: started_by(log, first.pid), "the first worker to run a task")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        wait_until(lambda: statuses(engine)["succeeded"] == TASKS, "every task to succeed")
        check_outcome(engine, log, ids, first.pid)
    finally:
        stop(first, second, server)


def test_embedded_server_killed_mid_task(migrated, tmp_path):
    env = governor_env(database_url=str(migrated.url.render_as_string(hide_password=False)),
                       lease_seconds="1.5", max_concurrency="4")  # fmt: skip
    log = tmp_path / "work.log"
    first = start(["serve", "--port", str(free_port())], env, tmp_path / "serve1.log")
    second = None
    try:
        ids = submit_work(log)
        engine = get_engine()
        wait_until(lambda: started_by(log, first.pid), "the first server to run a task")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        second = start(["serve", "--port", str(free_port())], env, tmp_path / "serve2.log")
        wait_until(lambda: statuses(engine)["succeeded"] == TASKS, "every task to succeed")
        check_outcome(engine, log, ids, first.pid)
    finally:
        stop(first, *([second] if second else []))


def test_a_backlog_goes_to_celery_in_chunks_and_all_of_it_runs(migrated, broker_url, tmp_path):
    env = governor_env(database_url=str(migrated.url.render_as_string(hide_password=False)),
                       broker_url=broker_url, executor="celery")  # fmt: skip
    for n in range(300):
        governor.submit("quick_step", n)
    worker = start(["worker", "-c", "4"], env, tmp_path / "worker.log")
    server = start(["serve", "--port", str(free_port())], env, tmp_path / "serve.log")
    try:
        engine = get_engine()
        wait_until(lambda: statuses(engine)["succeeded"] == 300, "the backlog to be done")
    finally:
        stop(worker, server)
    log = (tmp_path / "worker.log").read_text().splitlines()
    messages = sum("governor.run_attempts[" in line and "received" in line for line in log)
    assert 0 < messages < 300  # several attempts travelled in one message
    with engine.connect() as conn:
        outputs = conn.scalars(
            sa.select(ExecutionTask.output).where(ExecutionTask.kind == "agent")
        ).all()
    assert sorted(outputs) == list(range(300))
