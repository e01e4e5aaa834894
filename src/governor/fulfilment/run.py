"""Fulfilling one paid order: each open step in turn, its provider called outside any
transaction, its outcome recorded; all steps done, the order is fulfilled."""

from typing import Any

from sqlalchemy.engine import Engine

from governor.config import Settings
from governor.errors import BadInput, GovernorError
from governor.fulfilment import agent, providers, rows
from governor.fulfilment.providers import Outcome
from governor.fulfilment.steps import Step, plan
from governor.models import Customer, Offer, Order
from governor.models.types import utcnow
from governor.offers.service import mark_fulfilled
from governor.storage.db import session_scope


class StepFailed(GovernorError):
    """A step failed and has attempts left: the task runs again after its backoff."""


def fulfil_order(engine: Engine, settings: Settings, order_id: str, *, task_id: str,
                 poll: int = 0) -> dict[str, Any]:  # fmt: skip
    """Run the order's open steps; return what became of them (raises StepFailed to retry)."""
    with session_scope(engine) as session:
        order = session.get(Order, order_id)
        if order is None or order.status != "paid" or order.fulfilled_at is not None:
            return {"order_id": order_id, "skipped": f"order is {_status(order)}"}
        offer = session.get(Offer, order.offer_id)
        assert offer is not None, "an order's offer is never deleted (RESTRICT)"
        try:
            steps = plan(offer)
        except BadInput as misconfigured:
            return {"order_id": order_id, "skipped": misconfigured.message}
        found = rows.ensure(session, order_id, steps, task_id)
        payload = _payload(order, session.get(Customer, order.customer_id or ""))
    results: dict[str, Any] = {}
    for step in steps:
        row = found[step.name]
        if row.status == "done":
            results[step.name] = row.result
            continue
        if row.status not in rows.OPEN:  # action_required or failed: waits for a person
            return {"order_id": order_id, "step": step.name, "status": row.status}
        if step.task_type is not None:
            row = agent.advance(engine, settings, step, row, payload, task_id=task_id, poll=poll)
        else:
            row = _attempt(engine, settings, step, row, payload | {"previous": results}, task_id)
        if row.status != "done":
            return {"order_id": order_id, "step": step.name, "status": row.status}
        results[step.name] = row.result
    with session_scope(engine) as session:
        mark_fulfilled(session, order_id, at=utcnow())
    return {"order_id": order_id, "status": "fulfilled", "steps": sorted(results)}


def _attempt(engine: Engine, settings: Settings, step: Step, row: rows.StepRow,
             payload: dict[str, Any], task_id: str) -> rows.StepRow:  # fmt: skip
    """One attempt of an HTTP step; the row after it (raises StepFailed to be tried again)."""
    missing = [need for need in step.needs if not payload["customer"].get(need)]
    with session_scope(engine) as session:
        if missing:
            outcome = Outcome(
                "action_required", error=f"The customer's {' and '.join(missing)} is missing."
            )
            return rows.settle(session, settings, row.id, outcome)  # fmt: skip
        if rows.claim(session, row.id, task_id) is None:
            return rows.view(rows.locked(session, row.id))  # settled meanwhile by another run
    assert step.url is not None
    body = payload | {"step": step.name, **dict(step.extra)}
    outcome = providers.post(step.url, row.idempotency_key, body)
    with session_scope(engine) as session:
        settled = rows.settle(session, settings, row.id, outcome)
    if settled.status == "pending":
        raise StepFailed(f"{step.name} at {step.provider}: {outcome.error}")
    return settled


def _payload(order: Order, customer: Customer | None) -> dict[str, Any]:
    """What every provider is told of the order and its customer."""
    return {
        "order_id": order.id, "offer_id": order.offer_id,
        "amount_minor": order.amount_minor, "currency": order.currency,
        "customer": {"name": customer.name if customer else None,
                     "email": customer.email if customer else None,
                     "address": customer.address if customer else None},
    }  # fmt: skip


def _status(order: Order | None) -> str:
    return "missing" if order is None else ("fulfilled" if order.fulfilled_at else order.status)
