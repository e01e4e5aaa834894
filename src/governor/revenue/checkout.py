"""Stripe's checkout sessions into `checkout_sessions`: one row per session, the same whatever
order (and however often) its events arrive; completed ones make their orders."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, case, func, or_, select
from sqlalchemy.orm import Session

from governor.models import CheckoutSession, Offer, Order
from governor.models.base import table_of
from governor.revenue import checkout_orders
from governor.revenue.orders import sync_orders_from_ledger
from governor.revenue.translate import object_id, timestamp
from governor.storage.keylock import lock_names
from governor.storage.upsert import upsert

Obj = dict[str, Any]

COMPLETED = "checkout.session.completed"
EXPIRED = "checkout.session.expired"
ASYNC = {
    "checkout.session.async_payment_succeeded": "succeeded",
    "checkout.session.async_payment_failed": "failed",
}
EVENTS = (COMPLETED, EXPIRED, *ASYNC)
"""The checkout events Governor handles (Stripe sends none when a session opens)."""

STATUS_RANK = {"open": 0, "expired": 1, "complete": 2}
PAYMENT_RANK = {"unpaid": 0, "no_payment_required": 1, "paid": 2}
SET_ONCE = (
    "offer_id", "payment_intent_id", "customer_id", "amount_total_minor", "currency",
    "expires_at", "completed_at", "expired_at", "async_payment", "async_payment_at",
    "recovered_from", "order_id",
)  # fmt: skip
"""Columns whose first known value stays: a session's facts do not change once Stripe has them."""


@dataclass(frozen=True)
class Seen:
    """A session object as one event (`type`, at Stripe's `at`) or a list of Stripe showed it."""

    obj: Obj
    type: str | None
    at: datetime


def seen_in(events: Sequence[Obj]) -> list[Seen]:
    """The checkout sessions a batch of events carries."""
    return [
        Seen(e["data"]["object"], e["type"], timestamp(int(e["created"])))
        for e in events
        if e.get("type") in EVENTS and ((e.get("data") or {}).get("object") or {}).get("id")
    ]


def intents_of(objs: Sequence[Obj]) -> set[str]:
    """The payment intents charges, intents and sessions name (the objects events carry)."""
    found = set()
    for obj in objs:
        kind = obj.get("object")
        if kind == "payment_intent":
            found.add(obj.get("id"))
        elif kind in ("charge", "checkout.session"):
            found.add(object_id(obj.get("payment_intent")))
    return {i for i in found if isinstance(i, str) and i}


def record_objects(session: Session, objs: Sequence[Obj], *, at: datetime) -> int:
    """Store sessions as Stripe's list shows them now (`stripe sync`), link their charges and
    settle their orders; how many orders changed."""
    intents = intents_of(objs)
    lock_names(session, "payment_intent", intents)
    made = record_sessions(session, [Seen(obj, None, at) for obj in objs])
    linked, _ = checkout_orders.link_charges(session, intents)
    return sync_orders_from_ledger(session, made | linked)


def record_sessions(session: Session, seen: Sequence[Seen]) -> set[str]:
    """Merge sessions into their rows and make the orders of completed ones; the order ids.

    Each column moves one way only (status open → expired/complete, payment unpaid → paid,
    facts and times set once, `event_at` the newest applied), in the upsert itself, so
    concurrent handlers and any order of delivery leave the same row.
    """
    if not seen:
        return set()
    objs = [s.obj for s in seen]
    orders = _named_orders(session, objs)
    offers = _offers(session, objs, set(orders.values()))
    rows = [_row(s, offers, orders) for s in seen]
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_id[row["id"]].append(row)
    for turn in range(max(len(same) for same in by_id.values())):  # one row per id per statement
        batch = [same[turn] for same in by_id.values() if turn < len(same)]
        upsert(session, table_of(CheckoutSession), batch, key=("id",), changes=_changes)
    completing = [(s, r) for s, r in zip(seen, rows, strict=True) if r["order_id"] is not None]
    return checkout_orders.make_orders(session, completing_orders(completing, offers))


def completing_orders(
    completing: Sequence[tuple[Seen, dict[str, Any]]], offers: dict[str, "OfferRef"]
) -> list[checkout_orders.Wanted]:
    """What each completed session says of its order."""
    wanted = {}
    for seen, row in completing:
        offer = offers[row["offer_id"]]
        details = seen.obj.get("customer_details") or {}
        wanted[row["order_id"]] = checkout_orders.Wanted(
            order_id=row["order_id"],
            session_id=row["id"],
            offer_id=offer.id,
            amount_minor=row["amount_total_minor"] if row["amount_total_minor"] is not None
            else offer.price_minor,
            currency=row["currency"] or offer.currency,
            created_at=row["created_at"],
            payment_intent_id=row["payment_intent_id"],
            stripe_customer_id=row["customer_id"],
            email=details.get("email") or seen.obj.get("customer_email"),
            name=details.get("name"),
            failed=row["async_payment"] == "failed",
        )  # fmt: skip
    return sorted(wanted.values(), key=lambda w: w.order_id)


