"""Ideas, offers, customers and orders: creating, paying, fulfilling, costing, listing."""

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from governor.errors import BadInput, NotFound
from governor.ids import new_id
from governor.models import Customer, ExecutionTask, Idea, LedgerEntry, Offer, Order
from governor.models.base import table_of
from governor.models.types import utcnow
from governor.offers import lifecycle
from governor.offers.schemas import (
    CustomerOut,
    IdeaDetail,
    IdeaOut,
    LedgerLine,
    OfferDetail,
    OfferOut,
    OrderDetail,
    OrderOut,
    TaskBrief,
)
from governor.revenue.currency import is_known, normalise
from governor.revenue.translate import NO_MONEY_STATUSES

IDEA_STATUSES = ("proposed", "approved", "building", "live", "retired", "rejected")
OFFER_STATUSES = ("draft", "live", "paused", "retired")
ORDER_STATUSES = ("pending", "paid", "fulfilled", "failed", "refunded", "disputed", "cancelled")
COST_KINDS = ("fulfilment_cost", "other_cost")
DETAIL_LIMIT = 50
"""How many orders or tasks a detail view lists (the newest); the totals count them all."""


# Creating ------------------------------------------------------------------------------------


def create_idea(
    session: Session,
    *,
    title: str,
    description: str | None = None,
    status: str = "proposed",
    created_at: datetime | None = None,
) -> Idea:
    """Record an idea."""
    _check_status(status, IDEA_STATUSES, "idea")
    idea = Idea(
        id=new_id("idea"),
        title=_title(title),
        description=description,
        status=status,
        created_at=created_at or utcnow(),
    )
    session.add(idea)
    session.flush()
    return idea


def create_offer(
    session: Session,
    *,
    idea_id: str,
    title: str,
    price_minor: int,
    currency: str,
    status: str = "live",
    created_at: datetime | None = None,
    actor: str | None = None,
    stripe: dict[str, str] | None = None,
) -> Offer:
    """Put something up for sale: a price in integer minor units of a known ISO currency.

    Its first history row names `actor` (else the running task); `stripe` may give its Stripe
    ids (product, price, payment_link), made in Stripe beforehand.
    """
    _check_status(status, ("draft", "live"), "new offer")
    _require(session, Idea, idea_id)
    offer = Offer(
        id=new_id("offer"),
        idea_id=idea_id,
        title=_title(title),
        price_minor=_positive(price_minor, "price_minor"),
        currency=_currency(currency),
        status=status,
        created_at=created_at or utcnow(),
    )
    session.add(offer)
    session.flush()
    lifecycle.record_created(session, offer, actor=actor)
    if stripe:
        lifecycle.set_stripe_refs(session, offer.id, **stripe)
    return offer


def create_customer(
    session: Session,
    *,
    name: str | None = None,
    email: str | None = None,
    stripe_customer_id: str | None = None,
    address: dict[str, str] | None = None,
    created_at: datetime | None = None,
) -> Customer:
    """Record a customer (name, email, Stripe id and postal address are all optional)."""
    if email is not None and "@" not in email:
        raise BadInput(f"'{email}' is not an email address.", hint="Give it as name@domain.")
    customer = Customer(
        id=new_id("cust"),
        name=name,
        email=email,
        stripe_customer_id=stripe_customer_id,
        address=address,
        created_at=created_at or utcnow(),
    )
    session.add(customer)
    session.flush()
    return customer


def create_order(
    session: Session,
    *,
    offer_id: str,
    customer_id: str | None = None,
    amount_minor: int | None = None,
    currency: str | None = None,
    created_at: datetime | None = None,
) -> Order:
    """A pending order of an offer, at the offer's price and currency unless given."""
    offer = _require(session, Offer, offer_id)
    lifecycle.check_takes_orders(offer)
    if offer.status not in ("live", "paused") and amount_minor is None:
        raise BadInput(
            f"Offer {offer_id} is {offer.status}; only live offers take orders at their price.",
            hint="Set the offer live first, or give the amount explicitly.",
        )
    if customer_id is not None:
        _require(session, Customer, customer_id)
    order = Order(
        id=new_id("order"),
        offer_id=offer_id,
        customer_id=customer_id,
        amount_minor=offer.price_minor
        if amount_minor is None
        else _positive(amount_minor, "amount_minor"),
        currency=offer.currency if currency is None else _currency(currency),
        status="pending",
        created_at=created_at or utcnow(),
    )
    session.add(order)
    session.flush()
    return order


# An order's life -----------------------------------------------------------------------------


def mark_paid(
    session: Session,
    order_id: str,
    *,
    charge_id: str,
    payment_intent_id: str | None = None,
    at: datetime,
) -> Order:
    """Record that a Stripe charge paid the order (again with the same charge: no change)."""
    order = _require(session, Order, order_id, lock=True)
    if order.status in ("refunded", "disputed", "cancelled"):
        raise BadInput(f"Order {order_id} is {order.status}; it cannot be marked paid again.")
    if order.stripe_charge_id not in (None, charge_id) and order.paid_at is not None:
        raise BadInput(
            f"Order {order_id} was already paid by {order.stripe_charge_id}, not {charge_id}.",
            hint="A second charge for one order is a double charge: refund one of them.",
        )
    order.stripe_charge_id = charge_id
    order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
    order.paid_at = order.paid_at or _aware(at)
    if order.status in ("pending", "failed"):
        order.status = "paid"
    session.flush()
    return order


