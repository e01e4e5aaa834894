"""Retries: Retry-After honoured, backoff on 5xx and connection errors, POST kept safe."""

from collections import deque
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from governor.outbound import OutboundClient, stats
from tests.support.http_server import serve
from tests.support.ports import free_port


def test_retry_after_in_seconds_is_honoured(configure, make_client, sleeps) -> None:
    configure(outbound_max_attempts=5)
    client: OutboundClient = make_client(sleep=sleeps)
    script = deque([(429, {"Retry-After": "7"}), (503, {"Retry-After": "2"})])
    with serve(script=script) as server:
        response = client.get(f"{server.url}/x?api_key=secret")
        assert response.status_code == 200
        assert [item.status for item in server.received] == [429, 503, 200]
    assert sleeps == [7.0, 2.0]
    assert stats()["127.0.0.1"].responses_429 == 1
    assert stats()["127.0.0.1"].retries == 2


def test_retry_after_as_an_http_date_is_honoured(configure, make_client, sleeps) -> None:
    client: OutboundClient = make_client(sleep=sleeps)
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    with serve(script=deque([(429, {"Retry-After": when})])) as server:
        assert client.get(server.url).status_code == 200
    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 30


def test_server_errors_are_retried_with_growing_backoff(configure, make_client, sleeps) -> None:
    configure(outbound_max_attempts=4, outbound_breaker_failures=10)
    client: OutboundClient = make_client(sleep=sleeps, seed=1)
    with serve(script=deque([(500, {})] * 3)) as server:
        assert client.get(server.url).status_code == 200
        assert len(server.received) == 4
    assert len(sleeps) == 3
    assert all(0.1 <= s <= 0.2 * 2**i for i, s in enumerate(sleeps))
    assert sleeps[2] > sleeps[0]


def test_the_last_answer_is_returned_when_attempts_run_out(configure, make_client, sleeps) -> None:
    configure(outbound_max_attempts=3, outbound_breaker_failures=10)
    client: OutboundClient = make_client(sleep=sleeps)
    with serve(failure_rate=1.0) as server:
        assert client.get(server.url).status_code in (500, 503)
        assert len(server.received) == 3


def test_post_is_not_retried_after_a_500(configure, make_client, sleeps) -> None:
    client: OutboundClient = make_client(sleep=sleeps)
    with serve(script=deque([(500, {})])) as server:
        assert client.post(server.url, json={"amount": 10}).status_code == 500
        assert len(server.received) == 1
    assert sleeps == []


def test_post_with_an_idempotency_key_is_retried_after_a_500(
    configure, make_client, sleeps
) -> None:
    client: OutboundClient = make_client(sleep=sleeps)
    with serve(script=deque([(500, {})])) as server:
        keyed = {"Idempotency-Key": "fulfil:order_1:ship"}
        assert client.post(server.url, json={"amount": 10}, headers=keyed).status_code == 200
        assert [item.status for item in server.received] == [500, 200]
    assert len(sleeps) == 1


def test_post_is_retried_after_429_and_503(configure, make_client, sleeps) -> None:
    client: OutboundClient = make_client(sleep=sleeps)
    script = deque([(429, {"Retry-After": "1"}), (503, {})])
    with serve(script=script) as server:
        assert client.post(server.url, json={"amount": 10}).status_code == 200
        assert [item.status for item in server.received] == [429, 503, 200]


def test_failed_connections_are_retried_then_raised(configure, make_client, sleeps) -> None:
    configure(outbound_max_attempts=3, outbound_breaker_failures=10)
    client: OutboundClient = make_client(sleep=sleeps)
    with pytest.raises(httpx.ConnectError):
        client.post(f"http://127.0.0.1:{free_port()}/pay")
    assert len(sleeps) == 2
    assert stats()["127.0.0.1"].failures == 3


def test_random_failures_are_absorbed(configure, make_client, sleeps) -> None:
    configure(outbound_max_attempts=8, outbound_breaker_failures=20)
    client: OutboundClient = make_client(sleep=sleeps)
    with serve(failure_rate=0.3, seed=42) as server:
        for i in range(100):
            assert client.get(f"{server.url}/{i}").status_code == 200
        failed = [item for item in server.received if item.status != 200]
    assert failed  # the seeded server did fail, and every call still ended with 200
    assert stats()["127.0.0.1"].retries == len(failed)


def test_a_malformed_request_fails_at_once_without_blaming_the_host(
    configure, make_client, sleeps
) -> None:
    configure(outbound_max_attempts=5, outbound_breaker_failures=1)
    client: OutboundClient = make_client(sleep=sleeps)
    with serve() as server:
        with pytest.raises(httpx.LocalProtocolError):
            client.get(server.url, headers={"Authorization": "Bearer sk_live_x\n"})
        assert server.received == []  # it never left
        assert client.get(server.url).status_code == 200  # the circuit did not open
    assert sleeps == []
    assert stats()["127.0.0.1"].failures == 0
