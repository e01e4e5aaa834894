"""Fixtures for tracing: tracing configured on the test database, a slow local HTTP server."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy.engine import Engine

from governor.tracing import configure_tracing, shutdown_tracing


@pytest.fixture
def traced(migrated: Engine) -> Iterator[Engine]:
    """The migrated engine, instrumented, its tasks' spans exported into its `task_spans`."""
    configure_tracing(migrated)
    yield migrated
    shutdown_tracing()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(0.2)
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    """The base URL of a local server: `/slow` answers after 200 ms, anything else at once."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
