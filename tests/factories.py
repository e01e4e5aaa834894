"""Rows for tests, as plain functions."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.ids import new_id
from governor.models import (
    ExecutionTask,
    Feedback,
    Fulfilment,
    LedgerEntry,
    TaskSpan,
)
from governor.models.types import utcnow
from governor.offers import service as offers
from governor.revenue.translate import EntryFact
from governor.storage.db import session_scope

TASKS = ExecutionTask.__table__
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
"""When make_order's orders are made."""


def insert_task(engine: Engine, **values: Any) -> str:
    """Insert an execution_tasks row naming only the given columns (so it works at any revision)."""
    row = {
        "id": new_id("task"), "kind": "agent", "type": "implement_idea", "status": "succeeded",
        "attempts": 1, "max_attempts": 3, "created_at": utcnow(), "input": {"idea": "x"},
        "tokens_in": 1200, "tokens_out": 300, "cost_micros": 4500,
    }  # fmt: skip
    row.update(values)
    with engine.begin() as conn:
        # The table as it is in the database (at any revision), without the models' defaults.
        table = sa.Table("execution_tasks", sa.MetaData(), autoload_with=conn)
        for name in ("created_at", "started_at", "finished_at"):
            table.c[name].type = TASKS.c[name].type  # keep UTC handling on SQLite
        conn.execute(sa.insert(table).values(**row))
    return str(row["id"])


def task_row(engine: Engine, task_id: str, columns: Iterable[str]) -> dict[str, Any]:
    """The named columns of one task."""
    with engine.connect() as conn:
        query = sa.select(*(TASKS.c[name] for name in columns)).where(TASKS.c.id == task_id)
        return dict(conn.execute(query).mappings().one())


def insert_entry(engine: Engine, **values: Any) -> str:
    """Insert a ledger entry (default: a succeeded USD charge of 49.00 now)."""
    ref = values.pop("source_ref", None) or new_id("ch")
    when = values.pop("occurred_at", None) or utcnow()
    row = {
        "id": new_id("le"), "kind": "charge", "amount_minor": 4900, "currency": "usd",
        "status": "succeeded", "occurred_at": when, "source": "stripe", "source_ref": ref,
        "watermark": when, "created_at": utcnow(), "updated_at": utcnow(),
    }  # fmt: skip
    row.update(values)
    with engine.begin() as conn:
        conn.execute(sa.insert(LedgerEntry.__table__).values(**row))
    return str(row["id"])


def make_order(engine: Engine, **order: object) -> dict[str, str]:
    """An idea, a live USD offer at 49.00 and a customer; an order unless told otherwise."""
    with session_scope(engine) as session:
        idea = offers.create_idea(session, title="AI resume rewriter", status="live")
        offer = offers.create_offer(session, idea_id=idea.id, title="Resume rewrite",
                                    price_minor=4900, currency="USD")  # fmt: skip
        customer = offers.create_customer(session, name="Ada Adler", email="ada@example.com")
        made = offers.create_order(session, offer_id=offer.id, customer_id=customer.id,
                                   created_at=T0, **order)  # type: ignore[arg-type]  # fmt: skip
        return {"idea": idea.id, "offer": offer.id, "customer": customer.id, "order": made.id}


def charge_fact(ids: dict[str, str], ref: str, status: str, at: datetime) -> EntryFact:
    """A USD charge of 49.00 for make_order's order, as Stripe states it."""
    return EntryFact(kind="charge", source_ref=ref, amount_minor=4900, currency="usd",
                     status=status, occurred_at=at, charge_id=ref, order_id=ids["order"],
                     offer_id=ids["offer"], idea_id=ids["idea"])  # fmt: skip


def insert_rows(engine: Engine, model: type, *rows: dict[str, Any]) -> None:
    """Insert rows of a model's table as given (ids and times included), in one transaction;
    each row names its own columns (the others take their defaults)."""
    with engine.begin() as conn:
        for row in rows:
            conn.execute(sa.insert(model.__table__).values(**row))  # type: ignore[attr-defined]


def checkout_session(offer_id: str, session_id: str, at: datetime, **values: Any) -> dict[str, Any]:
    """A checkout_sessions row opened at `at` (default: completed and paid a minute later)."""
    row: dict[str, Any] = {
        "id": session_id, "offer_id": offer_id, "status": "complete", "payment_status": "paid",
        "payment_intent_id": f"pi_{session_id}", "amount_total_minor": 4900, "currency": "usd",
        "created_at": at, "completed_at": at + timedelta(minutes=1), "event_at": at,
    }  # fmt: skip
    row.update(values)
    return row


def funnel_event(offer_id: str, step: str, at: datetime, **values: Any) -> dict[str, Any]:
    """A funnel_events row (an offer viewed by default)."""
    return {"id": new_id("fev"), "offer_id": offer_id, "step": step, "at": at, **values}


def insert_fulfilment(engine: Engine, order_id: str, step: str, **values: Any) -> str:
    """A fulfilments row of one order's step (default: pending at mail.example, no attempt)."""
    row = {"id": new_id("ful"), "order_id": order_id, "step": step, "provider": "mail.example",
           "idempotency_key": f"{order_id}:{step}", "status": "pending", "attempts": 0,
           "throttled": 0, "created_at": utcnow(), **values}  # fmt: skip
    insert_rows(engine, Fulfilment, row)
    return str(row["id"])


def insert_feedback(engine: Engine, order_id: str, offer_id: str, rating: int,
                    **values: Any) -> str:  # fmt: skip
    """A feedback row of an order (given through the link, now, without a text by default)."""
    row = {"id": new_id("fb"), "order_id": order_id, "offer_id": offer_id, "rating": rating,
           "source": "link", "created_at": utcnow(), **values}  # fmt: skip
    insert_rows(engine, Feedback, row)
    return str(row["id"])


def insert_http_span(engine: Engine, task_id: str, host: str, status: int | None,
                     started_at: datetime, *, attempts: int = 1) -> None:  # fmt: skip
    """An outside call of a task as the tracer records it (no status: it got no answer)."""
    attributes: dict[str, Any] = {"server.address": host, "governor.outbound.attempts": attempts}
    if status is not None:
        attributes["http.response.status_code"] = status
    insert_rows(engine, TaskSpan, {"task_id": task_id, "trace_id": "0" * 32,
                                   "span_id": new_id("s")[-16:], "name": "POST", "kind": "http",
                                   "started_at": started_at, "duration_us": 20_000,
                                   "attributes": attributes})  # fmt: skip
