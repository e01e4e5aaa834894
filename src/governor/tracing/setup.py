"""Process-wide tracing: the TracerProvider, its processors, and the instrumented libraries."""

import logging
import threading
import weakref
from collections.abc import Sequence
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes
from sqlalchemy.engine import Engine

from governor import __version__
from governor.tracing.context import TASK_ID, current_task_id
from governor.tracing.exporter import TaskSpanExporter
from governor.tracing.sql import current_recorder, trace_sql

log = logging.getLogger(__name__)

_lock = threading.Lock()
_provider: TracerProvider | None = None
_configured: "tuple[weakref.ref[Engine], str | None] | None" = None


class TaskIdProcessor(SpanProcessor):
    """Marks every span started inside a task with `governor.task.id`, whoever starts it."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Copy the task id from the context variable, else from the parent span."""
        recorder = current_recorder.get()
        if recorder is not None:
            recorder.other_spans += 1  # a query after this span is not a repeat of one before
        if span.attributes and TASK_ID in span.attributes:
            return
        task_id = current_task_id.get()
        if task_id is None:
            parent = getattr(trace.get_current_span(parent_context), "attributes", None)
            found = parent.get(TASK_ID) if parent else None
            task_id = found if isinstance(found, str) else None
        if task_id is not None:
            span.set_attribute(TASK_ID, task_id)


class TasksOnly(Sampler):
    """Record the spans of task attempts and their children; drop all others at no cost.

    Governor traces tasks. Spans that libraries open elsewhere (a web request, a webhook)
    would belong to no task, be thrown away by the exporter, and cost every request its time.
    """

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if parent.is_valid:
            wanted = parent.trace_flags.sampled
        else:
            wanted = current_task_id.get() is not None or bool(attributes and TASK_ID in attributes)
        return SamplingResult(Decision.RECORD_AND_SAMPLE if wanted else Decision.DROP, attributes)

    def get_description(self) -> str:
        return "TasksOnly"


class _Pipeline(SpanProcessor):
    """The exporting processors, replaceable while the provider lives (a new database, a test)."""

    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()

    def replace(self, processors: Sequence[SpanProcessor]) -> tuple[SpanProcessor, ...]:
        old, self._processors = self._processors, tuple(processors)
        return old

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self._processors:
            processor.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self._processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self.replace(()):
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all([processor.force_flush(timeout_millis) for processor in self._processors])


_pipeline = _Pipeline()


def configure_tracing(engine: Engine, *, otlp_endpoint: str | None = None) -> TracerProvider:
    """Trace tasks into `task_spans` of the engine's database (and OTLP); safe to call again."""
    global _configured
    with _lock:
        provider = _get_provider()
        if _configured is not None and (_configured[0](), _configured[1]) == (
            engine,
            otlp_endpoint,
        ):
            return provider
        # A task of many queries makes many spans at once: a deep queue and large batches keep
        # the exporter from dropping them (the SDK's defaults are 2,048 and 512).
        processors: list[SpanProcessor] = [
            BatchSpanProcessor(TaskSpanExporter(engine), max_queue_size=262_144,
                               max_export_batch_size=4096, schedule_delay_millis=1000)
        ]  # fmt: skip
        if otlp_endpoint:
            processors.append(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=_traces_url(otlp_endpoint)))
            )
        for old in _pipeline.replace(processors):
            old.shutdown()  # writes what it still holds, to where it was meant to go
        trace_sql(engine)
        _instrument_httpx(provider)
        _configured = (weakref.ref(engine), otlp_endpoint)
        return provider


def force_flush(timeout_millis: int = 30000) -> bool:
    """Export every finished span now; True when all were exported in time."""
    return _pipeline.force_flush(timeout_millis)


def shutdown_tracing() -> None:
    """Export what is pending and stop exporting (at process exit, between tests)."""
    global _configured
    with _lock:
        _pipeline.shutdown()
        _configured = None


def _get_provider() -> TracerProvider:
    global _provider
    if _provider is None:
        existing = trace.get_tracer_provider()
        if isinstance(existing, TracerProvider):
            provider = existing  # someone (opentelemetry-instrument) set one up: join it
        else:
            provider = TracerProvider(
                sampler=TasksOnly(),
                resource=Resource.create(
                    {"service.name": "governor", "service.version": __version__}
                ),
            )
            trace.set_tracer_provider(provider)
        provider.add_span_processor(TaskIdProcessor())
        provider.add_span_processor(_pipeline)
        _provider = provider
    return _provider


def _instrument_httpx(provider: TracerProvider) -> None:
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


def _traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL: a bare collector address gets the standard `/v1/traces` path."""
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint
