"""TaskSpanExporter: which spans it stores, how it classifies them, what it refuses to keep."""

from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import Engine

from governor.models import TaskSpan
from governor.storage.db import create_engine
from governor.tracing import TaskSpanExporter
from tests.factories import insert_task

SPANS = TaskSpan.__table__


@pytest.fixture
def recorded() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A private provider that keeps finished spans in memory (the global one is not touched)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    provider.shutdown()


def make_spans(
    provider: TracerProvider, memory: InMemorySpanExporter, task_id: str
) -> list[ReadableSpan]:
    tracer = provider.get_tracer("test")
    task = {"governor.task.id": task_id}
    with tracer.start_as_current_span("task demo", attributes=task):
        with tracer.start_as_current_span(
            "SELECT governor", kind=SpanKind.CLIENT,
            attributes={**task, "db.system.name": "sqlite", "db.query.text": "SELECT 1"},
        ):  # fmt: skip
            pass
        with tracer.start_as_current_span(
            "POST", kind=SpanKind.CLIENT,
            attributes={
                **task, "http.request.method": "POST",
                "url.full": "https://api.example.com/v1?api_key=sk-123&page=2",
                "http.request.header.authorization": ("Bearer sk-123",),
                "x.password": "hunter2", "session_cookie": "abc", "auth.token": "t",
            },
        ):  # fmt: skip
            pass
        with tracer.start_as_current_span(
            "chat gpt-x",
            attributes={**task, "gen_ai.request.model": "gpt-x", "gen_ai.usage.input_tokens": 12},
        ):
            pass
        with tracer.start_as_current_span("x" * 400, attributes={**task, "score": 0.5}):
            pass
    with tracer.start_as_current_span("outside any task"):
        pass
    return list(memory.get_finished_spans())


def stored(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(SPANS)).mappings()
        return {row["name"][:40]: dict(row) for row in rows}


def test_stores_task_spans_with_kinds_parents_and_without_secrets(
    migrated: Engine, recorded
) -> None:
    task_id = insert_task(migrated, type="demo")
    spans = make_spans(*recorded, task_id)

    assert TaskSpanExporter(migrated).export(spans) == SpanExportResult.SUCCESS

    rows = stored(migrated)
    assert set(rows) == {"task demo", "SELECT governor", "POST", "chat gpt-x", "x" * 40}
    root = rows["task demo"]
    assert root["parent_span_id"] is None and root["kind"] == "internal"
    assert len(root["trace_id"]) == 32 and len(root["span_id"]) == 16
    for name in ("SELECT governor", "POST", "chat gpt-x", "x" * 40):
        assert rows[name]["parent_span_id"] == root["span_id"]
        assert rows[name]["trace_id"] == root["trace_id"]
        assert rows[name]["task_id"] == task_id
    assert rows["SELECT governor"]["kind"] == "db"
    assert rows["POST"]["kind"] == "http"
    assert rows["chat gpt-x"]["kind"] == "llm"
    assert rows["x" * 40]["kind"] == "internal"
    assert len(rows["x" * 40]["name"]) == 300
    assert (
        isinstance(root["started_at"], datetime)
        and root["started_at"].utcoffset().total_seconds() == 0
    )
    assert root["duration_us"] >= rows["POST"]["duration_us"] >= 0

    http = rows["POST"]["attributes"]
    assert http["http.request.method"] == "POST"
    assert "sk-123" not in str(http) and "page=2" in http["url.full"]
    for secret in (
        "http.request.header.authorization",
        "x.password",
        "session_cookie",
        "auth.token",
    ):
        assert secret not in http
    assert rows["chat gpt-x"]["attributes"]["gen_ai.usage.input_tokens"] == 12
    assert rows["x" * 40]["attributes"] == {"score": 0.5}


def test_spans_of_unknown_tasks_do_not_lose_the_others(migrated: Engine, recorded) -> None:
    task_id = insert_task(migrated, type="demo")
    spans = make_spans(*recorded, task_id)
    recorded[1].clear()
    ghost = make_spans(*recorded, "task_does_not_exist")

    assert TaskSpanExporter(migrated).export(spans + ghost) == SpanExportResult.SUCCESS

    with migrated.connect() as conn:
        assert conn.scalars(sa.select(SPANS.c.task_id).distinct()).all() == [task_id]


def test_database_failure_is_reported_not_raised(tmp_path, recorded, caplog) -> None:
    unmigrated = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    spans = make_spans(*recorded, "task_x")

    assert TaskSpanExporter(unmigrated).export(spans) == SpanExportResult.FAILURE
    assert "could not store" in caplog.text
    unmigrated.dispose()