def mark_fulfilled(session: Session, order_id: str, *, at: datetime) -> Order:
    """Record that the order was delivered; it must have been paid."""
    order = _require(session, Order, order_id, lock=True)
    if order.paid_at is None or order.status in ("pending", "failed", "cancelled"):
        raise BadInput(
            f"Order {order_id} is {order.status}; only paid orders can be fulfilled.",
            hint="Wait until its charge succeeded (`governor orders show ID` shows the ledger).",
        )
    order.fulfilled_at = order.fulfilled_at or _aware(at)
    if order.status == "paid":
        order.status = "fulfilled"
    session.flush()
    return order


def record_cost(
    session: Session,
    *,
    kind: str,
    amount_minor: int,
    currency: str,
    occurred_at: datetime,
    description: str,
    order_id: str | None = None,
    offer_id: str | None = None,
    idea_id: str | None = None,
    task_id: str | None = None,
) -> LedgerLine:
    """Write a cost the business paid (a positive amount, stored negative) into the ledger.

    An order's cost is also linked to the order's offer and idea, unless they are given.
    """
    if kind not in COST_KINDS:
        raise BadInput(f"Unknown cost kind '{kind}'.", hint=f"Use one of: {', '.join(COST_KINDS)}.")
    amount = _positive(amount_minor, "amount_minor")
    if order_id is not None:
        order = _require(session, Order, order_id)
        offer_id = offer_id or order.offer_id
    if offer_id is not None and idea_id is None:
        idea_id = _require(session, Offer, offer_id).idea_id
    now = utcnow()
    when = _aware(occurred_at)
    row = {
        "id": new_id("led"),
        "kind": kind,
        "amount_minor": -amount,
        "currency": _currency(currency),
        "status": "succeeded",
        "occurred_at": when,
        "source": "governor",
        "source_ref": new_id("cost"),
        "balance_transaction_id": None,
        "charge_id": None,
        "order_id": order_id,
        "offer_id": offer_id,
        "idea_id": idea_id,
        "task_id": task_id,
        "description": description,
        "watermark": when,
        "event_id": None,
        "created_at": now,
        "updated_at": now,
    }
    session.execute(table_of(LedgerEntry).insert(), [row])
    return LedgerLine.model_validate(row)


# Reading -------------------------------------------------------------------------------------


