"""Fulfilling one paid order: each open step in turn, its provider called outside any
transaction, its outcome recorded; all steps done, the order is fulfilled.

The order is read in a read-only snapshot; each attempt then writes once, after the call: its
outcome, and (the last step done) the order fulfilled, in one short transaction.
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.config import Settings
from governor.errors import BadInput, GovernorError
from governor.fulfilment import agent, providers, rows
from governor.fulfilment.providers import Outcome
from governor.fulfilment.steps import Step, plan
from governor.models import Customer, Offer, Order
from governor.models.types import utcnow
from governor.offers.service import mark_fulfilled
from governor.storage.db import session_scope

Ended = dict[str, Any]
"""What became of the order this run, as the task's output."""


class StepFailed(GovernorError):
    """A step failed and has attempts left: the task runs again after its backoff."""


def fulfil_order(engine: Engine, settings: Settings, order_id: str, *, task_id: str,
                 poll: int = 0) -> Ended:  # fmt: skip
    """Run the order's open steps; return what became of them (raises StepFailed to retry)."""
    with session_scope(engine, readonly=True) as session:
        found_order = session.execute(
            select(Order, Offer, Customer)
            .join(Offer, Offer.id == Order.offer_id)
            .outerjoin(Customer, Customer.id == Order.customer_id)
            .where(Order.id == order_id)
        ).first()  # fmt: skip
        order, offer, customer = found_order if found_order is not None else (None, None, None)
        if order is None or order.status != "paid" or order.fulfilled_at is not None:
            return {"order_id": order_id, "skipped": f"order is {_status(order)}"}
        assert offer is not None, "an order's offer is never deleted (RESTRICT)"
        try:
            steps = plan(offer)
        except BadInput as misconfigured:
            return {"order_id": order_id, "skipped": misconfigured.message}
        found = rows.read(session, order_id, steps)
        payload = _payload(order, customer)
    marked = False  # the last step's attempt marked the order fulfilled with its outcome
    for step in steps:
        row = found[step.name]
        while row.status in rows.OPEN:
            if step.task_type is not None:
                row = agent.advance(engine, settings, order_id, step, payload, task_id=task_id,
                                    poll=poll)  # fmt: skip
                if row.status in rows.OPEN:  # the agent's task still runs: looked at later
                    return _ended(order_id, step, row.status)
                continue
            results = {name: r.result for name, r in found.items() if r.status == "done"}
            row = _attempt(engine, settings, order_id, step, row, payload, results, task_id,
                           last=step is steps[-1])  # fmt: skip
            marked = step is steps[-1]
        found[step.name] = row
        if row.status != "done":
            return _ended(order_id, step, row.status)
    if not marked:  # e.g. every step was done by an earlier run, which then stopped
        with session_scope(engine) as session:
            _fulfilled(session, order_id)
    return {"order_id": order_id, "status": "fulfilled", "steps": [s.name for s in steps]}


def _attempt(engine: Engine, settings: Settings, order_id: str, step: Step, row: rows.StepRow,
             payload: dict[str, Any], results: dict[str, Any], task_id: str,
             *, last: bool) -> rows.StepRow:  # fmt: skip
    """One attempt of an HTTP step: the row after it (raises StepFailed to be tried again)."""
    missing = [need for need in step.needs if not payload["customer"].get(need)]
    began = utcnow()
    if missing:
        outcome = Outcome("action_required",
                          error=f"The customer's {' and '.join(missing)} is missing.")  # fmt: skip
    else:
        assert step.url is not None
        body = payload | {"step": step.name, "previous": results, **dict(step.extra)}
        outcome = providers.post(step.url, row.idempotency_key, body)
    with session_scope(engine) as session:
        settled = rows.settle(session, settings, order_id, step, outcome, task_id=task_id,
                              attempted=not missing, fresh=row.fresh, began=began)  # fmt: skip
        if settled.status == "done" and last:
            _fulfilled(session, order_id)
    if settled.status == "pending":  # committed: the attempt counts; the task tries again
        raise StepFailed(f"{step.name} at {step.provider}: {outcome.error}")
    return settled


def _fulfilled(session: Session, order_id: str) -> None:
    """Mark the order fulfilled (once: a later run finds it so and leaves it)."""
    order = session.get(Order, order_id)
    if order is not None and order.status == "paid" and order.fulfilled_at is None:
        mark_fulfilled(session, order_id, at=utcnow())


def _ended(order_id: str, step: Step, status: str) -> Ended:
    return {"order_id": order_id, "step": step.name, "status": status}


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
