"""A real HTTP server on 127.0.0.1 with scripted misbehaviour: rate limits, failures, a log."""

import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


@dataclass(frozen=True)
class Received:
    """One request as the server saw it (monotonic arrival time, method, path, answer)."""

    at: float
    method: str
    path: str
    status: int


@dataclass
class Behaviour:
    """How the server answers; change fields while it runs (e.g. stop failing)."""

    limit_per_second: int | None = None  # beyond this many requests in 1 s: 429
    retry_after: str = "1"  # Retry-After header of those 429s
    failure_rate: float = 0.0  # chance of a 500 or 503 (Retry-After: 0 on 503)
    seed: int = 0
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)  # answered first


class ThreadedServer:
    """An HTTP server on 127.0.0.1 (a free port) answering from a background thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 128
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> Self:
        """Listen in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and wait for the thread."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class LocalHTTPServer(ThreadedServer):
    """The server, its behaviour and what it received; `url` is its base URL."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.received: list[Received] = []
        self._rng = random.Random(behaviour.seed)
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        super().__init__(_handler(self))
        self.url = f"http://127.0.0.1:{self.port}"

    def decide(self, method: str, path: str) -> tuple[int, dict[str, str]]:
        """Record one arrival and choose its answer (status, extra headers)."""
        now = time.monotonic()
        b = self.behaviour
        with self._lock:
            self._window.append(now)
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if b.script:
                status, headers = b.script.popleft()
            elif b.limit_per_second is not None and len(self._window) > b.limit_per_second:
                status, headers = 429, {"Retry-After": b.retry_after}
            elif b.failure_rate and self._rng.random() < b.failure_rate:
                status = self._rng.choice((500, 503))
                headers = {"Retry-After": "0"} if status == 503 else {}
            else:
                status, headers = 200, {}
            self.received.append(Received(now, method, path, status))
        return status, headers

    def arrivals(self) -> list[float]:
        """Arrival times of every request, in order."""
        with self._lock:
            return sorted(item.at for item in self.received)

    def most_in_window(self, seconds: float) -> int:
        """The largest number of requests that arrived within any window of this length."""
        times = self.arrivals()
        most, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= seconds:
                start += 1
            most = max(most, end - start + 1)
        return most


def _handler(server: LocalHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers = server.decide(self.command, self.path)
            body = f'{{"status": {status}}}'.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet."""

    return Handler


@contextmanager
def serve(**behaviour: object) -> Iterator[LocalHTTPServer]:
    """Run a LocalHTTPServer with the given Behaviour fields for the duration of a with block."""
    server = LocalHTTPServer(Behaviour(**behaviour)).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
