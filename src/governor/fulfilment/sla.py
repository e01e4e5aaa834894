"""Paid orders still unfulfilled past their offer's fulfilment SLA: one alert per offer."""

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.alerts.service import raise_alert
from governor.models import Offer, Order

LISTED = 20  # orders named in an alert's details


def alert_late_orders(session: Session, *, now: datetime) -> dict[str, list[str]]:
    """Raise an alert for each offer with paid orders past its SLA; return them by offer."""
    rows = session.execute(
        select(Order.id, Order.offer_id, Order.paid_at, Offer.fulfilment_sla_minutes, Offer.title)
        .join(Offer, Offer.id == Order.offer_id)
        .where(Order.status == "paid", Order.fulfilled_at.is_(None), Order.paid_at.is_not(None),
               Offer.fulfilment_sla_minutes.is_not(None))
        .order_by(Order.paid_at)
    ).all()  # fmt: skip
    late: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, tuple[str, int]] = {}
    for order_id, offer_id, paid_at, sla, title in rows:
        assert paid_at is not None and sla is not None, "the query ruled out None"
        if paid_at + timedelta(minutes=sla) < now:
            late[offer_id].append(order_id)
            titles[offer_id] = (title, sla)
    for offer_id, orders in late.items():
        title, sla = titles[offer_id]
        raise_alert(
            session, kind="fulfilment_sla", severity=3, fingerprint=f"fulfilment_sla:{offer_id}",
            title=f"{len(orders)} paid order(s) of offer {offer_id} ({title}) not fulfilled "
                  f"within {sla} min",
            details={"offer_id": offer_id, "sla_minutes": sla, "late": len(orders),
                     "orders": orders[:LISTED],
                     "see": f"governor orders fulfilment {orders[0]}"},
        )  # fmt: skip
    return dict(late)
