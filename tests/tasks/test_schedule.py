"""Governor's periodic system tasks: periods, slots, idempotent enqueuing, and running them."""

import asyncio
import importlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from governor import jobs
from governor.config import get_settings
from governor.errors import ConfigError
from governor.models import ExecutionTask, ReconciliationRun
from governor.revenue.webhook import PROCESS_TYPE
from governor.storage.db import session_scope
from governor.tasks import registry, service
from governor.tasks.embedded import EmbeddedExecutor
from governor.tasks.schedule import enqueue_due, parse_period, schedules, slot_start

NOW = datetime(2026, 3, 1, 10, 7, 30, tzinfo=UTC)
REVENUE = {PROCESS_TYPE: "1m", "revenue.sync": "1h", "revenue.reconcile": "1d"}


@pytest.fixture
def scheduled() -> set[str]:
    """Every domain's jobs registered (again, if a test before forgot them): their types."""
    jobs.load()
    if any(s.type not in registry.known() for s in schedules()):
        import governor.revenue.jobs

        importlib.reload(governor.revenue.jobs)
    types = {s.type for s in schedules()}
    assert set(REVENUE) <= types
    assert all(registry.get(t).kind == "system" for t in types)
    return types


def _enqueue(engine: Engine, now: datetime) -> dict[str, str]:
    """Run enqueue_due in its own unit of work: task type → id."""
    with session_scope(engine) as session:
        ids = enqueue_due(session, get_settings(), now)
        types = [service.get_task(session, i).type for i in ids]
    return dict(zip(types, ids, strict=True))


def _tasks(engine: Engine) -> dict[str, ExecutionTask]:
    with session_scope(engine, readonly=True) as session:
        found = session.scalars(select(ExecutionTask)).all()
        session.expunge_all()
        return {task.id: task for task in found}


