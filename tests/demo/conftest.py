"""Fixtures: a Stripe stand-in on loopback with a frozen clock, and an SDK client for it."""

from collections.abc import Iterator

import pytest
import stripe

from governor.demo.stripe_server import Clock, StripeServer, StripeStore

START = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def store() -> StripeStore:
    return StripeStore(clock=Clock(START), seed=1)


@pytest.fixture
def server(store: StripeStore) -> Iterator[StripeServer]:
    with StripeServer(store) as running:
        yield running


@pytest.fixture
def client(server: StripeServer) -> stripe.StripeClient:
    """The official SDK pointed at the stand-in, retries off so failures surface."""
    return stripe.StripeClient(
        "sk_test_governor", base_addresses={"api": server.url}, max_network_retries=0
    )
