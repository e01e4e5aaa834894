"""Fulfilling one paid order: each open step in turn, its provider called outside any
transaction, its outcome recorded; all steps done, the order is fulfilled.

Two transactions per step: one records the outcome of the last call (or loads the order) and
claims the next step, or marks the order fulfilled; the provider is called between them.
"""

from typing import Any

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


class Progress:
    """The order's steps and their rows as this run knows them."""

    def __init__(self, order_id: str, steps: list[Step], found: dict[str, rows.StepRow],
                 payload: dict[str, Any], task_id: str) -> None:  # fmt: skip
        self.order_id, self.steps, self.found = order_id, steps, found
        self.payload, self.task_id = payload, task_id

    def results(self) -> dict[str, Any]:
        """The results of the steps done, by step name."""
        return {name: row.result for name, row in self.found.items() if row.status == "done"}


def fulfil_order(engine: Engine, settings: Settings, order_id: str, *, task_id: str,
                 poll: int = 0) -> Ended:  # fmt: skip
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
        customer = session.get(Customer, order.customer_id) if order.customer_id else None
        progress = Progress(order_id, steps, found, _payload(order, customer), task_id)
        turn = _next(session, settings, progress)
    while not isinstance(turn, dict):
        step, row = turn
        if step.task_type is not None:
            row = agent.advance(engine, settings, step, row, progress.payload, task_id=task_id,
                                poll=poll)  # fmt: skip
            progress.found[step.name] = row
            if row.status != "done":
                return _ended(progress, step, row.status)
            with session_scope(engine) as session:
                turn = _next(session, settings, progress)
            continue
        assert step.url is not None
        body = progress.payload | {"step": step.name, "previous": progress.results(),
                                   **dict(step.extra)}  # fmt: skip
        outcome = providers.post(step.url, row.idempotency_key, body)
        with session_scope(engine) as session:
            settled = rows.settle(session, settings, row.id, outcome)
            progress.found[step.name] = settled
            turn = _next(session, settings, progress) if settled.status == "done" else {}
        if settled.status == "pending":  # committed: the attempt counts; the task tries again
            raise StepFailed(f"{step.name} at {step.provider}: {outcome.error}")
        if settled.status != "done":
            return _ended(progress, step, settled.status)
    return turn


def _next(
    session: Session, settings: Settings, progress: Progress
) -> Ended | tuple[Step, rows.StepRow]:
    """Claim the first open step (an agent's step is left to agent.advance), or, every step
    done, mark the order fulfilled; what a step waiting for a person or the customer ends."""
    for step in progress.steps:
        row = progress.found[step.name]
        if row.status == "done":
            continue
        if row.status not in rows.OPEN:  # action_required or failed: waits for a person
            return _ended(progress, step, row.status)
        if step.task_type is not None:
            return step, row
        missing = [need for need in step.needs if not progress.payload["customer"].get(need)]
        if missing:
            error = f"The customer's {' and '.join(missing)} is missing."
            settled = rows.settle(
                session, settings, row.id, Outcome("action_required", error=error)
            )
            return _ended(progress, step, settled.status)
        if rows.claim(session, row.id, progress.task_id) is None:  # settled by another run
            progress.found[step.name] = rows.view(rows.locked(session, row.id))
            return _next(session, settings, progress)
        return step, row
    mark_fulfilled(session, progress.order_id, at=utcnow())
    return {
        "order_id": progress.order_id,
        "status": "fulfilled",
        "steps": [s.name for s in progress.steps],
    }


def _ended(progress: Progress, step: Step, status: str) -> Ended:
    return {"order_id": progress.order_id, "step": step.name, "status": status}


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