# Periods and slots --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86_400), ("12h", 43_200), (" 2h ", 7200)],
)
def test_parse_period_reads_a_number_and_a_unit(text: str, seconds: int) -> None:
    assert parse_period(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0m", "5x", "-1h", "1.5h", "h", "15", "1 day", "1H"])
def test_parse_period_refuses_anything_else_naming_the_setting(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_period(text, "GOVERNOR_RECONCILE_EVERY")
    assert caught.value.message.startswith("GOVERNOR_RECONCILE_EVERY:")
    assert caught.value.hint is not None and "15m" in caught.value.hint


def test_slot_start_is_the_start_of_the_period_counted_from_the_epoch() -> None:
    assert slot_start(NOW, timedelta(minutes=1)) == datetime(2026, 3, 1, 10, 7, tzinfo=UTC)
    assert slot_start(NOW, timedelta(minutes=15)) == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert slot_start(NOW, timedelta(hours=1)) == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert slot_start(NOW, timedelta(days=1)) == datetime(2026, 3, 1, tzinfo=UTC)
    edge = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    assert slot_start(edge, timedelta(minutes=15)) == edge  # a slot's first second is in it
    assert slot_start(edge - timedelta(microseconds=1), timedelta(minutes=15)) == datetime(
        2026, 3, 1, 10, 0, tzinfo=UTC
    )
    # The same instant written in another zone falls in the same UTC slot.
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    start = slot_start(paris, timedelta(days=1))
    assert start == datetime(2026, 3, 1, tzinfo=UTC) and start.utcoffset() == timedelta(0)


# Enqueuing ----------------------------------------------------------------------------------


def test_enqueue_due_submits_one_run_per_schedule_per_period(
    migrated: Engine, scheduled: set[str]
) -> None:
    first = _enqueue(migrated, NOW)
    assert set(first) == scheduled - {"audits.run"}  # GOVERNOR_AUDIT_EVERY is off in tests

    tasks = _tasks(migrated)
    assert len(tasks) == len(scheduled) - 1
    for type, every in REVENUE.items():
        task = tasks[first[type]]
        slot = slot_start(NOW, parse_period(every)).isoformat()
        assert (task.kind, task.status) == ("system", "pending")
        assert task.input == {"scheduled_for": slot}
        assert task.idempotency_key == f"schedule:{type}:{slot}"

    assert _enqueue(migrated, NOW + timedelta(seconds=20)) == first  # same minute: same runs
    assert _enqueue(migrated, NOW) == first  # schedulers racing: still the same runs
    assert len(_tasks(migrated)) == len(scheduled) - 1

    next_minute = _enqueue(migrated, NOW + timedelta(minutes=1))
    assert next_minute[PROCESS_TYPE] != first[PROCESS_TYPE]
    assert next_minute["revenue.sync"] == first["revenue.sync"]
    assert next_minute["revenue.reconcile"] == first["revenue.reconcile"]

    next_day = _enqueue(migrated, NOW + timedelta(days=1))
    assert all(next_day[t] != first[t] and next_day[t] != next_minute[t] for t in REVENUE)
    revenue_runs = [t for t in _tasks(migrated).values() if t.type in REVENUE]
    assert len(revenue_runs) == 3 + 1 + 3  # first period, the next minute's drain, next day


def test_a_schedule_whose_setting_is_off_is_not_enqueued_and_on_it_is(
    migrated: Engine, scheduled: set[str], configure
) -> None:
    assert "audits.run" not in _enqueue(migrated, NOW)
    configure(audit_every="1h")
    audit_id = _enqueue(migrated, NOW)["audits.run"]
    audit_run = _tasks(migrated)[audit_id]
    assert audit_run.input == {"scheduled_for": "2026-03-01T10:00:00+00:00"}


def test_the_reconcile_period_comes_from_its_setting(
    migrated: Engine, scheduled: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVERNOR_RECONCILE_EVERY", "6h")
    get_settings.cache_clear()
    first = _enqueue(migrated, NOW)
    reconcile = _tasks(migrated)[first["revenue.reconcile"]]
    assert reconcile.input == {"scheduled_for": "2026-03-01T06:00:00+00:00"}
    assert _enqueue(migrated, NOW + timedelta(hours=1))["revenue.reconcile"] == reconcile.id
    assert _enqueue(migrated, NOW + timedelta(hours=2))["revenue.reconcile"] != reconcile.id

    monkeypatch.setenv("GOVERNOR_RECONCILE_EVERY", "0m")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="'0m' is not a period"):
        _enqueue(migrated, NOW)


def test_system_tasks_are_listed_with_kind_system(migrated: Engine, scheduled: set[str], cli):
    first = _enqueue(migrated, NOW)
    with session_scope(migrated) as session:  # an agent's task beside them
        registry.task("write_copy")(lambda ctx: None)
        agent = service.submit(session, "write_copy")

    try:
        result = cli("tasks", "list", "--kind", "system", "--json")
        assert result.exit_code == 0, result.stderr
        listed = json.loads(result.stdout)
        assert {t["id"] for t in listed} == set(first.values())
        assert {t["type"] for t in listed} == set(first)
        assert {t["kind"] for t in listed} == {"system"}

        agents = json.loads(cli("tasks", "list", "--kind", "agent", "--json").stdout)
        assert [t["id"] for t in agents] == [agent]
    finally:
        registry.unregister("write_copy")


# Running them -------------------------------------------------------------------------------


def _run(engine: Engine) -> None:
    executor = EmbeddedExecutor(engine, concurrency=4, lease_s=5)
    try:
        asyncio.run(asyncio.wait_for(executor.run_until_idle(), timeout=60))
    finally:
        executor.close()


def test_without_stripe_key_or_data_the_revenue_jobs_skip_instead_of_failing(
    migrated: Engine, scheduled: set[str]
) -> None:
    first = _enqueue(migrated, NOW)
    _run(migrated)

    tasks = _tasks(migrated)
    for type in REVENUE:
        task = tasks[first[type]]
        assert (task.status, task.attempts, task.error) == ("succeeded", 1, None), type
    reconcile = tasks[first["revenue.reconcile"]].output
    assert set(reconcile) == {"skipped"}
    assert "Nothing of Stripe's is stored" in reconcile["skipped"]
    assert "2026-02-27 00:00 to 2026-03-01 00:00" in reconcile["skipped"]  # the two days before
    assert "skipped" in tasks[first["revenue.sync"]].output
    assert "GOVERNOR_STRIPE_API_KEY" in tasks[first["revenue.sync"]].output["skipped"]
    assert tasks[first[PROCESS_TYPE]].output == {"handled": 0, "failed": 0, "given_up": 0}
    with session_scope(migrated, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(ReconciliationRun)) == 0
