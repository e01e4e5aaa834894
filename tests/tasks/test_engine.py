"""The embedded executor on SQLite and PostgreSQL: parallelism, dependencies, retries, the gate."""

import asyncio
import threading

import pytest
from sqlalchemy.engine import Engine

from governor.errors import BadInput
from governor.storage.db import session_scope
from governor.tasks import gate, registry, service
from governor.tasks.embedded import EmbeddedExecutor

pytestmark = pytest.mark.usefixtures("fresh_registry")


def submit(engine: Engine, type: str, input=None, **kw) -> str:
    with session_scope(engine) as session:
        return service.submit(session, type, input, **kw)


def task(engine: Engine, task_id: str):
    with session_scope(engine, readonly=True) as session:
        return service.get_task(session, task_id)


def run(engine: Engine, concurrency: int = 8) -> None:
    executor = EmbeddedExecutor(engine, concurrency=concurrency, lease_s=5)
    try:
        asyncio.run(asyncio.wait_for(executor.run_until_idle(), timeout=60))
    finally:
        executor.close()


def test_independent_tasks_run_at_the_same_time(migrated: Engine):
    started: dict[str, threading.Event] = {"a": threading.Event(), "b": threading.Event()}

    @registry.task("rendezvous")
    def rendezvous(ctx):
        me, other = ctx.input["me"], ctx.input["other"]
        started[me].set()
        # Each waits for the other: both succeed only if they run in parallel.
        if not started[other].wait(timeout=20):
            raise RuntimeError(f"{other} never started while {me} ran")
        return {"met": other}

    a = submit(migrated, "rendezvous", {"me": "a", "other": "b"})
    b = submit(migrated, "rendezvous", {"me": "b", "other": "a"})
    run(migrated)
    assert (task(migrated, a).status, task(migrated, b).status) == ("succeeded", "succeeded")
    assert task(migrated, a).output == {"met": "b"}


def test_a_task_waits_for_its_dependencies_and_failures_skip_downstream(migrated: Engine):
    order: list[str] = []

    @registry.task("step", max_attempts=1)
    async def step(ctx):
        order.append(ctx.input["name"])
        if ctx.input.get("fail"):
            raise ValueError("offer price missing")
        return {"done": ctx.input["name"]}

    first = submit(migrated, "step", {"name": "first"})
    second = submit(migrated, "step", {"name": "second"}, after=[first])
    broken = submit(migrated, "step", {"name": "broken", "fail": True}, after=[second])
    child = submit(migrated, "step", {"name": "child"}, after=[broken])
    grandchild = submit(migrated, "step", {"name": "grandchild"}, after=[child])
    run(migrated)
    assert order == ["first", "second", "broken"]
    assert task(migrated, second).started_at >= task(migrated, first).finished_at
    failed = task(migrated, broken)
    assert failed.status == "failed"
    assert failed.error == "ValueError: offer price missing"
    assert "Traceback" in failed.traceback and "offer price missing" in failed.traceback
    assert task(migrated, child).status == "skipped"
    assert task(migrated, child).error == f"dependency {broken} failed"
    assert task(migrated, grandchild).status == "skipped"


def test_retries_with_backoff_then_success(migrated: Engine):
    @registry.task("flaky", max_attempts=3, backoff=0.01)
    def flaky(ctx):
        if ctx.attempt < 3:
            raise ConnectionError(f"attempt {ctx.attempt} lost the connection")
        return {"attempt": ctx.attempt}

    task_id = submit(migrated, "flaky", idempotency_key="offer-42")
    run(migrated)
    done = task(migrated, task_id)
    assert (done.status, done.attempts, done.output) == ("succeeded", 3, {"attempt": 3})
    assert done.duration_ms is not None


def test_a_timeout_fails_the_attempt(migrated: Engine):
    @registry.task("stuck", max_attempts=1, timeout=0.2)
    async def stuck(ctx):
        await asyncio.sleep(30)

    task_id = submit(migrated, "stuck")
    run(migrated)
    assert task(migrated, task_id).status == "failed"
    assert task(migrated, task_id).error == "timed out after 0.2 s"