def list_ideas(
    session: Session,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[IdeaOut]:
    """Ideas, newest first."""
    query = select(Idea).order_by(Idea.created_at.desc(), Idea.id.desc())
    if status is not None:
        query = query.where(Idea.status == _check_status(status, IDEA_STATUSES, "idea"))
    rows = session.scalars(_page(query, limit, offset))
    return [IdeaOut.model_validate(row) for row in rows]


def list_offers(
    session: Session,
    *,
    status: str | None = None,
    idea_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[OfferOut]:
    """Offers, newest first, optionally of one idea."""
    query = select(Offer).order_by(Offer.created_at.desc(), Offer.id.desc())
    if status is not None:
        query = query.where(Offer.status == _check_status(status, OFFER_STATUSES, "offer"))
    if idea_id is not None:
        query = query.where(Offer.idea_id == idea_id)
    rows = session.scalars(_page(query, limit, offset))
    return [OfferOut.model_validate(row) for row in rows]


def list_orders(
    session: Session,
    *,
    status: str | None = None,
    idea_id: str | None = None,
    offer_id: str | None = None,
    customer_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[OrderOut]:
    """Orders, newest first, optionally of one offer, one idea's offers or one customer."""
    query = select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    if status is not None:
        query = query.where(Order.status == _check_status(status, ORDER_STATUSES, "order"))
    if offer_id is not None:
        query = query.where(Order.offer_id == offer_id)
    if idea_id is not None:
        query = query.where(Order.offer_id.in_(select(Offer.id).where(Offer.idea_id == idea_id)))
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    rows = session.scalars(_page(query, limit, offset))
    return [OrderOut.model_validate(row) for row in rows]


def get_idea(session: Session, idea_id: str, *, limit: int = DETAIL_LIMIT) -> IdeaDetail:
    """One idea with its offers and its newest tasks; NotFound if there is none."""
    idea = _require(session, Idea, idea_id)
    offers = session.scalars(
        select(Offer).where(Offer.idea_id == idea_id).order_by(Offer.created_at, Offer.id)
    )
    tasks, total = _tasks(session, ExecutionTask.idea_id == idea_id, limit)
    return IdeaDetail(
        **IdeaOut.model_validate(idea).model_dump(),
        offers=[OfferOut.model_validate(o) for o in offers],
        tasks=tasks,
        tasks_total=total,
    )


def get_offer(session: Session, offer_id: str, *, limit: int = DETAIL_LIMIT) -> OfferDetail:
    """One offer with its idea, its newest orders and tasks, and its orders by status."""
    offer = _require(session, Offer, offer_id)
    idea = session.get(Idea, offer.idea_id) if offer.idea_id else None
    orders = session.scalars(
        select(Order)
        .where(Order.offer_id == offer_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
    )
    counted = session.execute(
        select(Order.status, func.count()).where(Order.offer_id == offer_id).group_by(Order.status)
    )
    by_status = Counter({str(status): int(n) for status, n in counted})
    worked = ExecutionTask.offer_id == offer_id
    if offer.created_by_task_id:  # the task that made it, submitted before the offer existed
        worked = or_(worked, ExecutionTask.id == offer.created_by_task_id)
    tasks, total = _tasks(session, worked, limit)
    return OfferDetail(
        **OfferOut.model_validate(offer).model_dump(),
        idea=IdeaOut.model_validate(idea) if idea is not None else None,
        history=lifecycle.history(session, offer_id),
        orders=[OrderOut.model_validate(o) for o in orders],
        orders_total=sum(by_status.values()),
        orders_by_status=dict(sorted(by_status.items())),
        tasks=tasks,
        tasks_total=total,
    )


def get_order(session: Session, order_id: str) -> OrderDetail:
    """One order with its offer, its customer, its ledger entries (oldest first) and tasks."""
    order = _require(session, Order, order_id)
    offer = session.get(Offer, order.offer_id)
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    entries = [
        LedgerLine.model_validate(e)
        for e in session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.order_id == order_id)
            .order_by(LedgerEntry.occurred_at, LedgerEntry.kind, LedgerEntry.source_ref)
        )
    ]
    net = sum(
        e.amount_minor
        for e in entries
        if e.currency == order.currency
        and not (e.kind in ("charge", "refund") and e.status in NO_MONEY_STATUSES)
    )
    tasks, _ = _tasks(session, ExecutionTask.order_id == order_id, DETAIL_LIMIT)
    return OrderDetail(
        **OrderOut.model_validate(order).model_dump(),
        offer=OfferOut.model_validate(offer) if offer is not None else None,
        customer=CustomerOut.model_validate(customer) if customer is not None else None,
        ledger=entries,
        net_minor=net,
        tasks=tasks,
    )


def get_customer(session: Session, customer_id: str) -> CustomerOut:
    """One customer; NotFound if there is none."""
    return CustomerOut.model_validate(_require(session, Customer, customer_id))


# Helpers -------------------------------------------------------------------------------------

_WHAT = {
    Idea: ("idea", "ideas"),
    Offer: ("offer", "offers"),
    Order: ("order", "orders"),
    Customer: ("customer", "customers"),
}


def _require(session: Session, model: Any, object_id: str, *, lock: bool = False) -> Any:
    # Without a lock, the identity map may answer (no query for an object already loaded).
    found = session.get(model, object_id, with_for_update=True if lock else None)
    if found is None:
        name, command = _WHAT[model]
        hint = (
            f"`governor {command} list` shows the ids."
            if command != "customers"
            else "Create the customer first."
        )
        raise NotFound(f"No {name} {object_id}.", hint=hint)
    return found


def _tasks(session: Session, where: Any, limit: int) -> tuple[list[TaskBrief], int]:
    rows = session.scalars(
        select(ExecutionTask)
        .where(where)
        .order_by(ExecutionTask.created_at.desc(), ExecutionTask.id.desc())
        .limit(limit)
    )
    tasks = [TaskBrief.model_validate(t) for t in rows]
    total = len(tasks)
    if total == limit:
        total = session.scalar(select(func.count()).select_from(ExecutionTask).where(where)) or 0
    return tasks, total


def _page(query: Any, limit: int, offset: int) -> Any:
    if limit < 1:
        raise BadInput(f"--limit must be positive, not {limit}.")
    if offset < 0:
        raise BadInput(f"offset must not be negative, not {offset}.")
    return query.limit(limit).offset(offset)


def _check_status(status: str, allowed: tuple[str, ...], what: str) -> str:
    if status not in allowed:
        raise BadInput(
            f"Unknown {what} status '{status}'.", hint=f"Use one of: {', '.join(allowed)}."
        )
    return status


def _currency(currency: str) -> str:
    try:
        code = normalise(currency)
    except ValueError:
        code = ""
    if not code or not is_known(code):
        raise BadInput(
            f"'{currency}' is not an ISO 4217 currency code.",
            hint="Give a three-letter code Stripe accepts, e.g. usd or eur.",
        )
    return code


def _positive(amount: int, name: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise BadInput(
            f"{name} must be a positive integer in minor units (1900 for 19.00), not {amount!r}.",
        )
    return amount


def _title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise BadInput("A title cannot be empty.")
    if len(cleaned) > 300:
        raise BadInput(f"A title may have at most 300 characters, not {len(cleaned)}.")
    return cleaned


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise BadInput(f"{when.isoformat()} has no time zone; give times in UTC.")
    return when
