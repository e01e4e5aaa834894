"""The Stripe SDK over Governor's outbound client, against the local stand-in on loopback."""

import logging
from collections.abc import Iterator

import pytest
import stripe

from governor.demo.stripe_server import StripeServer, StripeStore
from governor.errors import BadInput, ConfigError
from governor.outbound import CircuitOpen, OutboundClient, reset_stats, stats
from governor.revenue.stripe_api import (
    OutboundHTTPClient,
    close_client,
    is_configured,
    iter_list,
    stripe_client,
)
from tests.conftest import Configure
from tests.revenue.conftest import START
from tests.support.ports import free_port

KEY = "rk_test_governorSecret123"


@pytest.fixture
def client(stand_in: StripeServer, configure: Configure) -> Iterator[stripe.StripeClient]:
    configure(stripe_api_key=KEY, stripe_api_base=stand_in.url)
    reset_stats()
    made = stripe_client()
    yield made
    close_client(made)


def test_listing_pages_through_created_filters_and_yields_each_once(
    store: StripeStore, client: stripe.StripeClient
) -> None:
    made = [store.create_charge(100 + i, created=START + i // 3) for i in range(300)]
    inside = [c for c in made if START + 10 <= c["created"] < START + 94]
    assert len(inside) == 252

    seen = list(iter_list(client, "charges", created_gte=START + 10, created_lt=START + 94))

    assert [c["id"] for c in seen] == [c["id"] for c in reversed(inside)]
    assert all(type(c) is dict for c in seen)
    assert type(seen[0]["metadata"]) is dict
    assert stats()["127.0.0.1"].calls == 3  # 100 + 100 + 52


def test_other_resources_and_small_pages(store: StripeStore, client: stripe.StripeClient) -> None:
    charge = store.create_charge(5000, created=START)
    store.refund(charge["id"], 1000, created=START + 5)

    refunds = list(iter_list(client, "refunds", limit=1))
    events = list(iter_list(client, "events", limit=2, type="charge.refunded"))
    txns = list(iter_list(client, "balance_transactions"))

    assert [r["charge"] for r in refunds] == [charge["id"]]
    assert [e["type"] for e in events] == ["charge.refunded"]
    assert type(events[0]["data"]["object"]) is dict
    assert {t["type"] for t in txns} == {"charge", "refund"}


def test_bad_list_arguments_are_refused_before_any_call(client: stripe.StripeClient) -> None:
    with pytest.raises(BadInput):
        iter_list(client, "not_a_resource")
    with pytest.raises(BadInput):
        iter_list(client, "charges", limit=101)
    with pytest.raises(BadInput):
        iter_list(client, "charges", created_gte=START, created={"lt": START})


def test_429_is_retried_by_outbound_and_the_call_succeeds(
    store: StripeStore, client: stripe.StripeClient
) -> None:
    store.create_charge(700, created=START)
    store.fail_next(2, 429, retry_after=0)

    seen = list(iter_list(client, "charges"))

    assert len(seen) == 1
    host = stats()["127.0.0.1"]
    assert (host.calls, host.attempts, host.retries, host.responses_429) == (1, 3, 2, 2)


def test_429_after_the_last_attempt_is_stripes_rate_limit_error(
    store: StripeStore, stand_in: StripeServer, configure: Configure
) -> None:
    configure(stripe_api_key=KEY, stripe_api_base=stand_in.url, outbound_max_attempts=2)
    reset_stats()
    store.fail_next(2, 429, retry_after=0)
    with OutboundClient() as outbound:
        client = stripe_client(outbound=outbound)
        with pytest.raises(stripe.RateLimitError) as caught:
            client.v1.charges.list()
    assert caught.value.http_status == 429
    assert stats()["127.0.0.1"].attempts == 2  # the SDK added none of its own


def test_the_sdk_never_retries_even_when_a_call_asks(
    store: StripeStore, stand_in: StripeServer, configure: Configure
) -> None:
    configure(stripe_api_key=KEY, stripe_api_base=stand_in.url, outbound_max_attempts=1)
    reset_stats()
    store.fail_next(1, 500, retry_after=0)
    client = stripe_client()
    with pytest.raises(stripe.APIError) as caught:
        client.v1.charges.list(options={"max_network_retries": 3})
    close_client(client)
    assert caught.value.http_status == 500
    assert stats()["127.0.0.1"].attempts == 1


def test_404_is_stripes_invalid_request_error(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.retrieve("ch_missing")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_an_open_circuit_stops_further_calls(
    store: StripeStore, stand_in: StripeServer, configure: Configure
) -> None:
    configure(
        stripe_api_key=KEY,
        stripe_api_base=stand_in.url,
        outbound_max_attempts=1,
        outbound_breaker_failures=1,
    )
    store.fail_next(1, 500, retry_after=0)
    client = stripe_client()
    with pytest.raises(stripe.APIError):
        client.v1.charges.list()
    with pytest.raises(CircuitOpen):
        client.v1.charges.list()
    close_client(client)


def test_missing_key_is_a_config_error(configure: Configure) -> None:
    assert not is_configured()
    with pytest.raises(ConfigError) as caught:
        stripe_client()
    assert "GOVERNOR_STRIPE_API_KEY" in (caught.value.hint or "")
    assert "restricted key with read access" in (caught.value.hint or "")

    configure(stripe_api_key="   ")
    assert not is_configured()
    with pytest.raises(ConfigError):
        stripe_client()


@pytest.mark.parametrize(
    "base", ["ftp://127.0.0.1:1", "127.0.0.1:8000", "not a url", "http://h/?x=1", "http://"]
)
def test_a_bad_base_url_is_a_config_error(configure: Configure, base: str) -> None:
    configure(stripe_api_key=KEY, stripe_api_base=base)
    assert is_configured()
    with pytest.raises(ConfigError) as caught:
        stripe_client()
    assert "GOVERNOR_STRIPE_API_BASE" in caught.value.message


def test_a_malformed_key_is_refused_without_quoting_it(configure: Configure) -> None:
    configure(stripe_api_key="rk_test_bad key")
    with pytest.raises(ConfigError) as caught:
        stripe_client()
    assert "bad key" not in str(caught.value.to_dict())


def test_the_key_never_appears_in_logs_or_errors(
    store: StripeStore,
    stand_in: StripeServer,
    configure: Configure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure(stripe_api_key=KEY, stripe_api_base=stand_in.url, outbound_max_attempts=2)
    caplog.set_level(logging.DEBUG)
    store.fail_next(2, 429, retry_after=0)
    client = stripe_client()
    errors: list[BaseException] = []
    with pytest.raises(stripe.RateLimitError) as limited:
        client.v1.charges.list()
    errors.append(limited.value)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.charges.retrieve("ch_missing")
    errors.append(missing.value)
    close_client(client)

    # Nothing listens there; one attempt, so no backoff sleep.
    configure(stripe_api_base=f"http://127.0.0.1:{free_port()}", outbound_max_attempts=1)
    client = stripe_client()
    with pytest.raises(stripe.APIConnectionError) as unreachable:
        client.v1.charges.list()
    errors.append(unreachable.value)
    close_client(client)

    assert any("127.0.0.1" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert KEY not in record.getMessage()
    for error in errors:
        assert KEY not in str(error) and KEY not in repr(error)
        assert error.__cause__ is None or KEY not in str(error.__cause__)


def test_transport_errors_quoting_the_header_are_scrubbed(
    stand_in: StripeServer, configure: Configure
) -> None:
    configure(stripe_api_key=KEY)
    with OutboundClient(sleep=lambda _: None) as outbound:  # outbound retries these too
        http = OutboundHTTPClient(outbound)
        headers = {"Authorization": f"Bearer {KEY}\n"}  # an illegal header value
        with pytest.raises(stripe.APIConnectionError) as caught:
            http.request("get", f"{stand_in.url}/v1/charges", headers)
    assert KEY not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_close_client_closes_only_its_own_outbound(
    stand_in: StripeServer, configure: Configure
) -> None:
    configure(stripe_api_key=KEY, stripe_api_base=stand_in.url)
    with OutboundClient() as shared:
        borrowed = stripe_client(outbound=shared)
        close_client(borrowed)
        assert shared.get(f"{stand_in.url}/v1/balance").status_code == 401  # still open

    own = stripe_client()
    close_client(own)
    with pytest.raises(RuntimeError):
        own.v1.charges.list()
