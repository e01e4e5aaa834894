"""profile(): real tasks traced by hand; the slow type's HTTP call and N+1 query stand out."""

import time
from datetime import timedelta

import httpx
import sqlalchemy as sa
from rich.console import Console
from sqlalchemy.engine import Engine

import governor.tracing as tracing
from governor.models import ExecutionTask
from governor.models.types import utcnow
from governor.storage.db import session_scope
from governor.tracing.render import profile_tables
from tests.factories import insert_task

TASKS = ExecutionTask.__table__
QUERY = "SELECT  count(*)\n  FROM execution_tasks WHERE type = :type"


def run_task(engine: Engine, task_type: str, body) -> str:
    """What the task runner will do: a row, the attempt inside task_trace, the duration stored."""
    task_id = insert_task(engine, type=task_type, status="running", started_at=utcnow())
    started = time.perf_counter()
    with tracing.task_trace(task_id, task_type):
        body()
    duration_ms = round((time.perf_counter() - started) * 1000)
    with engine.begin() as conn:
        conn.execute(
            sa.update(TASKS)
            .where(TASKS.c.id == task_id)
            .values(status="succeeded", finished_at=utcnow(), duration_ms=duration_ms)
        )
    return task_id


def test_profile_names_the_slow_call_and_the_repeated_query(
    traced: Engine, http_server: str
) -> None:
    client = httpx.Client()  # made once, as a handler's module would (its set-up is not timed)

    def enrich() -> None:
        with tracing.span("fetch leads"):
            client.get(f"{http_server}/slow", params={"q": "1"})
        with traced.connect() as conn:
            for _ in range(50):
                conn.execute(sa.text(QUERY), {"type": "enrich"})

    def ping() -> None:
        with traced.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        time.sleep(0.005)  # a few milliseconds: a task of 0 ms would have no ratio to compare

    for _ in range(2):
        run_task(traced, "enrich", enrich)
    for _ in range(3):
        run_task(traced, "ping", ping)
    insert_task(traced, type="ping", status="running")  # not finished: not counted
    assert tracing.force_flush()

    with session_scope(traced, readonly=True) as session:
        profiles = {p.task_type: p for p in tracing.profile(session)}
        only = tracing.profile(session, task_type="ping")
        none = tracing.profile(session, since=utcnow() + timedelta(hours=1))

    slow, fast = profiles["enrich"], profiles["ping"]
    assert (slow.count, slow.traced, fast.count, fast.traced) == (2, 2, 3, 3)
    assert slow.p50_ms >= 200 and slow.max_ms >= slow.p95_ms >= slow.p50_ms
    assert slow.shares["http"] > 0.5
    assert 0 < slow.shares["db"] < slow.shares["http"]
    assert abs(sum(slow.shares.values()) - 1) < 0.01
    assert slow.shares["llm"] == 0
    assert slow.bottleneck is not None and slow.bottleneck.startswith("http: GET 127.0.0.1 /slow")
    slowest = {(s.kind, s.name): s for s in slow.slowest}
    assert [s.kind for s in slow.slowest[:2]] == ["internal", "http"]  # the step, then its call
    call = slowest[("http", "GET 127.0.0.1 /slow")]
    assert call.count == 2 and call.share > 0.5
    assert slowest[("internal", "fetch leads")].share >= call.share

    (repeated,) = slow.repeated_queries
    # Whitespace collapsed; the placeholder is the driver's (`?` on SQLite, `%(type)s` on psycopg).
    assert repeated.statement.startswith("SELECT count(*) FROM execution_tasks WHERE type = ")
    assert (repeated.tasks, repeated.per_task) == (2, 50)
    assert 0 < repeated.share < slow.shares["http"]
    assert fast.repeated_queries == []

    assert slow.relative_to_others is not None and slow.relative_to_others > 5
    assert fast.relative_to_others is not None and fast.relative_to_others < 1
    assert [p.task_type for p in only] == ["ping"]
    assert only[0].relative_to_others == fast.relative_to_others
    assert none == []
    client.close()

    assert slow.to_dict()["repeated_queries"][0]["per_task"] == 50
    console = Console(record=True, width=200)
    for table in profile_tables(list(profiles.values())):
        console.print(table)
    text = console.export_text()
    assert "GET 127.0.0.1 /slow" in text and "N+1" in text


def test_untraced_tasks_have_durations_but_no_shares(migrated: Engine) -> None:
    for duration in (10, 20, 30, 40):
        insert_task(migrated, type="old", finished_at=utcnow(), duration_ms=duration)

    with session_scope(migrated, readonly=True) as session:
        (old,) = tracing.profile(session)

    assert (old.count, old.traced, old.p50_ms, old.max_ms) == (4, 0, 25.0, 40.0)
    assert old.p95_ms == 38.5
    assert old.shares == {} and old.bottleneck is None and old.relative_to_others is None


def test_nested_spans_count_once_and_an_n_plus_1_is_the_bottleneck(migrated: Engine) -> None:
    start = utcnow()
    task_id = insert_task(migrated, type="sync", finished_at=start, duration_ms=1000)

    def row(span_id: str, parent: str | None, kind: str, offset_ms: float, ms: float, **attrs):
        return {
            "task_id": task_id, "trace_id": "a" * 32, "span_id": span_id.rjust(16, "0"),
            "parent_span_id": parent.rjust(16, "0") if parent else None, "name": span_id,
            "kind": kind, "started_at": start + timedelta(milliseconds=offset_ms),
            "duration_us": int(ms * 1000), "attributes": attrs,
        }  # fmt: skip

    rows = [
        row("root", None, "internal", 0, 1000),
        row("llm", "root", "llm", 0, 200),
        row("llmhttp", "llm", "http", 10, 150, **{"url.full": "https://api.x/v1"}),
    ]
    rows += [
        row(f"q{i}", "root", "db", 300 + i, 1, **{"db.statement": "SELECT * FROM t WHERE id = ?"})
        for i in range(500)
    ]
    with migrated.begin() as conn:
        conn.execute(sa.insert(tracing.exporter.SPANS), rows)

    with session_scope(migrated, readonly=True) as session:
        (sync,) = tracing.profile(session)

    assert sync.shares["llm"] == 0.2 and sync.shares["http"] == 0  # the call inside the model's
    assert sync.shares["db"] == 0.5 and sync.shares["own"] == 0.3
    assert sync.bottleneck == "db: 500× SELECT * FROM t WHERE id = ? (N+1) (50% of time)"  # noqa: RUF001
