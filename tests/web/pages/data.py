"""A small business for the page tests: an idea, two offers, orders with their ledger, tasks."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from governor.models import TaskSpan
from governor.models.types import utcnow
from governor.offers import service as offers
from governor.storage.db import session_scope
from tests.factories import insert_entry, insert_task

DAY = timedelta(days=1)


@dataclass
class Business:
    idea_id: str
    offer_id: str
    eur_offer_id: str
    order_id: str
    charge_id: str
    refund_id: str
    fee_txn: str
    task_id: str
    failed_task_id: str
    task_started: datetime


def a_business(engine: Engine, now: datetime | None = None) -> Business:
    """Two USD charges of 49.00 this period (one refunded), one the period before; EUR too."""
    now = now or utcnow()
    with session_scope(engine) as s:
        idea = offers.create_idea(s, title="Invoice parser", status="live")
        offer = offers.create_offer(s, idea_id=idea.id, title="Invoice Parser Pro",
                                    price_minor=4900, currency="usd")  # fmt: skip
        eur = offers.create_offer(s, idea_id=idea.id, title="Invoice Parser Lite",
                                  price_minor=1900, currency="eur")  # fmt: skip
        customer = offers.create_customer(s, name="Ada", email="ada@example.com")
        order = offers.create_order(s, offer_id=offer.id, customer_id=customer.id)
        offers.mark_paid(s, order.id, charge_id="ch_paid_1", at=now - 2 * DAY)
        ids = (idea.id, offer.id, eur.id, order.id)
    idea_id, offer_id, eur_id, order_id = ids
    scope = {"offer_id": offer_id, "idea_id": idea_id}
    insert_entry(
        engine,
        source_ref="ch_paid_1",
        charge_id="ch_paid_1",
        order_id=order_id,
        balance_transaction_id="txn_paid_1",
        occurred_at=now - 2 * DAY,
        **scope,
    )
    insert_entry(
        engine,
        kind="fee",
        amount_minor=-172,
        status="posted",
        source_ref="txn_paid_1",
        charge_id="ch_paid_1",
        balance_transaction_id="txn_paid_1",
        order_id=order_id,
        occurred_at=now - 2 * DAY,
        **scope,
    )
    insert_entry(
        engine, source_ref="ch_paid_2", charge_id="ch_paid_2", occurred_at=now - 3 * DAY, **scope
    )
    insert_entry(
        engine,
        kind="refund",
        amount_minor=-4900,
        source_ref="re_back_2",
        charge_id="ch_paid_2",
        occurred_at=now - 3 * DAY + timedelta(hours=1),
        **scope,
    )
    insert_entry(
        engine,
        source_ref="ch_failed_3",
        status="failed",
        amount_minor=4900,
        occurred_at=now - 1 * DAY,
        **scope,
    )
    insert_entry(engine, source_ref="ch_before", occurred_at=now - 40 * DAY, **scope)
    insert_entry(
        engine,
        source_ref="ch_eur_1",
        currency="eur",
        amount_minor=1900,
        offer_id=eur_id,
        idea_id=idea_id,
        occurred_at=now - 4 * DAY,
    )
    task_id = insert_task(
        engine,
        type="fulfill_order",
        ai_model="gpt-4o",
        cost_micros=4500,
        status="succeeded",
        created_at=now - 2 * DAY,
        started_at=now - 2 * DAY,
        finished_at=now - 2 * DAY + timedelta(seconds=3),
        duration_ms=3000,
        offer_id=offer_id,
        idea_id=idea_id,
        order_id=order_id,
    )
    failed = insert_task(
        engine,
        type="fulfill_order",
        ai_model="gpt-4o-mini",
        cost_micros=700,
        status="failed",
        error="RateLimitError: 429 after 3 attempts",
        traceback="Traceback (most recent call last):\n  boom",
        created_at=now - 1 * DAY,
        finished_at=now - 1 * DAY,
        duration_ms=800,
    )
    insert_task(
        engine,
        type="write_copy",
        ai_model="claude-3-5-haiku",
        cost_micros=1200,
        created_at=now - 1 * DAY,
        finished_at=now - 1 * DAY,
        duration_ms=1500,
    )
    return Business(idea_id, offer_id, eur_id, order_id, "ch_paid_1", "re_back_2", "txn_paid_1",
                    task_id, failed, now - 2 * DAY)  # fmt: skip


def spans_of(engine: Engine, task_id: str, start: datetime) -> None:
    """A root span, an LLM call with its HTTP request inside, and a query."""

    def span(span_id, parent, name, kind, offset_ms, duration_ms, **attributes):  # type: ignore[no-untyped-def]
        return TaskSpan(task_id=task_id, trace_id="a" * 32, span_id=span_id,
                        parent_span_id=parent, name=name, kind=kind,
                        started_at=start + timedelta(milliseconds=offset_ms),
                        duration_us=duration_ms * 1000, attributes=attributes)  # fmt: skip

    with session_scope(engine) as s:
        s.add_all([
            span("0000000000000001", None, "fulfill_order", "internal", 0, 3000),
            span("0000000000000002", "0000000000000001", "chat gpt-4o", "llm", 100, 2000,
                 **{"gen_ai.request.model": "gpt-4o"}),
            span("0000000000000003", "0000000000000002", "POST", "http", 150, 1900,
                 **{"http.request.method": "POST",
                    "url.full": "https://api.openai.com/v1/chat/completions"}),
            span("0000000000000004", "0000000000000001", "SELECT", "db", 2500, 30,
                 **{"db.system": "sqlite", "db.statement": "SELECT * FROM orders WHERE id = ?",
                    "db.calls": 12}),
        ])  # fmt: skip
