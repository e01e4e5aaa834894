"""The queue and the providers' health of real fulfilment: paid orders run as tasks through the
provider stand-in on loopback (throttling, failing at random), traced as `governor serve` traces
them; the queue then holds only the step that needs the customer, and the provider's calls and
429s are the ones the stand-in answered. Both databases."""

import importlib
from collections.abc import Iterator

import pytest

import governor.fulfilment.jobs
from governor.config import get_settings
from governor.demo.provider_server import ProviderBehaviour, ProviderServer
from governor.jobs import load
from governor.offers import fulfilment_queue
from governor.offers.provider_health import health
from governor.storage.db import session_scope
from governor.tracing import configure_tracing, shutdown_tracing
from tests.fulfilment.support import an_offer, paid_orders, run_tasks


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    load()
    importlib.reload(governor.fulfilment.jobs)  # registered afresh, as tests/fulfilment does
    with ProviderServer(ProviderBehaviour(seed=5, rate_per_second=2, failure_rate=0.2)) as server:
        yield server


@pytest.fixture
def traced(migrated):
    configure_tracing(migrated)
    yield migrated
    shutdown_tracing()


def test_the_queue_and_health_of_real_fulfilment_through_a_throttling_provider(traced, provider):
    mail = an_offer(traced, "call_api", {"url": f"{provider.url}/mail", "api": "email"}, sla=60)
    ship = an_offer(traced, "call_api", {"url": f"{provider.url}/ship", "api": "shipping"})
    delivered = paid_orders(traced, mail, 5)
    [waiting] = paid_orders(traced, ship, address=None)  # the step needs the customer
    run_tasks(traced)
    shutdown_tracing()  # every span exported
    answered = provider.effects()
    assert answered["effects"] == {f"fulfil:{order}:email": 1 for order in delivered}
    with session_scope(traced, readonly=True) as session:
        [item] = fulfilment_queue.queue(session)
        rows = health(session, get_settings())
    assert (item.order_id, item.state, item.over_sla) == (waiting, "action_required", False)
    assert "address" in (item.last_error or "")
    [host] = rows  # both offers call the stand-in: one provider, its host
    assert host.provider == "127.0.0.1" and host.open_steps == 1 and host.done_steps == 5
    assert host.calls >= 5 and host.errors == 0  # every call answered in the end
    assert host.responses_429 == answered["throttled"] > 0
    assert host.breaker == "closed"
