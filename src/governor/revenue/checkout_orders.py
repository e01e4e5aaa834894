"""The order a completed checkout session makes (one per session, race-free), its customer, and
the link between it and the charge of the session's payment intent, whichever came first."""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from governor.models import CheckoutSession, Customer, LedgerEntry, Offer, Order
from governor.models.base import table_of
from governor.revenue import ledger
from governor.storage.upsert import upsert


def order_id_of(session_id: str) -> str:
    """The order a checkout session makes: the same id from every event and every handler."""
    return "order_" + hashlib.sha256(session_id.encode()).hexdigest()[:26]


def customer_id_of(key: str) -> str:
    """The Customer made for a Stripe customer id or an e-mail address seen first at checkout."""
    return "cust_" + hashlib.sha256(key.encode()).hexdigest()[:26]


@dataclass(frozen=True)
class Wanted:
    """An order as its completed session states it."""

    order_id: str
    session_id: str
    offer_id: str
    amount_minor: int
    currency: str
    created_at: datetime
    payment_intent_id: str | None
    stripe_customer_id: str | None
    email: str | None
    name: str | None
    failed: bool


def make_orders(session: Session, wanted: Sequence[Wanted]) -> set[str]:
    """Insert the orders (pending; a second insert of one, or of an order the shop made
    before, changes nothing but fills gaps), their customers, and fail those whose async
    payment failed; the order ids."""
    if not wanted:
        return set()
    customers = _customers(session, wanted)
    rows = [
        {"id": w.order_id, "offer_id": w.offer_id, "customer_id": customers.get(w.order_id),
         "amount_minor": w.amount_minor, "currency": w.currency, "status": "pending",
         "stripe_payment_intent_id": w.payment_intent_id, "checkout_session_id": w.session_id,
         "created_at": w.created_at}
        for w in wanted
    ]  # fmt: skip
    filled = ("customer_id", "stripe_payment_intent_id", "checkout_session_id")
    upsert(session, table_of(Order), rows, key=("id",),
           changes=lambda t, e: {n: func.coalesce(t.c[n], e[n]) for n in filled})  # fmt: skip
    failed = [w.order_id for w in wanted if w.failed]
    if failed:
        session.execute(
            update(Order).where(Order.id.in_(failed), Order.status == "pending")
            .values(status="failed")
        )  # fmt: skip
    return {w.order_id for w in wanted}


def _customers(session: Session, wanted: Sequence[Wanted]) -> dict[str, str]:
    """The Customer of each order: found by Stripe customer id, else by e-mail, else made."""
    stripe_ids = {w.stripe_customer_id for w in wanted if w.stripe_customer_id}
    emails = {w.email for w in wanted if w.email}
    if not stripe_ids and not emails:
        return {}
    known = session.execute(
        select(Customer.id, Customer.stripe_customer_id, Customer.email)
        .where(or_(Customer.stripe_customer_id.in_(stripe_ids), Customer.email.in_(emails)))
        .order_by(Customer.created_at, Customer.id)
    ).all()
    by_stripe = {c.stripe_customer_id: c.id for c in reversed(known) if c.stripe_customer_id}
    by_email = {c.email: c.id for c in reversed(known) if c.email}
    found: dict[str, str] = {}
    new: dict[str, dict[str, Any]] = {}
    for w in wanted:
        existing = by_stripe.get(w.stripe_customer_id) or by_email.get(w.email)
        key = w.stripe_customer_id or (w.email.lower() if w.email else None)
        if existing is None and key is not None:
            existing = customer_id_of(key)
            new.setdefault(existing, {"id": existing, "name": w.name, "email": w.email,
                                      "stripe_customer_id": w.stripe_customer_id,
                                      "created_at": w.created_at})  # fmt: skip
        if existing is not None:
            found[w.order_id] = existing
    made = [new[key] for key in sorted(new)]  # in one order: concurrent inserts cannot deadlock
    upsert(session, table_of(Customer), made, key=("id",), ignore=True)
    return found


def link_charges(session: Session, intents: Iterable[str]) -> tuple[set[str], list[str]]:
    """Give the charges of these payment intents their session's order (and offer and idea)
    and each session its charge; the orders concerned and the charges linked just now.

    Call with the intents locked (keylock), so a handler writing the session and another
    writing the charge cannot both miss each other.
    """
    wanted = sorted(set(intents))
    if not wanted:
        return set(), []
    sessions = {
        row.payment_intent_id: row
        for row in session.execute(
            select(CheckoutSession.id, CheckoutSession.payment_intent_id,
                   CheckoutSession.order_id, CheckoutSession.offer_id, CheckoutSession.charge_id,
                   Offer.idea_id)
            .outerjoin(Offer, Offer.id == CheckoutSession.offer_id)
            .where(CheckoutSession.payment_intent_id.in_(wanted),
                   CheckoutSession.order_id.is_not(None))
        )
    }  # fmt: skip
    if not sessions:
        return set(), []
    charges = session.execute(
        select(LedgerEntry.source_ref, LedgerEntry.payment_intent_id, LedgerEntry.status,
               LedgerEntry.order_id)
        .where(LedgerEntry.kind == "charge", LedgerEntry.payment_intent_id.in_(sorted(sessions)),
               LedgerEntry.source_ref != LedgerEntry.payment_intent_id)  # not an intent's own
        .order_by(LedgerEntry.occurred_at, LedgerEntry.source_ref)
    ).all()  # fmt: skip
    newly = sorted((c.source_ref, sessions[c.payment_intent_id]) for c in charges
                   if c.order_id is None)  # fmt: skip
    if newly:  # by (kind, source_ref), the entry's unique key
        entries = table_of(LedgerEntry)
        session.execute(
            entries.update()
            .where(entries.c.kind == "charge", entries.c.source_ref == bindparam("ref"),
                   entries.c.order_id.is_(None))
            .values(order_id=bindparam("order"),
                    offer_id=func.coalesce(entries.c.offer_id, bindparam("offer")),
                    idea_id=func.coalesce(entries.c.idea_id, bindparam("idea"))),
            [{"ref": ref, "order": s.order_id, "offer": s.offer_id, "idea": s.idea_id}
             for ref, s in newly],
        )  # fmt: skip
    latest = {c.payment_intent_id: c.source_ref for c in charges}
    succeeded = {c.payment_intent_id: c.source_ref for c in charges if c.status == "succeeded"}
    paid_by = latest | succeeded  # the latest paid charge, else the latest attempt
    _set_session_charges(session, {sessions[pi].id: ch for pi, ch in paid_by.items()
                                   if sessions[pi].charge_id != ch})  # fmt: skip
    refs = [ref for ref, _ in newly]
    ledger.copy_links(session, refs)
    return {s.order_id for s in sessions.values()}, refs


def _set_session_charges(session: Session, charge_of: dict[str, str]) -> None:
    """Set sessions' charge ids (by session id)."""
    if not charge_of:
        return
    sessions = table_of(CheckoutSession)
    session.execute(
        sessions.update().where(sessions.c.id == bindparam("cs")).values(charge_id=bindparam("ch")),
        [{"cs": cs, "ch": ch} for cs, ch in sorted(charge_of.items())],
    )