def test_per_type_concurrency_is_respected(migrated: Engine):
    inside = {"now": 0, "most": 0}
    lock = threading.Lock()
    second_arrived = threading.Event()

    @registry.task("serial", concurrency=1)
    def serial(ctx):
        with lock:
            inside["now"] += 1
            inside["most"] = max(inside["most"], inside["now"])
            if inside["now"] > 1:
                second_arrived.set()
        second_arrived.wait(timeout=0.2)  # stay inside long enough for a second one to show up
        with lock:
            inside["now"] -= 1

    ids = [submit(migrated, "serial") for _ in range(6)]
    run(migrated, concurrency=6)
    assert {task(migrated, i).status for i in ids} == {"succeeded"}
    assert inside["most"] == 1


def test_the_same_idempotency_key_returns_the_first_task(migrated: Engine):
    registry.task("create_offer")(lambda ctx: None)
    first = submit(migrated, "create_offer", {"idea": 1}, idempotency_key="idea-1-offer")
    again = submit(migrated, "create_offer", {"idea": 1}, idempotency_key="idea-1-offer")
    assert first == again


def test_bad_submissions_are_refused_clearly(migrated: Engine):
    registry.task("fulfill_order")(lambda ctx: None)
    with pytest.raises(BadInput, match="Unknown task type 'fulfil_order'"):
        submit(migrated, "fulfil_order")
    with pytest.raises(BadInput, match="unknown task"):
        submit(migrated, "fulfill_order", after=["task_nope"])
    with pytest.raises(BadInput, match="not JSON"):
        service.parse_input("{idea: 1}")
    with pytest.raises(BadInput, match="concurrency must be at least 1"):
        registry.task("x", concurrency=-1)(lambda ctx: None)


def test_a_closed_gate_holds_agent_tasks_but_not_system_tasks(migrated: Engine):
    registry.task("implement_idea")(lambda ctx: "built")
    registry.task("audit.sample", kind="system")(lambda ctx: "audited")
    with session_scope(migrated) as session:
        gate.pause(session, reason="audit failed", actor="auditor", report_id="fsar_1")
    agent = submit(migrated, "implement_idea")
    system = submit(migrated, "audit.sample")
    run(migrated)
    assert task(migrated, system).status == "succeeded"
    assert task(migrated, agent).status == "pending"

    with session_scope(migrated) as session:
        with pytest.raises(BadInput, match="closed by report fsar_1") as refused:
            gate.resume(session, actor="ops")
        assert refused.value.hint == "Run: governor gate resume --ack fsar_1"
        state = gate.resume(session, actor="ops", ack="fsar_1", reason="fixed the schema")
        assert state.open
    run(migrated)
    assert task(migrated, agent).status == "succeeded"


def test_cancelling_a_pending_task_skips_its_dependents(migrated: Engine):
    registry.task("implement_idea")(lambda ctx: None)
    parent = submit(migrated, "implement_idea")
    child = submit(migrated, "implement_idea", after=[parent])
    with session_scope(migrated) as session:
        service.cancel(session, parent)
    assert task(migrated, parent).status == "cancelled"
    assert task(migrated, child).status == "skipped"
    late = submit(migrated, "implement_idea", after=[parent])
    assert task(migrated, late).status == "skipped"


def test_model_usage_is_costed_on_the_task(migrated: Engine):
    import governor

    @governor.task("implement_idea")
    def implement(ctx):
        governor.record_llm_usage("gpt-4o", input_tokens=1_000_000, output_tokens=100_000)
        governor.record_llm_usage("gpt-4o-mini", input_tokens=1_000, output_tokens=100)
        governor.record_llm_usage("model-nobody-prices", input_tokens=10, output_tokens=1)

    task_id = submit(migrated, "implement_idea")
    run(migrated)
    done = task(migrated, task_id)
    assert done.ai_model == "gpt-4o"  # the model with the most tokens
    assert (done.tokens_in, done.tokens_out) == (1_001_010, 100_101)
    # gpt-4o at $2.50 / $10 per million tokens: 2.50 + 1.00 dollars, plus the mini's fraction
    assert 3_500_000 < done.cost_micros < 3_501_000
    assert done.price_version.startswith("genai-prices@")


