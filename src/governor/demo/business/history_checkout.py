"""The demo history's checkout: each planned order is paid through a Stripe Checkout Session on
the stand-in (a declined card leaves it open; never paid, it expires: abandoned at the payment
step), some visitors open a session and leave, and the offers' views are tracked."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from governor.demo.business import plan as planning
from governor.demo.stripe_server import StripeStore
from governor.demo.stripe_server.objects import Obj
from governor.revenue.funnel import record_step

LEFT_PER_ORDER = 0.35
"""Sessions opened and left before paying, for each order."""
VIEWS_PER_SESSION = (1, 4)
"""Each session's buyer viewed the offer this many times before, at random."""
OPENED_BEFORE = timedelta(minutes=4)
"""A session opens this long before its first charge."""
EXPIRES_AFTER = timedelta(hours=1)
"""A session nobody paid expires this long after its last attempt."""


@dataclass(frozen=True)
class Left:
    """A visitor who opened a session for an offer and left before paying."""

    at: datetime
    offer: int
    currency: str
    amount_minor: int


def left_sessions(plan: planning.Plan) -> list[Left]:
    """The visitors who left, spread like the orders (seeded: the same plan, the same ones)."""
    rng = random.Random(f"{plan.seed}:left")
    return [
        Left(order.created_at - timedelta(hours=rng.uniform(1, 30)), order.offer, order.currency,
             order.amount_minor)
        for order in plan.orders
        if rng.random() < LEFT_PER_ORDER
    ]  # fmt: skip


@dataclass
class HistoryCheckout:
    """The sessions of the history on a stand-in, and the views to track afterwards."""

    store: StripeStore
    sessions: dict[int, str] = field(default_factory=dict)  # order key → cs id
    views: list[tuple[int, datetime, str]] = field(default_factory=list)  # offer, at, cs id

    def charge(self, order: planning.PlannedOrder, charge: planning.PlannedCharge,
               metadata: dict[str, str], customer: str, title: str) -> Obj:  # fmt: skip
        """An order's charge, paid in its session (opened at the first); a second successful
        charge of a paid session (a double charge) is a direct charge, as it happens."""
        when = int(charge.at.timestamp())
        cs_id = self.sessions.get(order.key)
        if cs_id is None:
            opened = int((charge.at - OPENED_BEFORE).timestamp())
            cs_id = self.store.open_session(
                order.amount_minor, order.currency, name=title, metadata=metadata,
                intent_metadata=metadata, customer=customer, created=opened,
            )["id"]  # fmt: skip
            self.sessions[order.key] = cs_id
            self.views.append((order.offer, charge.at - OPENED_BEFORE, cs_id))
        cs = self.store.get("checkout_sessions", cs_id) or {}
        if cs.get("status") != "open":
            code, message = charge.decline or ("card_declined", "Your card was declined.")
            return self.store.create_charge(
                order.amount_minor, order.currency, succeed=charge.succeed, created=when,
                metadata=metadata, customer=customer, description=title, failure_code=code,
                failure_message=message,
            )  # fmt: skip
        paid = self.store.pay_session(cs_id, "succeeded" if charge.succeed else "declined",
                                      email=None, customer=customer, created=when)  # fmt: skip
        intent = self.store.get("payment_intents", paid["payment_intent"]) or {}
        return self.store.get("charges", intent["latest_charge"]) or {}

    def expire_unpaid(self, order: planning.PlannedOrder) -> None:
        """The session of an order whose every charge was declined expires."""
        cs_id = self.sessions.get(order.key)
        if cs_id is None or order.paid or not order.charges:
            return
        at = order.charges[-1].at + EXPIRES_AFTER
        self.store.expire_session(cs_id, created=int(at.timestamp()))

    def leave(self, left: Left, offer_id: str, title: str) -> None:
        """A visitor opens a session and leaves: it expires an hour later."""
        cs = self.store.open_session(left.amount_minor, left.currency, name=title,
                                     metadata={"offer_id": offer_id},
                                     created=int(left.at.timestamp()))  # fmt: skip
        self.views.append((left.offer, left.at, cs["id"]))
        gone = left.at + EXPIRES_AFTER
        self.store.expire_session(cs["id"], created=int(gone.timestamp()))

    def track_views(self, session: Session, offers: dict[int, str], seed: int) -> int:
        """The views and checkout starts of every session, as a shop's page tracks them."""
        rng = random.Random(f"{seed}:views")
        for offer, at, cs_id in self.views:
            offer_id = offers[offer]
            for n in range(rng.randint(*VIEWS_PER_SESSION)):
                record_step(session, offer_id, "offer_viewed",
                            at=at - timedelta(minutes=3 * n + 1))  # fmt: skip
            record_step(session, offer_id, "checkout_started", session_id=cs_id, at=at)
        return len(self.views)
