"""A small business with a fulfilment queue in every state, checkout sessions, feedback and the
outside calls of its providers, for the queue's, the feedback list's and the offer page's tests."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from governor.models import CheckoutSession, Offer, OfferStatusChange, Order
from governor.offers import lifecycle
from governor.offers import service as offers
from governor.storage.db import session_scope
from tests.factories import (
    checkout_session,
    insert_feedback,
    insert_fulfilment,
    insert_http_span,
    insert_rows,
    insert_task,
)

MIN = timedelta(minutes=1)


@dataclass
class World:
    now: datetime
    resume: str  # offer with a 60-minute SLA
    logo: str  # offer without an SLA
    idea: str
    orders: dict[str, str] = field(default_factory=dict)


def a_world(engine: Engine, now: datetime) -> World:
    """Orders of two offers in each queue state; sessions, ratings and calls of the last hour.

    Queue (oldest paid first): late (resume, mail.example pending, paid 3 h ago: over SLA),
    licence (logo, licences.example failed after 5 attempts, 2 h ago), retry (logo,
    mail.example running its 2nd attempt, 90 min ago), fresh (resume, no step yet, 20 min
    ago), address (resume, ship.example action required, 10 min ago). Not in it: done
    (fulfilled), unpaid (pending). A provider is its URL's host, as fulfilment names it.
    """
    with session_scope(engine) as s:
        idea = offers.create_idea(s, title="AI resume rewriter", status="live")
        resume = offers.create_offer(s, idea_id=idea.id, title="Resume rewrite",
                                     price_minor=4900, currency="usd", actor="user:ada",
                                     status="draft", created_at=now - 600 * MIN)  # fmt: skip
        logo = offers.create_offer(s, idea_id=idea.id, title="Logo pack", price_minor=1900,
                                   currency="usd", actor="user:ada")  # fmt: skip
        s.get_one(Offer, resume.id).fulfilment_sla_minutes = 60
        world = World(now, resume.id, logo.id, idea.id)
    _history(engine, world)
    with session_scope(engine) as s:
        paid = {"late": (resume.id, 180), "licence": (logo.id, 120), "retry": (logo.id, 90),
                "fresh": (resume.id, 20), "address": (resume.id, 10), "done": (resume.id, 300),
                "unpaid": (resume.id, None)}  # fmt: skip
        for name, (offer_id, minutes) in paid.items():
            order = offers.create_order(s, offer_id=offer_id, created_at=now - 400 * MIN)
            if minutes is not None:
                offers.mark_paid(s, order.id, charge_id=f"ch_{name}", at=now - minutes * MIN)
            world.orders[name] = order.id
        offers.mark_fulfilled(s, world.orders["done"], at=now - 200 * MIN)
    _steps(engine, world)
    _sessions_and_ratings(engine, world)
    return world


def _history(engine: Engine, world: World) -> None:
    task = insert_task(engine, type="launch_offer", offer_id=world.resume)
    with session_scope(engine) as s:  # as a task's own change would be recorded
        change = lifecycle.set_status(s, world.resume, "live", reason="Ready to sell",
                                      actor=f"task:{task}")  # fmt: skip
        s.get_one(OfferStatusChange, change.id).task_id = task
        lifecycle.set_status(s, world.resume, "paused", reason="Shipping provider down",
                             actor="user:ada")  # fmt: skip
        lifecycle.set_status(s, world.resume, "live", reason="Provider back", actor="cli")


def _steps(engine: Engine, world: World) -> None:
    o, now = world.orders, world.now
    mailer = insert_task(engine, type="fulfilment.order", kind="system")
    licences = insert_task(engine, type="fulfilment.order", kind="system")
    insert_fulfilment(engine, o["late"], "deliver", attempts=1, task_id=mailer,
                      created_at=now - 170 * MIN)  # fmt: skip
    insert_fulfilment(engine, o["licence"], "licence", provider="licences.example", status="failed",
                      attempts=5, throttled=2, last_error="licences.example answered 500",
                      task_id=licences, created_at=now - 50 * MIN,
                      finished_at=now - 40 * MIN)  # fmt: skip
    insert_fulfilment(engine, o["retry"], "files", status="done", attempts=1,
                      created_at=now - 80 * MIN, finished_at=now - 80 * MIN)  # fmt: skip
    insert_fulfilment(engine, o["retry"], "deliver", status="running", attempts=2, throttled=1,
                      last_error="mail.example answered 429", task_id=mailer,
                      created_at=now - 30 * MIN, started_at=now - 5 * MIN)  # fmt: skip
    insert_fulfilment(engine, o["address"], "ship", provider="ship.example",
                      status="action_required", attempts=1,
                      last_error="The customer's postal address is missing",
                      created_at=now - 9 * MIN)  # fmt: skip
    insert_fulfilment(engine, o["done"], "deliver", status="done", attempts=1,
                      created_at=now - 290 * MIN, finished_at=now - 200 * MIN)  # fmt: skip
    for minutes, status in ((50, 200), (30, 429), (5, 200), (4, 200)):
        insert_http_span(engine, mailer, "mail.example", status, now - minutes * MIN)
    for minutes in (48, 46, 44, 42, 41):  # five failed calls in a row: the breaker opens
        insert_http_span(engine, licences, "licences.example", 500, now - minutes * MIN)
    insert_http_span(engine, licences, "licences.example", 200, now - 90 * MIN)  # before the hour


def _sessions_and_ratings(engine: Engine, world: World) -> None:
    now, o = world.now, world.orders
    days_ago = (10, 10, 10, 10, 10, 60)  # older than the funnel's 7-day window; one long ago
    ended = (("complete", "pi_1"), ("complete", "pi_2"), ("expired", "pi_3"), ("expired", None),
             ("open", None), ("expired", None))  # fmt: skip
    insert_rows(engine, CheckoutSession, *(
        checkout_session(world.resume, f"cs_q{n}", now - days * 24 * 60 * MIN, status=status,
                         payment_intent_id=intent,
                         completed_at=now if status == "complete" else None)
        for n, (days, (status, intent)) in enumerate(zip(days_ago, ended, strict=True))
    ))  # fmt: skip
    with session_scope(engine) as s:
        extra = offers.create_order(s, offer_id=world.logo, created_at=now - 300 * MIN)
        offers.mark_paid(s, extra.id, charge_id="ch_extra", at=now - 300 * MIN)
        offers.mark_fulfilled(s, extra.id, at=now - 250 * MIN)
        o["logo_done"] = extra.id
        s.get_one(Order, o["done"]).checkout_session_id = "cs_q0"  # the done order's checkout
    insert_feedback(engine, o["done"], world.resume, 2, text="It arrived late and broken",
                    idea_id=world.idea, created_at=now - 100 * MIN)  # fmt: skip
    insert_feedback(engine, o["logo_done"], world.logo, 5, text="Lovely logos",
                    idea_id=world.idea, created_at=now - 90 * MIN)  # fmt: skip
