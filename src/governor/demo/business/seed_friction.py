"""The seed world's friction: an offer whose buyers give up at the payment step, and a
fulfilment provider that fails first attempts, throttles and leaves paid orders past their SLA.

Planted as rows, like the rest of the seed world. The busiest live offer's orders of the week
before the silence came through Checkout (one completed session each, a few sessions
abandoned, as usual); in the last day its sessions end at the payment step far more often
(completed ones wait for a delayed payment method, so no money arrives, as in the rest of the
seed world). The orders of the last days before the silence were delivered through a print
partner that failed first attempts and answered 429: they were delivered late, in the last
day, and some still wait past the offer's SLA.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from governor.ids import new_id
from governor.models import CheckoutSession, Fulfilment, Offer, Order
from governor.offers import service as offers

FRICTION_PROVIDER = "api.print-partner.example"
SLA_MINUTES = 240
USUAL_ABANDONED = 0.08
"""The share of sessions abandoned at the payment step in the usual week."""
RECENT_SESSIONS, RECENT_ABANDONED = 30, 12
"""Sessions of the friction offer ended in the last day, and how many at the payment step."""
LATE_DAYS = 3
"""Orders paid this many days before the silence went through the failing provider."""
STUCK = 2
"""Of them, how many are still not delivered."""


@dataclass(frozen=True)
class PlantedFriction:
    """What the friction planting did, for the seed's summary and the tests."""

    offer_id: str
    offer_title: str
    provider: str
    abandoned_at_payment: int
    late_orders: int
    stuck_orders: list[str]


def plant_friction(session: Session, now: datetime, stops: datetime) -> PlantedFriction:
    """Plant the friction of the seed world (see the module); `stops` ends the history."""
    offer = _busiest_offer(session, stops)
    offer.fulfilment_type = "call_api"
    offer.fulfilment_config = {"url": f"https://{FRICTION_PROVIDER}/v1/deliveries"}
    offer.fulfilment_sla_minutes = SLA_MINUTES
    _usual_week(session, offer, now - timedelta(days=8), now - timedelta(days=1))
    _last_day(session, offer, now)
    late, stuck = _late_deliveries(session, offer, now, stops)
    return PlantedFriction(offer.id, offer.title, FRICTION_PROVIDER, RECENT_ABANDONED, late, stuck)


def _busiest_offer(session: Session, stops: datetime) -> Offer:
    """The live offer with the most orders paid in the week before the silence."""
    week = stops - timedelta(days=7)
    busiest = session.scalar(
        select(Order.offer_id)
        .join(Offer, Offer.id == Order.offer_id)
        .where(Offer.status == "live", Order.paid_at >= week)
        .group_by(Order.offer_id)
        .order_by(func.count().desc(), Order.offer_id)
        .limit(1)
    )
    if busiest is None:
        raise RuntimeError("the demo history has no paid order in its last week")
    return session.get_one(Offer, busiest)


def _usual_week(session: Session, offer: Offer, start: datetime, end: datetime) -> None:
    """One completed session per paid order of the offer in [start, end), and the usual few
    abandoned: some before paying, some at the payment step."""
    paid = session.scalars(
        select(Order).where(Order.offer_id == offer.id, Order.paid_at >= start,
                            Order.paid_at < end).order_by(Order.paid_at)
    ).all()  # fmt: skip
    for n, order in enumerate(paid):
        assert order.paid_at is not None
        opened = order.paid_at - timedelta(minutes=4 + n % 9)
        cs = _session(offer, opened, "complete", order.stripe_payment_intent_id)
        cs.payment_status, cs.completed_at, cs.order_id = "paid", order.paid_at, order.id
        cs.charge_id, cs.event_at = order.stripe_charge_id, order.paid_at
        order.checkout_session_id = cs.id
        session.add(cs)
        if n % round(1 / USUAL_ABANDONED) == 0:  # abandoned at the payment step
            session.add(_expired(offer, opened + timedelta(hours=3), with_intent=True))
        if n % 6 == 3:  # left before the payment step
            session.add(_expired(offer, opened + timedelta(hours=5), with_intent=False))


def _last_day(session: Session, offer: Offer, now: datetime) -> None:
    """The last day's sessions: many end at the payment step; the rest complete with a
    delayed payment method, so their orders wait for money (pending)."""
    for n in range(RECENT_SESSIONS):
        opened = now - timedelta(hours=23) + timedelta(minutes=40 * n)
        if (n + 1) * RECENT_ABANDONED // RECENT_SESSIONS > n * RECENT_ABANDONED // RECENT_SESSIONS:
            session.add(_expired(offer, opened, with_intent=True))  # spread evenly
            continue
        cs = _session(offer, opened, "complete", "pi_seed" + secrets.token_hex(8))
        cs.completed_at = cs.event_at = opened + timedelta(minutes=6)
        order = offers.create_order(session, offer_id=offer.id)
        order.created_at = cs.completed_at
        order.checkout_session_id, cs.order_id = cs.id, order.id
        order.stripe_payment_intent_id = cs.payment_intent_id
        session.add(cs)


def _late_deliveries(
    session: Session, offer: Offer, now: datetime, stops: datetime
) -> tuple[int, list[str]]:
    """Orders paid in the days before the silence: delivered by the provider in the last day
    after failed first attempts and 429s; the offer's newest few still wait."""
    late = session.scalars(
        select(Order).where(Order.paid_at >= stops - timedelta(days=LATE_DAYS),
                            Order.paid_at < stops, Order.status == "fulfilled")
        .order_by(Order.paid_at)
    ).all()  # fmt: skip
    newest = [o.id for o in reversed(late) if o.offer_id == offer.id][:STUCK]
    stuck: list[str] = []
    for n, order in enumerate(late):
        assert order.paid_at is not None
        stuck_now = order.id in newest
        retried = n % 8 == 0
        step = Fulfilment(
            id=new_id("ful"), order_id=order.id, step="deliver", provider=FRICTION_PROVIDER,
            idempotency_key=f"{order.id}:deliver", task_id=None,
            status="failed" if stuck_now else "done",
            attempts=5 if stuck_now else (3 if retried else 1),
            throttled=2 if retried or stuck_now else 0,
            last_error="HTTP 503 from api.print-partner.example" if retried or stuck_now else None,
            created_at=order.paid_at, started_at=order.paid_at,
            finished_at=now - timedelta(hours=20) + timedelta(minutes=25 * n),
        )  # fmt: skip
        session.add(step)
        if stuck_now:
            order.status, order.fulfilled_at = "paid", None
            stuck.append(order.id)
        else:
            order.fulfilled_at = step.finished_at
    return len(late), stuck


def _session(offer: Offer, opened: datetime, status: str, intent: str | None) -> CheckoutSession:
    return CheckoutSession(
        id="cs_seed_" + secrets.token_hex(12), offer_id=offer.id, status=status,
        payment_status="unpaid", payment_intent_id=intent, amount_total_minor=offer.price_minor,
        currency=offer.currency, created_at=opened, expires_at=opened + timedelta(hours=24),
        event_at=opened,
    )  # fmt: skip


def _expired(offer: Offer, opened: datetime, *, with_intent: bool) -> CheckoutSession:
    intent = "pi_seed" + secrets.token_hex(8) if with_intent else None
    cs = _session(offer, opened, "expired", intent)
    cs.expired_at = cs.event_at = opened + timedelta(hours=1)
    return cs
