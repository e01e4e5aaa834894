"""Each call makes one CLIENT span with the agreed attributes and no query string or password."""

from collections import deque
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from governor.outbound import CircuitOpen, OutboundClient
from governor.tracing.context import current_task_id
from tests.support.http_server import serve


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Collect finished spans through the global tracer provider (made once per process), the
    calls made as a task's (Governor's own provider, if an earlier test set it up, samples only
    tasks' spans)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    token = current_task_id.set("task_outbound_test")
    yield exporter
    current_task_id.reset(token)
    processor.shutdown()


def outbound_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [
        span
        for span in exporter.get_finished_spans()
        if span.instrumentation_scope and span.instrumentation_scope.name == "governor.outbound"
    ]


def test_a_call_makes_one_client_span_without_secrets(make_client, sleeps, spans) -> None:
    client: OutboundClient = make_client(sleep=sleeps)
    with serve(script=deque([(503, {"Retry-After": "0"})])) as server:
        url = server.url.replace("http://", "http://user:pw@") + "/v1/charge?api_key=secret#frag"
        assert client.get(url).status_code == 200
    (span,) = outbound_spans(spans)
    assert span.kind is trace.SpanKind.CLIENT
    assert span.name == "GET"
    attributes = dict(span.attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["url.full"] == f"{server.url}/v1/charge"
    assert attributes["http.response.status_code"] == 200
    assert attributes["governor.outbound.attempts"] == 2
    assert attributes["governor.outbound.throttled_ms"] == 0
    assert "secret" not in str(attributes) and "pw" not in str(attributes)


def test_a_rejected_call_is_an_error_span(configure, make_client, sleeps, spans) -> None:
    configure(outbound_max_attempts=1, outbound_breaker_failures=1)
    client: OutboundClient = make_client(sleep=sleeps)
    with serve(failure_rate=1.0) as server:
        client.get(server.url)
        with pytest.raises(CircuitOpen):
            client.get(server.url)
    first, second = outbound_spans(spans)
    assert dict(first.attributes or {})["http.response.status_code"] in (500, 503)
    assert second.status.status_code is trace.StatusCode.ERROR
