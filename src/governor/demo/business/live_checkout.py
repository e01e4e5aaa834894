"""The live demo's buyers at Stripe Checkout: they view an offer, open a session, and pay by
card, are declined and give up, pay with a delayed method that settles later, leave before
paying, or come back through the recovery link of a session they abandoned."""

import random
import secrets
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from governor.demo.business.catalog import FIRST_NAMES, LAST_NAMES, email
from governor.demo.stripe_server import StripeStore
from governor.revenue.checkout_orders import order_id_of
from governor.revenue.funnel import record_step

PAID, DECLINED, DELAYED = 0.70, 0.08, 0.05
"""Shares of opened sessions paid by card, declined (then abandoned at the payment step) and
paid by a delayed method; the rest leave before paying."""
DELAYED_FAILS, RECOVERS = 0.2, 0.3
"""Delayed payments that fail in the end; abandoned sessions whose buyer comes back."""
VIEWS_PER_CHECKOUT = 3
"""Views of an offer for each session opened (some visitors only look)."""


@dataclass(frozen=True)
class Offered:
    """What a buyer sees of an offer."""

    id: str
    idea_id: str | None
    title: str
    price_minor: int
    currency: str


@dataclass
class Buyer:
    """Who pays: a returning customer's Stripe id and e-mail, or a new visitor's."""

    name: str
    email: str
    stripe_customer_id: str | None = None


@dataclass
class Checkout:
    """The buyers' sessions on a Stripe stand-in: opened, paid, abandoned, settled later."""

    store: StripeStore
    rng: random.Random
    delayed: list[str] = field(default_factory=list)  # sessions waiting for their money
    abandoned: list[str] = field(default_factory=list)  # expired at the payment step
    paid_charges: list[str] = field(default_factory=list)  # refund candidates

    def visit(self, session: Session, offer: Offered, buyer: Buyer | None) -> str | None:
        """A visitor views the offer; some open a session and finish it one way or another.
        Returns the order a completed session makes (None when nobody completed)."""
        visitor = "v_" + secrets.token_hex(6)
        for _ in range(self.rng.randint(1, VIEWS_PER_CHECKOUT)):
            record_step(session, offer.id, "offer_viewed", visitor=visitor)
        if self.rng.random() < 1 / VIEWS_PER_CHECKOUT:
            return None
        buyer = buyer or _new_buyer(self.rng)
        cs = self.store.open_session(
            offer.price_minor, offer.currency, name=offer.title,
            metadata={"offer_id": offer.id, "idea_id": offer.idea_id or ""},
            intent_metadata={"offer_id": offer.id, "idea_id": offer.idea_id or ""},
            customer=buyer.stripe_customer_id, customer_email=buyer.email, recovery=True,
        )  # fmt: skip
        record_step(session, offer.id, "checkout_started", session_id=cs["id"], visitor=visitor)
        return self._finish(cs["id"], buyer)

    def later(self) -> list[str]:
        """What happens after: a delayed payment settles, an abandoned buyer comes back.
        Returns the orders of recovered sessions."""
        if self.delayed:
            session_id = self.delayed.pop(0)
            self.store.settle_session(session_id, succeeded=self.rng.random() >= DELAYED_FAILS)
        if self.abandoned and self.rng.random() < RECOVERS:
            expired = self.abandoned.pop(self.rng.randrange(len(self.abandoned)))
            cs = self.store.recover_session(expired)
            self.store.pay_session(cs["id"], email=cs["customer_email"])
            self._charged(cs["id"])
            return [order_id_of(cs["id"])]
        return []

    def _finish(self, session_id: str, buyer: Buyer) -> str | None:
        roll = self.rng.random()
        if roll < PAID:
            self.store.pay_session(session_id, email=buyer.email, name=buyer.name)
            self._charged(session_id)
            return order_id_of(session_id)
        if roll < PAID + DECLINED:
            self.store.pay_session(session_id, "declined", email=buyer.email, name=buyer.name)
            self.store.expire_session(session_id)
            self.abandoned.append(session_id)
            return None
        if roll < PAID + DECLINED + DELAYED:
            self.store.pay_session(session_id, "processing", email=buyer.email, name=buyer.name)
            self.delayed.append(session_id)
            return order_id_of(session_id)
        self.store.expire_session(session_id)  # left before paying
        return None

    def _charged(self, session_id: str) -> None:
        cs = self.store.get("checkout_sessions", session_id)
        intent = self.store.get("payment_intents", (cs or {}).get("payment_intent") or "")
        if intent and intent.get("latest_charge"):
            self.paid_charges.append(intent["latest_charge"])


def _new_buyer(rng: random.Random) -> Buyer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return Buyer(f"{first} {last}", email(first, last, "." + secrets.token_hex(3)))
