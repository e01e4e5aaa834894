"""Real `serve` processes under faults: SIGTERM during long tasks, a database turning read-only,
a PostgreSQL server stopped and started again."""

import importlib
import signal
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import governor
from governor.models import ExecutionTask
from governor.storage.db import get_engine
from governor.tasks import registry
from tests.e2e import agent_tasks
from tests.e2e.processes import governor_env, start, stop, wait_until
from tests.e2e.test_executor_processes import started_by, statuses
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.slow
ONLY_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def _agent_tasks() -> Iterator[None]:
    importlib.reload(agent_tasks)  # registers slow_step here too, for submit
    yield
    registry.unregister("slow_step")
    registry.unregister("quick_step")


def env_for(engine: sa.Engine, **settings: str) -> dict[str, str]:
    return governor_env(database_url=engine.url.render_as_string(hide_password=False),
                        health_cache_seconds="0", **settings)  # fmt: skip


def work(log: Path, seconds: float, n: int) -> list[str]:
    return [governor.submit("slow_step", {"seconds": seconds, "log": str(log)}) for _ in range(n)]


def rows(engine: sa.Engine, ids: list[str]) -> dict[str, sa.Row]:
    t = ExecutionTask
    query = sa.select(t.id, t.status, t.attempts, t.lease_owner, t.output).where(t.id.in_(ids))
    with engine.connect() as conn:
        return {row.id: row for row in conn.execute(query)}


def starts(log: Path) -> Counter[str]:
    """How many times each task's handler started."""
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(line.split()[1] for line in lines if line.startswith("start "))


def health(port: int) -> int:
    """The status /healthz answers with (0 while nothing listens)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def log_lines(path: Path, text: str) -> int:
    return sum(text in line for line in path.read_text().splitlines())


ONLY_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ONLY_SQLITE  # the embedded executor's usual database; PostgreSQL's stop is the worker test's
def test_sigterm_hands_long_tasks_back_after_the_grace_and_the_next_process_runs_them(
    migrated, tmp_path
):
    env = env_for(migrated, shutdown_grace_seconds="3", max_concurrency="4")  # lease: 30 s
    log = tmp_path / "work.log"
    first = start(["serve", "--port", str(free_port())], env, tmp_path / "serve1.log")
    second = None
    try:
        long = work(log, 30.0, 3)
        wait_until(lambda: set(starts(log)) == set(long), "the long tasks to start")
        short = work(log, 1.0, 1)
        wait_until(lambda: set(short) <= set(starts(log)), "the short task to start")
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=12)  # far less than the 30 s the long tasks would take
        assert first.returncode in (0, -signal.SIGTERM)  # ended as asked (uvicorn re-raises it)
        after = rows(migrated, long + short)
        assert after[short[0]].status == "succeeded"  # it ended within the grace
        assert after[short[0]].output == {"pid": first.pid}
        for task_id in long:  # handed back: pending, no lease, the attempt not counted
            assert (after[task_id].status, after[task_id].lease_owner) == ("pending", None)
            assert after[task_id].attempts == 0
        second = start(["serve", "--port", str(free_port())], env, tmp_path / "serve2.log")
        # Long before the 30 s lease would have run out, the next process runs them.
        wait_until(lambda: all(starts(log)[t] == 2 for t in long), "the next process to run them",
                   deadline_s=10)  # fmt: skip
        assert started_by(log, second.pid)
        assert {r.attempts for r in rows(migrated, long).values()} == {1}
    finally:
        stop(first, *([second] if second else []))
    assert log_lines(tmp_path / "serve1.log", "handing back 3 task(s)") == 1


@ONLY_POSTGRES
def test_a_database_turning_read_only_under_serve_is_waited_out_and_loses_nothing(
    migrated, postgres_server: PostgresServer, tmp_path
):
    log, served = tmp_path / "work.log", tmp_path / "serve.log"
    port = free_port()
    server = start(["serve", "--port", str(port)], env_for(migrated), served)
    try:
        ids = work(log, 1.0, 4)
        wait_until(lambda: len(starts(log)) == 4, "the tasks to start")
        read_only(postgres_server, True)
        wait_until(lambda: log_lines(served, "the executor is failing") > 0, "the executor to fail")
        read_only(postgres_server, False)
        wait_until(lambda: statuses(get_engine())["succeeded"] == 4, "every task to succeed")
    finally:
        read_only(postgres_server, False)
        stop(server)
    assert starts(log) == Counter(dict.fromkeys(ids, 1))  # each ran once, its outcome kept
    assert log_lines(served, "the executor is failing") == 1
    assert log_lines(served, "is not writable") + log_lines(served, "refuses writes") >= 1
    assert log_lines(served, "the executor works again") == 1


def read_only(server: PostgresServer, on: bool) -> None:
    """Make every database of the server refuse writes, in open sessions too (a reload)."""
    setting = (
        "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
    )
    server._admin(f"ALTER SYSTEM {setting}")
    server._admin("SELECT pg_reload_conf()")


@ONLY_POSTGRES
def test_postgres_stopped_and_started_under_serve_reconnects_and_loses_nothing(
    migrated, postgres_server: PostgresServer, tmp_path
):
    log, served = tmp_path / "work.log", tmp_path / "serve.log"
    port = free_port()
    server = start(["serve", "--port", str(port)], env_for(migrated), served)
    try:
        wait_until(lambda: health(port) == 200, "serve to be healthy")
        ids = work(log, 1.0, 4)
        wait_until(lambda: len(starts(log)) == 4, "the tasks to start")
        get_engine().dispose()  # this test's own connections would hold the stop up
        postgres_server.pause()
        try:
            wait_until(lambda: health(port) == 503, "/healthz to answer 503")
            wait_until(lambda: log_lines(served, "the executor is failing") > 0, "a failing turn")
        finally:
            postgres_server.resume()
        wait_until(lambda: health(port) == 200, "/healthz to recover")
        wait_until(lambda: statuses(get_engine())["succeeded"] == 4, "every task to succeed")
    finally:
        stop(server)
    assert starts(log) == Counter(dict.fromkeys(ids, 1))
    assert log_lines(served, "the executor works again") == 1


@ONLY_POSTGRES
def test_sigterm_to_a_celery_worker_hands_long_tasks_back_after_the_grace(
    migrated, broker_url, tmp_path
):
    env = env_for(migrated, broker_url=broker_url, executor="celery", shutdown_grace_seconds="2")
    log = tmp_path / "work.log"
    first = start(["worker", "-c", "4"], env, tmp_path / "worker1.log")
    server = start(["serve", "--port", str(free_port())], env, tmp_path / "serve.log")
    second = None
    try:
        long = work(log, 30.0, 2)
        wait_until(lambda: set(starts(log)) == set(long), "the long tasks to start")
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=12)  # far less than the 30 s the tasks would take
        second = start(["worker", "-c", "4"], env, tmp_path / "worker2.log")
        # Long before the 30 s lease (and the 90 s dispatch lease) ran out, they run again.
        wait_until(lambda: all(starts(log)[t] == 2 for t in long), "another worker to run them",
                   deadline_s=15)  # fmt: skip
        assert started_by(log, second.pid)
        runs = [line.split() for line in log.read_text().splitlines() if line.startswith("start")]
        assert {int(fields[2]) for fields in runs} == {1}  # the handed-back attempt not counted
    finally:
        stop(first, server, *([second] if second else []))
    assert log_lines(tmp_path / "worker1.log", "handing back 2 task(s)") == 1
