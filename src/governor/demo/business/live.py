"""The demo business, live: every few seconds a customer orders, Stripe charges, Governor hears.

`serve --demo` runs a LiveBusiness beside Governor. Each tick it creates an order through the
offers service, charges it on a Stripe stand-in (mostly successfully; sometimes declined, now
and then an earlier order is refunded), POSTs the stand-in's new events, signed, to Governor's
own `/webhooks/stripe`, and submits the agents' work through the task engine: a
`fulfill_order` for each paid order, now and then `write_copy`, `implement_idea` or
`create_offer`, whose handlers (demo/business/handlers.py, imported here) run in Governor's
executor.

The stand-in is a fresh StripeStore whose clock is real time, not the one the history was
made with: the history lives on in Governor's database (ledger, Stripe's stored balance
transactions), which is what reconciliation compares, so a restarted `serve --demo` behaves
like the first start, whether or not it populated the history in this process. Its ids are
random (not seeded), so they never collide with the history's. Payouts are left out: charges
become available two days after they are made.
"""

import copy
import logging
import random
import secrets
import threading
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from governor.config import Settings
from governor.demo.business import handlers  # noqa: F401  (registers the agents' task types)
from governor.demo.business.catalog import FIRST_NAMES, LAST_NAMES, email
from governor.demo.business.history import DatabaseNotEmpty, business_counts, is_demo
from governor.demo.stripe_server import Clock, StripeServer, StripeStore, deliver
from governor.errors import BadInput, ConfigError
from governor.models import Customer, Idea, Offer
from governor.offers import service as offers
from governor.storage.db import session_scope
from governor.tasks import service as tasks

log = logging.getLogger(__name__)

DEMO_API_KEY = "sk_test_governor_demo"
"""The key Governor's Stripe client sends to the stand-in (which accepts any test key)."""
DECLINE_RATE, REFUND_RATE, REPEAT_RATE = 0.06, 0.03, 0.25


def new_webhook_secret() -> str:
    """A fresh webhook signing secret for a demo (Stripe's `whsec_` form)."""
    return "whsec_demo_" + secrets.token_hex(16)


def demo_environment(stand_in_url: str, *, webhook_secret: str | None = None) -> dict[str, str]:
    """The GOVERNOR_* settings `serve --demo` runs with: the Stripe API at the stand-in with a
    test key (fee lookups, sync and reconciliation then work), and a webhook secret shared
    with the LiveBusiness."""
    return {
        "GOVERNOR_STRIPE_API_BASE": stand_in_url,
        "GOVERNOR_STRIPE_API_KEY": DEMO_API_KEY,
        "GOVERNOR_STRIPE_WEBHOOK_SECRETS": webhook_secret or new_webhook_secret(),
    }


class _LiveStore(StripeStore):
    """A stand-in store with a real-time clock that also keeps the events it records until
    they are taken, so each tick delivers its own events without copying all the others."""

    def __init__(self) -> None:
        super().__init__(clock=Clock(), seed=None)
        self._fresh: list[dict[str, Any]] = []

    def _put(self, kind: str, obj: dict[str, Any]) -> None:
        super()._put(kind, obj)
        if kind == "events":  # recorded once, never changed afterwards
            self._fresh.append(obj)

    def take_events(self) -> list[dict[str, Any]]:
        """Copies of the events recorded since the last call, oldest first."""
        with self._lock:
            fresh, self._fresh = self._fresh, []
            return copy.deepcopy(fresh)


def live_stand_in() -> StripeServer:
    """A stand-in for the live demo (not started): real-time clock, random ids. Start it
    before the settings are made, to give Governor its URL (see demo_environment)."""
    return StripeServer(_LiveStore())


