"""Orders follow the money: what their Stripe charges, refunds and disputes make of them."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.models import LedgerEntry, Order
from governor.revenue.paid import submit_fulfilments
from governor.revenue.retired_sales import alert_retired_offer_sales
from governor.revenue.translate import NO_MONEY_STATUSES


def sync_orders_from_ledger(session: Session, order_ids: Iterable[str]) -> int:
    """Bring orders in line with what the ledger knows of their Stripe charges.

    An order with a succeeded charge is paid (at the charge's time, by the latest such
    charge); fully refunded, it is refunded; with a dispute, disputed; only failed charges,
    failed. A fulfilled order stays fulfilled while its money stays. An order that turned paid
    gets its fulfilment submitted (revenue/paid.py). Returns how many orders changed; ids the
    orders table does not hold are ignored.
    """
    wanted = sorted(set(order_ids))
    changed = 0
    turned_paid: list[str] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        entries = session.execute(
            select(
                LedgerEntry.order_id,
                LedgerEntry.kind,
                LedgerEntry.status,
                LedgerEntry.amount_minor,
                LedgerEntry.source_ref,
                LedgerEntry.charge_id,
                LedgerEntry.occurred_at,
            )
            .where(
                LedgerEntry.order_id.in_(chunk),
                LedgerEntry.kind.in_(("charge", "refund", "dispute")),
            )
            .order_by(LedgerEntry.occurred_at, LedgerEntry.source_ref)
        ).all()
        by_order: dict[str, list[Any]] = defaultdict(list)
        for entry in entries:
            by_order[entry.order_id].append(entry)
        orders = session.scalars(
            select(Order).where(Order.id.in_(list(by_order))).with_for_update()
        )
        for order in orders:
            was = order.status
            changed += _apply_ledger(order, by_order[order.id])
            if order.status == "paid" and was != "paid":
                turned_paid.append(order.id)
    session.flush()
    submit_fulfilments(session, turned_paid)
    return changed


def _apply_ledger(order: Order, entries: list[Any]) -> int:
    """Set one order's payment fields from its ledger entries (oldest first); 1 if it changed."""
    before = (order.status, order.paid_at, order.stripe_charge_id)
    succeeded = [e for e in entries if e.kind == "charge" and e.status == "succeeded"]
    failed = [e for e in entries if e.kind == "charge" and e.status in ("failed", "canceled")]
    if succeeded:
        charge = succeeded[-1]
        order.stripe_charge_id, order.paid_at = charge.source_ref, charge.occurred_at
        charged = sum(e.amount_minor for e in succeeded)
        refunded = -sum(
            e.amount_minor
            for e in entries
            if e.kind == "refund" and e.status not in NO_MONEY_STATUSES
        )
        if any(e.kind == "dispute" for e in entries):
            order.status = "disputed"
        elif refunded >= charged:
            order.status = "refunded"
        elif order.status not in ("cancelled",):
            order.status = "fulfilled" if order.fulfilled_at is not None else "paid"
    elif failed and order.status in ("pending", "failed"):
        order.status, order.stripe_charge_id = "failed", failed[-1].source_ref
    return int(before != (order.status, order.paid_at, order.stripe_charge_id))


def orders_of_events(session: Session, events: Sequence[dict[str, Any]]) -> set[str]:
    """The orders Stripe events concern: named in their objects' metadata, or through the
    ledger entries of the charges they name (a refund's or a dispute's charge)."""
    found: set[str] = set()
    charges: set[str] = set()
    for event in events:
        obj = (event.get("data") or {}).get("object") or {}
        order = (obj.get("metadata") or {}).get("order_id")
        if order:
            found.add(str(order))
        charge = obj["id"] if obj.get("object") == "charge" else obj.get("charge")
        if isinstance(charge, dict):
            charge = charge.get("id")
        if isinstance(charge, str):
            charges.add(charge)
    ordered = sorted(charges)
    for start in range(0, len(ordered), 500):
        query = select(LedgerEntry.order_id).where(
            LedgerEntry.kind == "charge",
            LedgerEntry.source_ref.in_(ordered[start : start + 500]),
            LedgerEntry.order_id.is_not(None),
        )
        found.update(str(o) for o in session.scalars(query))
    return found


def sync_orders_after_events(
    session: Session,
    events: Sequence[dict[str, Any]],
    *,
    orders: Iterable[str] = (),
    charges: Iterable[str] = (),
) -> int:
    """After a batch of Stripe events reached the ledger: update the orders they concern (and
    `orders`, e.g. made by checkout sessions), and alert sales of retired offers (also by
    `charges` that only now reached their offer)."""
    alert_retired_offer_sales(session, events, charges=charges)
    return sync_orders_from_ledger(session, orders_of_events(session, events) | set(orders))
