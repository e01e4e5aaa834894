"""Helpers for the fulfilment tests: offers with a fulfilment type, paid orders, the engine."""

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from governor.fulfilment.schemas import FulfilmentOut
from governor.fulfilment.service import get_fulfilment
from governor.models import Alert
from governor.models.types import utcnow
from governor.offers import service as offers
from governor.revenue.paid import submit_fulfilments
from governor.storage.db import session_scope
from governor.tasks.embedded import EmbeddedExecutor


def an_offer(engine: Engine, kind: str, config: dict[str, Any], sla: int | None = None) -> str:
    """A live offer fulfilled by `kind` with this config (and SLA in minutes)."""
    with session_scope(engine) as session:
        idea = offers.create_idea(session, title="Guides")
        offer = offers.create_offer(session, idea_id=idea.id, title="A guide", price_minor=1900,
                                    currency="usd")  # fmt: skip
        offer.fulfilment_type, offer.fulfilment_config = kind, config
        offer.fulfilment_sla_minutes = sla
        return offer.id


def paid_orders(engine: Engine, offer_id: str, count: int = 1,
                address: dict[str, str] | None = None, email: str | None = "a@example.com",
                ) -> list[str]:  # fmt: skip
    """Orders of the offer turned paid, their fulfilment submitted as revenue submits it."""
    made = []
    with session_scope(engine) as session:
        for n in range(count):
            customer = offers.create_customer(session, email=email, address=address)
            order = offers.create_order(session, offer_id=offer_id, customer_id=customer.id)
            offers.mark_paid(session, order.id, charge_id=f"ch_{order.id}_{n}", at=utcnow())
            made.append(order.id)
        submit_fulfilments(session, made)
    return made


def run_tasks(engine: Engine) -> None:
    """Run every task to its end with the embedded executor, as `governor serve` would."""
    executor = EmbeddedExecutor(engine, concurrency=8, lease_s=5)
    try:
        asyncio.run(asyncio.wait_for(executor.run_until_idle(), timeout=120))
    finally:
        executor.close()


def fulfilment(engine: Engine, order_id: str) -> FulfilmentOut:
    with session_scope(engine, readonly=True) as session:
        return get_fulfilment(session, order_id)


def alerts(engine: Engine, kind: str) -> list[Alert]:
    with session_scope(engine, readonly=True) as session:
        found = session.scalars(select(Alert).where(Alert.kind == kind)).all()
        session.expunge_all()
        return list(found)