class LiveBusiness:
    """`start()` a daemon thread that runs the business every `interval_s`; `stop()` ends it.

    Without `stand_in`, it makes and serves its own (see the module's docstring); one given
    (best made by live_stand_in() and started) is used and left running. `stand_in_url` tells
    where it is, for GOVERNOR_STRIPE_API_BASE.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        webhook_url: str,
        *,
        seed: int = 7,
        interval_s: float = 4.0,
        stand_in: StripeServer | None = None,
    ) -> None:
        secrets_ = settings.webhook_secrets()
        if not secrets_:
            raise ConfigError(
                "The live demo signs its webhooks with GOVERNOR_STRIPE_WEBHOOK_SECRETS, which "
                "is empty.",
                hint="Run serve --demo, which sets one, or set GOVERNOR_STRIPE_WEBHOOK_SECRETS.",
            )
        if interval_s <= 0:
            raise BadInput(f"interval_s must be positive, not {interval_s}.")
        self.engine, self.webhook_url, self.interval_s = engine, webhook_url, interval_s
        self._secret = secrets_[0]
        self._rng = random.Random(seed)
        self._own = stand_in is None
        self.stand_in = stand_in or live_stand_in()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._undelivered: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._charges: list[str] = []  # succeeded, not refunded: refund candidates
        self.ticks = 0
        self.orders: list[str] = []

    @property
    def stand_in_url(self) -> str:
        """The stand-in's base URL (serve it first: `start()` does)."""
        return self.stand_in.url

    def start(self) -> "LiveBusiness":
        """Check the database holds the demo business, then run it in a daemon thread."""
        with session_scope(self.engine, readonly=True) as session:
            if not is_demo(session):
                if any(business_counts(session).values()):
                    raise DatabaseNotEmpty(
                        "The database holds business data that is not the demo's; the live "
                        "demo never mixes simulated orders into real data.",
                        hint="Run serve --demo on an empty database (it writes the demo first).",
                    )
                raise BadInput(
                    "The database holds no demo business yet.",
                    hint="Run governor demo (or serve --demo) first.",
                )
        if self._own and not self.stand_in.port:
            self.stand_in.start()
        if not isinstance(self.stand_in.store, _LiveStore):  # another stand-in, shared
            self.stand_in.store.clock.unfreeze()
            self._seen.update(e["id"] for e in self.stand_in.store.all("events"))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-live", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current tick (no further waiting) and stop an own stand-in."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._own:
            self.stand_in.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database or network hiccup: the next tick tries again
                log.exception("live demo tick failed")
            self._stop.wait(self.interval_s * self._rng.uniform(0.5, 1.5))

    # One tick ----------------------------------------------------------------------------

    def tick(self) -> str | None:
        """One moment of the business: an order, its charge, its webhooks, the agents' work.
        Returns the new order's id (None when no offer is live)."""
        self.ticks += 1
        rng = self._rng
        with session_scope(self.engine) as session:
            made = self._order(session, rng)
        if made is None:
            return None
        order_id, offer_id, idea_id, amount, currency, customer, title = made
        store = self.stand_in.store
        succeed = rng.random() >= DECLINE_RATE
        charge = store.create_charge(
            amount,
            currency,
            succeed=succeed,
            customer=customer,
            description=title,
            metadata={"order_id": order_id, "offer_id": offer_id, "idea_id": idea_id or ""},
        )
        if self._charges and rng.random() < REFUND_RATE:
            store.refund(self._charges.pop(rng.randrange(len(self._charges))))
        if succeed:
            self._charges.append(charge["id"])
        self._deliver()
        with session_scope(self.engine) as session:
            if succeed:
                self._submit(
                    session,
                    "fulfill_order",
                    {"order_id": order_id},
                    offer_id=offer_id,
                    idea_id=idea_id,
                    order_id=order_id,
                )
            self._agents_work(session, rng)
        self.orders.append(order_id)
        return order_id

    def _order(self, session: Any, rng: random.Random) -> tuple[Any, ...] | None:
        live = list(
            session.execute(
                select(Offer.id, Offer.idea_id, Offer.price_minor, Offer.currency, Offer.title)
                .where(Offer.status == "live")
                .order_by(Offer.id)
            )
        )
        if not live:
            log.warning("live demo: no offer is live, so nobody can order")
            return None
        offer = rng.choices(live, [1 / (o.price_minor**0.5) for o in live])[0]
        customer = None
        if rng.random() < REPEAT_RATE:
            count = session.scalar(select(func.count()).select_from(Customer)) or 0
            if count:
                customer = session.scalar(
                    select(Customer).order_by(Customer.id).offset(rng.randrange(count)).limit(1)
                )
        if customer is None:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            customer = offers.create_customer(
                session,
                name=f"{first} {last}",
                email=email(first, last, "." + secrets.token_hex(3)),
                stripe_customer_id="cus_" + secrets.token_hex(7),
            )
        order = offers.create_order(session, offer_id=offer.id, customer_id=customer.id)
        return (
            order.id,
            offer.id,
            offer.idea_id,
            order.amount_minor,
            order.currency,
            customer.stripe_customer_id,
            offer.title,
        )

    def _deliver(self) -> None:
        """POST the stand-in's new events to Governor; what it could not take waits."""
        store = self.stand_in.store
        fresh = store.take_events() if isinstance(store, _LiveStore) else self._new_events()
        self._undelivered += fresh
        if not self._undelivered:
            return
        try:
            sent = deliver(self._undelivered, self.webhook_url, self._secret)
        except httpx.HTTPError as error:  # Governor is not listening (yet): next tick
            log.info("live demo: webhooks wait, %s", error)
            return
        refused = [d for d in sent if d.status_code != 200]
        if refused:
            log.warning(
                "live demo: Governor refused %d webhook(s) (HTTP %d)",
                len(refused),
                refused[0].status_code,
            )
        self._undelivered = []

    def _new_events(self) -> list[dict[str, Any]]:
        """Events a shared (history's) stand-in recorded since the last tick, oldest first."""
        fresh = [e for e in self.stand_in.store.all("events") if e["id"] not in self._seen]
        self._seen.update(e["id"] for e in fresh)
        return list(reversed(fresh))

    def _agents_work(self, session: Any, rng: random.Random) -> None:
        """Now and then: new copy for an offer, a new version of an idea, an offer made."""
        if rng.random() < 0.15:
            offer = session.scalar(
                select(Offer.id).where(Offer.status == "live").order_by(func.random()).limit(1)
            )
            if offer:
                self._submit(session, "write_copy", {"offer_id": offer}, offer_id=offer)
        if rng.random() < 0.04:
            idea = session.scalar(
                select(Idea.id)
                .where(Idea.status.in_(("building", "live")))
                .order_by(func.random())
                .limit(1)
            )
            if idea:
                self._submit(session, "implement_idea", {"idea_id": idea}, idea_id=idea)
        if rng.random() < 0.02:
            idea = session.scalar(select(Idea.id).where(Idea.status == "building").limit(1))
            if idea:
                self._submit(session, "create_offer", {"idea_id": idea}, idea_id=idea)

    def _submit(
        self,
        session: Any,
        type: str,
        input: dict[str, Any],
        *,
        offer_id: str | None = None,
        idea_id: str | None = None,
        order_id: str | None = None,
    ) -> str:
        key = f"{type}:{order_id}" if order_id else None
        return tasks.submit(
            session, type, input, offer_id=offer_id, idea_id=idea_id, order_id=order_id,
            idempotency_key=key,
        )  # fmt: skip
