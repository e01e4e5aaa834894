"""Exactly one effect per order with real processes: Stripe's webhooks for N paid orders
delivered three times in shuffled order into a real `governor serve`, which is SIGKILLed in
the middle of fulfilling them and started again; the provider counts its effects per key."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from governor.demo.provider_server import ProviderBehaviour, ProviderServer
from governor.demo.stripe_server import Clock, StripeStore
from governor.demo.stripe_server.webhooks import deliver
from governor.models import Order
from governor.offers import service as offers
from governor.storage.db import session_scope
from tests.e2e.processes import governor_env, start, stop, wait_until
from tests.support.ports import free_port

pytestmark = pytest.mark.slow
ORDERS = 30
SECRET = "whsec_fulfilment_e2e"


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer(ProviderBehaviour(latency_s=0.4, failure_rate=0.1, seed=11)) as server:
        yield server


def pending_orders(engine: Engine, provider_url: str) -> list[str]:
    """ORDERS pending orders of an offer delivered by the provider."""
    with session_scope(engine) as session:
        idea = offers.create_idea(session, title="Guides")
        offer = offers.create_offer(session, idea_id=idea.id, title="A guide", price_minor=1900,
                                    currency="usd")  # fmt: skip
        offer.fulfilment_type = "deliver_file"
        offer.fulfilment_config = {"url": f"{provider_url}/deliveries", "file": "guide.pdf"}
        made = []
        for n in range(ORDERS):
            customer = offers.create_customer(session, email=f"c{n}@example.com")
            made.append(offers.create_order(session, offer_id=offer.id,
                                            customer_id=customer.id).id)  # fmt: skip
        return made


def fulfilled(engine: Engine) -> int:
    with session_scope(engine, readonly=True) as session:
        return session.scalar(select(func.count()).where(Order.status == "fulfilled")) or 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def test_a_server_killed_mid_fulfilment_leaves_one_effect_per_order(
    migrated: Engine, provider: ProviderServer, tmp_path: Path
) -> None:
    orders = pending_orders(migrated, provider.url)
    store = StripeStore(clock=Clock(1_767_225_600), seed=3)
    for order in orders:
        store.create_charge(1900, metadata={"order_id": order})
    env = governor_env(database_url=migrated.url.render_as_string(hide_password=False),
                       stripe_webhook_secrets=SECRET, lease_seconds="3",
                       outbound_limits="127.0.0.1=15/s", audit_every="off")  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        wait_until(lambda: _answers(f"{base}/healthz"), "the server to answer", 30)
        events = list(reversed(store.all("events")))
        answered = deliver(events, f"{base}/webhooks/stripe", SECRET, duplicates=2,
                           shuffle=True, seed=5)  # fmt: skip
        assert len(answered) == 3 * len(events)
        assert {d.status_code for d in answered} == {200}
        wait_until(lambda: len(provider.effects()["effects"]) >= 3, "fulfilment to be under way")
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        assert fulfilled(migrated) < ORDERS  # killed in the middle
        server = start(["serve", "--port", str(port)], env, tmp_path / "serve2.log")
        wait_until(lambda: fulfilled(migrated) == ORDERS, "every order to be fulfilled", 120)
    finally:
        stop(server)
    seen = provider.effects()
    assert seen["effects"] == {f"fulfil:{order}:deliver_file": 1 for order in orders}
    assert seen["requests"] > ORDERS  # replays and retries reached it, yet one effect each
