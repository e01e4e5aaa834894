"""Fulfilment steps through a real provider on loopback: each step's effect happens once."""

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from governor.demo.provider_server import ProviderBehaviour, ProviderServer
from governor.jobs import load
from tests.fulfilment.support import an_offer, fulfilment, paid_orders, run_tasks


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    load()
    with ProviderServer(ProviderBehaviour(seed=3)) as server:
        yield server


def test_a_paid_order_is_delivered_once_and_fulfilled(migrated: Engine, provider: ProviderServer):
    offer = an_offer(migrated, "deliver_file", {"url": f"{provider.url}/deliveries",
                                                "file": "guide.pdf"})  # fmt: skip
    [order] = paid_orders(migrated, offer)
    run_tasks(migrated)
    seen = fulfilment(migrated, order)
    assert seen.order_status == "fulfilled"
    assert [(s.step, s.status, s.attempts) for s in seen.steps] == [("deliver_file", "done", 1)]
    assert provider.effects()["effects"] == {f"fulfil:{order}:deliver_file": 1}
