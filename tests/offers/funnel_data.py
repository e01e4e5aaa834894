"""A small hand-built funnel whose every figure is known: one offer's views, sessions, orders,
fulfilment steps and ratings ten days ago, and a younger cohort that must not be counted."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from governor.models import CheckoutSession, Feedback, Fulfilment, FunnelEvent, Order, TaskSpan
from governor.offers import service as offers
from governor.storage.db import session_scope
from tests.factories import checkout_session, funnel_event, insert_rows, insert_task

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=10)  # a cohort that has had its full window
YOUNG = NOW - timedelta(days=2)  # one that has not


def build(engine: Engine, now: datetime = NOW) -> dict[str, str]:
    """The dataset, relative to `now`; the ids of the offer and of a few rows."""
    old, young = now - (NOW - OLD), now - (NOW - YOUNG)
    with session_scope(engine) as session:
        idea = offers.create_idea(session, title="Resume rewriter", status="live")
        offer = offers.create_offer(session, idea_id=idea.id, title="Resume rewrite",
                                    price_minor=4900, currency="USD",
                                    created_at=now - timedelta(days=30)).id  # fmt: skip
        for n in range(3):  # an offer-creation peak on the old cohort's day
            offers.create_offer(session, idea_id=idea.id, title=f"Launch {n}", price_minor=900,
                                currency="USD", created_at=old + timedelta(minutes=n))  # fmt: skip
    events = [funnel_event(offer, "offer_viewed", old + timedelta(minutes=i)) for i in range(10)]
    events += [funnel_event(offer, "offer_viewed", young) for _ in range(2)]
    events += [
        funnel_event(offer, "checkout_started", old),  # Stripe never reported it
        funnel_event(offer, "checkout_started", old, checkout_session_id="cs_s1"),
    ]
    insert_rows(engine, FunnelEvent, *events)

    def paid(name: str, seconds: int, **values: object) -> dict[str, object]:
        return checkout_session(offer, name, old, completed_at=old + timedelta(seconds=seconds),
                                **values)  # fmt: skip

    insert_rows(
        engine,
        CheckoutSession,
        paid("cs_s1", 60), paid("cs_s2", 120), paid("cs_s3", 180), paid("cs_s4", 600),
        checkout_session(offer, "cs_s5", old, status="expired", payment_status="unpaid",
                         completed_at=None, expired_at=old + timedelta(hours=24)),
        checkout_session(offer, "cs_s6", old, status="expired", payment_status="unpaid",
                         payment_intent_id=None, completed_at=None,
                         expired_at=old + timedelta(hours=24)),
        paid("cs_s7", 30, payment_status="unpaid", async_payment="failed",
             async_payment_at=old + timedelta(hours=2)),
        paid("cs_s8", 240, recovered_from="cs_s6"),
        checkout_session(offer, "cs_young", young),
    )  # fmt: skip

    def order(name: str, status: str, fulfil_s: int | None) -> dict[str, object]:
        paid_at = old + timedelta(minutes=5)
        fulfilled = None if fulfil_s is None else paid_at + timedelta(seconds=fulfil_s)
        return {"id": f"order_{name}", "offer_id": offer, "amount_minor": 4900, "currency": "usd",
                "status": status, "stripe_charge_id": f"ch_{name}",
                "stripe_payment_intent_id": f"pi_cs_{name}", "checkout_session_id": f"cs_{name}",
                "created_at": paid_at, "paid_at": paid_at,
                "fulfilled_at": fulfilled}  # fmt: skip

    insert_rows(engine, Order, order("s1", "fulfilled", 100), order("s2", "fulfilled", 200),
                order("s3", "refunded", 300), order("s4", "refunded", None),
                order("s8", "paid", None))  # fmt: skip
    task = insert_task(engine, kind="system", type="fulfilment.run", created_at=old)

    def step(name: str, provider: str, status: str, attempts: int, throttled: int = 0,
             at: datetime = old) -> dict[str, object]:  # fmt: skip
        return {"id": f"ful_{name}", "order_id": f"order_{name}", "step": "deliver",
                "provider": provider, "idempotency_key": f"order_{name}:deliver",
                "status": status, "attempts": attempts, "throttled": throttled,
                "task_id": task if name == "s4" else None, "created_at": at}  # fmt: skip

    insert_rows(engine, Fulfilment, step("s1", "mailer", "done", 1),
                step("s2", "mailer", "done", 3, throttled=2),
                step("s3", "mailer", "done", 1, at=old + timedelta(days=1)),
                step("s4", "shipper", "failed", 5),
                step("s8", "shipper", "action_required", 1))  # fmt: skip
    insert_rows(engine, TaskSpan, {
        "task_id": task, "trace_id": "0" * 32, "span_id": "1" * 16, "name": "POST",
        "kind": "http", "started_at": old, "duration_us": 1000,
        "attributes": {"server.address": "shipper.test",
                       "http.response.status_code": 429}})  # fmt: skip
    insert_rows(engine, Feedback, *(
        {"id": f"fb_{n}", "order_id": f"order_{n}", "offer_id": offer, "rating": r,
         "source": "link", "created_at": old + timedelta(days=1)}
        for n, r in (("s1", 5), ("s2", 2))))  # fmt: skip
    return {"offer": offer, "idea": idea.id}
