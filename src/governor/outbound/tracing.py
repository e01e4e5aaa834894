"""One OpenTelemetry CLIENT span per outside call, with no secrets in its attributes."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from opentelemetry import trace

tracer = trace.get_tracer("governor.outbound")


def safe_url(url: httpx.URL) -> str:
    """The URL without user info, query string or fragment (where secrets tend to live)."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


@contextmanager
def call_span(method: str, url: httpx.URL) -> Iterator[trace.Span]:
    """Open the span of one call; the caller adds status, attempts and throttling."""
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "server.address": url.host,
        "url.full": safe_url(url),
    }
    if url.port is not None:
        attributes["server.port"] = url.port
    with tracer.start_as_current_span(
        method, kind=trace.SpanKind.CLIENT, attributes=attributes
    ) as span:
        yield span