def test_cancelling_a_running_task_stops_it(migrated: Engine):
    started = threading.Event()

    @registry.task("long_haul", max_attempts=3)
    async def long_haul(ctx):
        started.set()
        await asyncio.sleep(60)

    task_id = submit(migrated, "long_haul")

    async def scenario() -> None:
        executor = EmbeddedExecutor(migrated, concurrency=2, lease_s=0.6)
        running = asyncio.create_task(executor.run_until_idle())
        await asyncio.to_thread(started.wait, 20)
        with session_scope(migrated) as session:
            service.cancel(session, task_id)  # the lease keeper sees it at its next renewal
        await asyncio.wait_for(running, timeout=30)
        executor.close()

    asyncio.run(scenario())
    done = task(migrated, task_id)
    assert (done.status, done.error, done.attempts) == ("cancelled", "cancelled by request", 1)


def test_retrying_a_failed_task_brings_back_what_it_made_skip(migrated: Engine):
    fail_once = {"done": False}

    @registry.task("flaky_parent", max_attempts=1)
    def flaky_parent(ctx):
        if not fail_once["done"]:
            fail_once["done"] = True
            raise RuntimeError("supplier API down")

    registry.task("child_step")(lambda ctx: "ok")
    parent = submit(migrated, "flaky_parent")
    child = submit(migrated, "child_step", after=[parent])
    grandchild = submit(migrated, "child_step", after=[child])
    run(migrated)
    assert [task(migrated, i).status for i in (parent, child, grandchild)] == [
        "failed", "skipped", "skipped",
    ]  # fmt: skip
    refusal = pytest.raises(BadInput, match=f"depends on {parent}, which failed")
    with refusal as refused, session_scope(migrated) as session:
        service.retry(session, child)
    assert refused.value.hint.startswith(f"Retry {parent}")
    with session_scope(migrated) as session:
        revived = [t.id for t in service.retry(session, parent)]
    assert revived == [parent, child, grandchild]
    run(migrated)
    assert [task(migrated, i).status for i in (parent, child, grandchild)] == ["succeeded"] * 3


def test_an_output_the_table_cannot_hold_fails_the_task_not_the_executor(migrated: Engine):
    registry.task("returns_a_set", max_attempts=1)(lambda ctx: {1, 2})
    registry.task("fine")(lambda ctx: "ok")
    bad = submit(migrated, "returns_a_set")
    good = submit(migrated, "fine")
    run(migrated)
    assert task(migrated, bad).status == "failed"
    assert "not JSON serializable" in task(migrated, bad).error
    assert task(migrated, good).status == "succeeded"


def test_a_timeout_raised_by_the_handler_is_its_own_error(migrated: Engine):
    @registry.task("slow_api", max_attempts=1, timeout=30)
    def slow_api(ctx):
        raise TimeoutError("supplier API did not answer")

    task_id = submit(migrated, "slow_api")
    run(migrated)
    failed = task(migrated, task_id)
    assert failed.error == "TimeoutError: supplier API did not answer"
    assert "Traceback" in failed.traceback


def test_a_lease_lost_on_the_last_attempt_fails_the_task(migrated: Engine):
    import sqlalchemy as sa

    from governor.models import ExecutionTask
    from governor.models.types import utcnow

    registry.task("crashes_its_worker", max_attempts=2)(lambda ctx: "never runs here")
    task_id = submit(migrated, "crashes_its_worker")
    child = submit(migrated, "crashes_its_worker", after=[task_id])
    with migrated.begin() as conn:  # as a worker killed during the last attempt leaves it
        conn.execute(
            sa.update(ExecutionTask)
            .where(ExecutionTask.id == task_id)
            .values(status="running", attempts=2, lease_owner="embedded:dead:1",
                    lease_expires_at=utcnow(), started_at=utcnow())
        )  # fmt: skip
    run(migrated)
    lost = task(migrated, task_id)
    assert (lost.status, lost.attempts) == ("failed", 2)
    assert "lease ran out during the last attempt" in lost.error
    assert task(migrated, child).status == "skipped"


def test_a_failed_turn_is_retried_and_loses_no_outcome(migrated: Engine, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from governor.tasks import leases

    registry.task("step_a")(lambda ctx: ctx.input)
    ids = [submit(migrated, "step_a", n) for n in range(5)]
    real_record, failures = leases.record, []

    def flaky_record(session, owner, outcomes):
        if outcomes and not failures:
            failures.append(len(outcomes))
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        return real_record(session, owner, outcomes)

    monkeypatch.setattr(leases, "record", flaky_record)
    run(migrated)
    assert failures  # the turn did fail once
    assert [task(migrated, i).output for i in ids] == list(range(5))
