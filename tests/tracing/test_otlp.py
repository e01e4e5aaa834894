"""With GOVERNOR_OTLP_ENDPOINT set, task spans also reach an OTLP/HTTP collector."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sqlalchemy.engine import Engine

import governor.tracing as tracing
from tests.factories import insert_task


class Collector(BaseHTTPRequestHandler):
    """The receiving end of OTLP/HTTP: protobuf bodies POSTed to /v1/traces."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_spans_are_sent_to_the_collector_too(migrated: Engine, collector: str) -> None:
    task_id = insert_task(migrated, type="create_offer")
    tracing.configure_tracing(migrated, otlp_endpoint=collector)
    try:
        with tracing.task_trace(task_id, "create_offer"), tracing.span("price the offer"):
            pass
        assert tracing.force_flush()
    finally:
        tracing.shutdown_tracing()
    assert Collector.received, "the collector received nothing"
    names = set()
    for path, content_type, body in Collector.received:
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                names.update(span.name for span in scope.spans)
    assert {"task create_offer", "price the offer"} <= names
