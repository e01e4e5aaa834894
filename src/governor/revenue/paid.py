"""Orders that turned paid hand their fulfilment to the task engine, in the same transaction."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.models import Offer, Order
from governor.tasks import registry, service

FULFILMENT_TASK = "fulfilment.order"
"""The system task that fulfils one paid order (registered by `governor.fulfilment.jobs`)."""


def submit_fulfilments(session: Session, order_ids: Iterable[str]) -> list[str]:
    """Submit one fulfilment task per paid order whose offer names a fulfilment type.

    Idempotent per order (key `fulfil:<order id>`): webhooks delivered twice, or a sync that
    runs again, submit nothing more. Returns the ids of the tasks (new or found).
    """
    wanted = sorted(set(order_ids))
    if not wanted or FULFILMENT_TASK not in registry.known():
        return []
    rows = session.execute(
        select(Order.id, Order.offer_id)
        .join(Offer, Offer.id == Order.offer_id)
        .where(
            Order.id.in_(wanted),
            Order.status == "paid",
            Order.fulfilled_at.is_(None),
            Offer.fulfilment_type.is_not(None),
        )
    ).all()
    return [
        service.submit(
            session,
            FULFILMENT_TASK,
            {"order_id": order_id},
            offer_id=offer_id,
            order_id=order_id,
            idempotency_key=f"fulfil:{order_id}",
        )
        for order_id, offer_id in rows
    ]
