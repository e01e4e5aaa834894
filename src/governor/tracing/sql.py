"""Spans for a task's SQL: a SQLAlchemy hook notes each query; the notes become spans later.

A span per query made by the OpenTelemetry SDK costs about 0.2 ms here, which more than doubles
a task that runs a hundred small queries. This hook only notes each query's statement, start
and end (a few microseconds); when the attempt ends, the notes become spans with the recorded
times, under the span that was current when each query ran, with the OpenTelemetry database
attributes. Repeated runs of one statement with nothing else in between (an N+1 loop) become
one span that says how many calls it holds (`db.calls`) and their own time (`db.time_us`).
"""

import re
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import event
from sqlalchemy.engine import Engine

_SPACE = re.compile(r"\s+")
_tracer = trace.get_tracer("governor.sql")


@dataclass
class _Call:
    statement: str
    system: str
    parent: trace.SpanContext
    start_ns: int
    end_ns: int
    own_ns: int
    calls: int = 1
    spans_before: int = 0


@dataclass
class SqlRecorder:
    """The queries of one attempt, in the order they ran."""

    calls: list[_Call] = field(default_factory=list)
    other_spans: int = 0  # spans started by anything else; a new one breaks a run of repeats

    def add(self, statement: str, system: str, start_ns: int, end_ns: int) -> None:
        parent = trace.get_current_span().get_span_context()
        last = self.calls[-1] if self.calls else None
        if (last is not None and last.statement == statement and last.parent == parent
                and last.spans_before == self.other_spans):  # fmt: skip
            last.calls += 1
            last.end_ns = end_ns
            last.own_ns += end_ns - start_ns
            return
        self.calls.append(_Call(statement, system, parent, start_ns, end_ns, end_ns - start_ns,
                                spans_before=self.other_spans))  # fmt: skip

    def emit(self) -> None:
        """Turn the notes into spans (call once, when the attempt ends)."""
        for call in self.calls:
            parent = trace.set_span_in_context(trace.NonRecordingSpan(call.parent))
            operation = call.statement.split(" ", 1)[0].upper()
            span = _tracer.start_span(
                f"{operation} {call.system}", context=parent, kind=SpanKind.CLIENT,
                start_time=call.start_ns,
                attributes={"db.system": call.system, "db.statement": call.statement,
                            "db.operation": operation, "db.calls": call.calls,
                            "db.time_us": call.own_ns // 1000},
            )  # fmt: skip
            span.end(end_time=call.end_ns)
        self.calls.clear()


current_recorder: ContextVar[SqlRecorder | None] = ContextVar("governor_sql", default=None)


@lru_cache(maxsize=4096)
def _normalized(statement: str) -> str:
    """The statement on one line (a handler runs the same few statements again and again)."""
    return _SPACE.sub(" ", statement).strip()


def _do_execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """Run the query (as the dialect would) and note it, when an attempt is recording."""
    recorder = current_recorder.get()  # None outside attempts and inside untraced()
    if recorder is None:
        return False  # SQLAlchemy runs it as usual
    dialect = context.dialect
    wall, start = time.time_ns(), time.perf_counter_ns()  # wall clock for the span, the
    try:  # monotonic one for its length
        dialect.do_execute(cursor, statement, parameters, context)
    finally:
        took = time.perf_counter_ns() - start
        recorder.add(_normalized(statement), dialect.name, wall, wall + took)
    return True


def trace_sql(engine: Engine) -> None:
    """Record the queries that attempts run on this engine (once per engine)."""
    # One dialect hook per query (do_execute) costs less than the two cursor-execute events.
    if not event.contains(engine, "do_execute", _do_execute):
        event.listen(engine, "do_execute", _do_execute)
