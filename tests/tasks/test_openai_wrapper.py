"""Tests of the OpenAI client wrapper against a real local HTTP server speaking the API's JSON."""

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from governor.tasks.openai_wrapper import instrument_openai
from governor.tasks.usage import collect_usage

CHAT_RESPONSE = {
    "id": "chatcmpl-test-1",
    "object": "chat.completion",
    "created": 1_750_000_000,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hello"},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 1_000,
        "completion_tokens": 500,
        "total_tokens": 1_500,
        "prompt_tokens_details": {"cached_tokens": 200},
    },
}

RESPONSES_RESPONSE = {
    "id": "resp-test-1",
    "object": "response",
    "created_at": 1_750_000_000,
    "status": "completed",
    "model": "gpt-4o-2024-08-06",
    "output": [
        {
            "type": "message",
            "id": "msg-1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "hi", "annotations": []}],
        }
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "usage": {
        "input_tokens": 2_000,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 100,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2_100,
    },
}


class _Handler(BaseHTTPRequestHandler):
    """Answers the two OpenAI endpoints with canned JSON; anything else is a 500."""

    def do_POST(self) -> None:
        json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/v1/chat/completions":
            self._send(200, CHAT_RESPONSE)
        elif self.path == "/v1/responses":
            self._send(200, RESPONSES_RESPONSE)
        else:
            self._send(500, {"error": {"message": "boom", "type": "server_error"}})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def client(base_url: str, exporter: InMemorySpanExporter) -> OpenAI:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    raw = OpenAI(base_url=base_url, api_key="test", max_retries=0)
    return instrument_openai(raw, tracer_provider=provider)


def test_chat_completion_usage_and_cost_are_recorded(
    client: OpenAI, exporter: InMemorySpanExporter
) -> None:
    with collect_usage() as totals:
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert reply.choices[0].message.content == "hello"
    # gpt-4o: 800 uncached * $2.50/M + 200 cached * $1.25/M + 500 out * $10/M = 7,250 micro-dollars
    assert totals.columns() == {
        "ai_model": "gpt-4o-2024-08-06",
        "tokens_in": 1_000,
        "tokens_out": 500,
        "tokens_cached": 200,
        "cost_micros": 7_250,
        "price_version": totals.price_version,
    }
    assert totals.price_version is not None

    (span,) = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.usage.input_tokens"] == 1_000
    assert attributes["gen_ai.usage.output_tokens"] == 500
    assert attributes["governor.cost_micros"] == 7_250
    assert [event.name for event in span.events] == ["gen_ai.usage"]


def test_responses_usage_is_recorded(client: OpenAI, exporter: InMemorySpanExporter) -> None:
    with collect_usage() as totals:
        client.responses.create(model="gpt-4o", input="hi")
    # 2,000 in * $2.50/M + 100 out * $10/M = 6,000 micro-dollars
    assert (totals.tokens_in, totals.tokens_out, totals.tokens_cached) == (2_000, 100, 0)
    assert totals.cost_micros == 6_000
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o"


def test_a_failed_call_marks_the_span_and_records_nothing(
    base_url: str, exporter: InMemorySpanExporter
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    raw = OpenAI(base_url=base_url + "/broken", api_key="test", max_retries=0)
    client = instrument_openai(raw, tracer_provider=provider)
    with collect_usage() as totals, pytest.raises(Exception, match="boom"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert totals.calls == 0
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert "error.type" in span.attributes


def test_only_the_instance_is_patched(base_url: str) -> None:
    instrumented = instrument_openai(OpenAI(base_url=base_url, api_key="test"))
    plain = OpenAI(base_url=base_url, api_key="test")
    assert "create" in vars(instrumented.chat.completions)
    assert "create" not in vars(plain.chat.completions)
    assert instrument_openai(instrumented) is instrumented


def test_async_client_is_traced_and_priced(base_url: str, exporter: InMemorySpanExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = instrument_openai(
        AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0), tracer_provider=provider
    )

    async def call() -> None:
        await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        await client.close()

    with collect_usage() as totals:
        asyncio.run(call())
    assert totals.cost_micros == 7_250
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o"
