"""configure_tracing + task_trace: the spans of a task, whoever starts them, reach `task_spans`."""

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import governor.tracing as tracing
from governor.models import TaskSpan
from tests.factories import insert_task

SPANS = TaskSpan.__table__


def rows(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(SPANS).order_by(SPANS.c.id)).mappings()]


def test_a_task_is_one_trace_with_instrumented_children(traced: Engine, http_server: str) -> None:
    task_id = insert_task(traced, type="demo")

    with tracing.task_trace(task_id, "demo") as root:
        assert tracing.current_task_id.get() == task_id
        with tracing.span("score ideas", ideas=3), traced.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        httpx.get(f"{http_server}/fast")
    assert tracing.current_task_id.get() is None
    with traced.connect() as conn:  # outside any task: not stored
        conn.execute(sa.text("SELECT 2"))
    assert tracing.force_flush()

    spans = rows(traced)
    by_name = {s["name"]: s for s in spans}
    root_row = by_name["task demo"]
    assert root_row["parent_span_id"] is None
    assert root_row["span_id"] == f"{root.get_span_context().span_id:016x}"
    assert root_row["attributes"]["governor.task.type"] == "demo"
    assert {s["trace_id"] for s in spans} == {root_row["trace_id"]}
    assert {s["task_id"] for s in spans} == {task_id}
    assert by_name["score ideas"]["parent_span_id"] == root_row["span_id"]
    assert by_name["score ideas"]["attributes"] == {"ideas": 3}
    queries = [s for s in spans if s["attributes"].get("db.statement") == "SELECT 1"]
    assert [q["kind"] for q in queries] == ["db"]
    assert queries[0]["parent_span_id"] == by_name["score ideas"]["span_id"]
    (request,) = [s for s in spans if s["kind"] == "http"]
    assert request["parent_span_id"] == root_row["span_id"]
    assert not any("SELECT 2" in str(s["attributes"]) for s in spans)

    # The exporter's own INSERTs are not traced: flushing again adds nothing.
    assert tracing.force_flush()
    assert len(rows(traced)) == len(spans)
    assert not any("task_spans" in str(s["attributes"]) for s in spans)


def test_a_failing_task_records_the_exception(traced: Engine) -> None:
    task_id = insert_task(traced, type="demo")

    with pytest.raises(ValueError), tracing.task_trace(task_id, "demo"):
        raise ValueError("bad idea")
    tracing.force_flush()

    (root,) = rows(traced)
    assert root["attributes"]["otel.status_code"] == "ERROR"
    assert root["attributes"]["exception.type"] == "ValueError"
    assert root["attributes"]["exception.message"] == "bad idea"


def test_configure_is_idempotent(traced: Engine) -> None:
    provider = tracing.configure_tracing(traced)
    assert tracing.configure_tracing(traced) is provider