@dataclass(frozen=True)
class OfferRef:
    """What a session needs of its offer."""

    id: str
    price_minor: int
    currency: str


def _named_orders(session: Session, objs: Sequence[Obj]) -> dict[str, str]:
    """Orders made before their session and named in its metadata (order_id): their offers."""
    named = {str(i) for o in objs if (i := (o.get("metadata") or {}).get("order_id"))}
    if not named:
        return {}
    rows = session.execute(select(Order.id, Order.offer_id).where(Order.id.in_(named)))
    return {row.id: row.offer_id for row in rows}


def _offers(session: Session, objs: Sequence[Obj], of_orders: set[str]) -> dict[str, OfferRef]:
    """The offers sessions name (metadata.offer_id, or their named order's), sell through
    (payment link) or price (an expanded line item's price), by each of those keys."""
    named = of_orders | {
        str(o["metadata"]["offer_id"]) for o in objs if (o.get("metadata") or {}).get("offer_id")
    }
    links = {i for o in objs if (i := object_id(o.get("payment_link")))}
    prices = {p for o in objs for p in _prices(o)}
    rows = session.execute(
        select(Offer.id, Offer.price_minor, Offer.currency, Offer.stripe_payment_link_id,
               Offer.stripe_price_id)
        .where(or_(Offer.id.in_(named), Offer.stripe_payment_link_id.in_(links),
                   Offer.stripe_price_id.in_(prices)))
    ).all()  # fmt: skip
    found: dict[str, OfferRef] = {}
    for row in rows:
        ref = OfferRef(row.id, row.price_minor, row.currency)
        for key in (row.id, row.stripe_payment_link_id, row.stripe_price_id):
            if key:
                found.setdefault(key, ref)
    return found


def _prices(obj: Obj) -> list[str]:
    items = (obj.get("line_items") or {}).get("data") or []
    return [p for item in items if (p := object_id(item.get("price")))]


def offer_of(obj: Obj, offers: dict[str, OfferRef], orders: dict[str, str]) -> str | None:
    """The offer of a session: its metadata's offer_id, else its named order's, else its
    payment link's or price's."""
    metadata = obj.get("metadata") or {}
    keys = [metadata.get("offer_id"), orders.get(str(metadata.get("order_id"))),
            object_id(obj.get("payment_link")), *_prices(obj)]  # fmt: skip
    return next((offers[str(k)].id for k in keys if k and str(k) in offers), None)


def _row(seen: Seen, offers: dict[str, OfferRef], orders: dict[str, str]) -> dict[str, Any]:
    obj, type, at = seen.obj, seen.type, seen.at
    status = str(obj.get("status") or "open")
    if type == EXPIRED:
        status = "expired"
    elif type in (COMPLETED, *ASYNC):
        status = "complete"
    expires_at = timestamp(int(obj["expires_at"])) if obj.get("expires_at") else None
    offer_id = offer_of(obj, offers, orders)
    named = str((obj.get("metadata") or {}).get("order_id"))
    order_id = named if named in orders else checkout_orders.order_id_of(obj["id"])
    currency = obj.get("currency")
    return {
        "id": obj["id"], "offer_id": offer_id, "status": status,
        "payment_status": obj.get("payment_status"),
        "payment_intent_id": object_id(obj.get("payment_intent")),
        "customer_id": object_id(obj.get("customer")),
        "amount_total_minor": obj.get("amount_total"),
        "currency": str(currency).lower() if currency else None,
        "created_at": timestamp(int(obj["created"])), "expires_at": expires_at,
        "completed_at": at if type == COMPLETED else None,
        # An expired session seen only in a list expired when it was due (or was expired early).
        "expired_at": at if type == EXPIRED else expires_at if status == "expired" else None,
        "async_payment": ASYNC.get(type or ""),
        "async_payment_at": at if type in ASYNC else None,
        "recovered_from": obj.get("recovered_from"),
        "order_id": order_id if status == "complete" and offer_id else None,
        "event_at": at,
    }  # fmt: skip


def _ranked(column: Any, ranks: dict[str, int]) -> Any:
    return case(ranks, value=column, else_=-1)


def _changes(table: Table, excluded: Any) -> dict[str, Any]:
    """ON CONFLICT: statuses only move forward, facts are set once, event_at is the newest."""
    changes: dict[str, Any] = {
        name: func.coalesce(table.c[name], excluded[name]) for name in SET_ONCE
    }
    for name, ranks in (("status", STATUS_RANK), ("payment_status", PAYMENT_RANK)):
        further = _ranked(excluded[name], ranks) > _ranked(table.c[name], ranks)
        changes[name] = case((further, excluded[name]), else_=table.c[name])
    newer = excluded.event_at > table.c.event_at
    changes["event_at"] = case((newer, excluded.event_at), else_=table.c.event_at)
    return changes
