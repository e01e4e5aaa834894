"""The task a piece of code runs for, and the spans that handler code opens."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import Span, SpanKind

from governor.tracing.sql import SqlRecorder, current_recorder

TASK_ID = "governor.task.id"
TASK_TYPE = "governor.task.type"

current_task_id: ContextVar[str | None] = ContextVar("governor_current_task_id", default=None)
"""The id of the task whose attempt is running in this context, if any."""

_tracer = trace.get_tracer("governor.tracing")


@contextmanager
def task_trace(task_id: str, task_type: str) -> Iterator[Span]:
    """Run one task attempt as its own trace: a root span `task {type}`, the task id in context."""
    token = current_task_id.set(task_id)
    recorder = SqlRecorder()
    sql_token = current_recorder.set(recorder)
    try:
        # An empty parent context: every task attempt starts a trace of its own.
        with _tracer.start_as_current_span(
            f"task {task_type}",
            context=otel_context.Context(),
            kind=SpanKind.INTERNAL,
            attributes={TASK_ID: task_id, TASK_TYPE: task_type},
            record_exception=True,
            set_status_on_exception=True,
        ) as root:
            try:
                yield root
            finally:
                recorder.emit()  # the attempt's queries, as children of the spans they ran in
    finally:
        current_recorder.reset(sql_token)
        current_task_id.reset(token)


@contextmanager
def untraced() -> Iterator[None]:
    """Governor's own bookkeeping (leases, results, exports): no spans, so no task pays for it."""
    token = otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
    sql_token = current_recorder.set(None)
    try:
        yield
    finally:
        current_recorder.reset(sql_token)
        otel_context.detach(token)


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span of kind "internal" around a step of handler code: `with span("score ideas"):`."""
    with _tracer.start_as_current_span(
        name, kind=SpanKind.INTERNAL, attributes={k: _attribute(v) for k, v in attributes.items()}
    ) as current:
        yield current


def _attribute(value: Any) -> Any:
    """A value OpenTelemetry accepts as an attribute: primitives as they are, the rest as text."""
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | bool | int | float) for v in value
    ):
        return list(value)
    return str(value)
