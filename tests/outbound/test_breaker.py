"""The circuit breaker opens after consecutive failures, rejects at once, and recovers."""

from collections import deque

import pytest

from governor.errors import GovernorError
from governor.outbound import CircuitOpen, OutboundClient, stats
from tests.support.http_server import serve


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_rejects_and_recovers(configure, make_client, sleeps) -> None:
    configure(
        outbound_max_attempts=1, outbound_breaker_failures=3, outbound_breaker_reset_seconds=30
    )
    clock = Clock()
    client: OutboundClient = make_client(sleep=sleeps, clock=clock)
    with serve(failure_rate=1.0) as server:
        for _ in range(3):
            assert client.get(server.url).status_code >= 500
        with pytest.raises(CircuitOpen) as caught:
            client.get(server.url)
        assert isinstance(caught.value, GovernorError)
        assert "127.0.0.1" in caught.value.message
        assert "in 30.0 s" in caught.value.message
        assert len(server.received) == 3  # the rejected call never reached the server

        clock.now += 29
        with pytest.raises(CircuitOpen):
            client.get(server.url)

        clock.now += 1  # half-open: one trial; it fails, so the circuit opens again
        assert client.get(server.url).status_code >= 500
        with pytest.raises(CircuitOpen):
            client.get(server.url)

        server.behaviour.failure_rate = 0.0
        clock.now += 30
        assert client.get(server.url).status_code == 200
        assert client.breaker("127.0.0.1").state == "closed"
        for _ in range(5):
            assert client.get(server.url).status_code == 200
    host = stats()["127.0.0.1"]
    assert host.breaker_opens == 2
    assert host.rejected_by_breaker == 3


def test_successes_reset_the_count(configure, make_client, sleeps) -> None:
    configure(outbound_max_attempts=1, outbound_breaker_failures=3)
    client: OutboundClient = make_client(sleep=sleeps)
    script: deque[tuple[int, dict[str, str]]] = deque(
        [(500, {}), (500, {}), (200, {}), (500, {}), (500, {})]
    )
    with serve(script=script) as server:
        for _ in range(5):
            client.get(server.url)
    assert client.breaker("127.0.0.1").state == "closed"


def test_429_does_not_count_as_a_failure(configure, make_client, sleeps) -> None:
    configure(outbound_max_attempts=1, outbound_breaker_failures=2)
    client: OutboundClient = make_client(sleep=sleeps)
    with serve(script=deque([(429, {"Retry-After": "1"})] * 4)) as server:
        for _ in range(4):
            assert client.get(server.url).status_code == 429
    assert client.breaker("127.0.0.1").state == "closed"
