"""The `fulfilments` rows of an order: one per step, written when an attempt has an outcome.

Nothing is written before a provider is called: a run that dies during the call leaves the
step as it was, and the next run calls again with the same Idempotency-Key (the provider
answers the first result, with no second effect). One short write per attempt keeps SQLite's
single writer free for the other orders.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from governor.config import Settings
from governor.fulfilment.notify import step_gave_up
from governor.fulfilment.providers import Outcome
from governor.fulfilment.steps import Step
from governor.ids import new_id
from governor.models import Fulfilment, Order
from governor.models.types import utcnow

OPEN = ("pending", "running")
"""Statuses of a step Governor still works on; done, action_required and failed wait or end."""


@dataclass(frozen=True)
class StepRow:
    """A step's row as read at one moment (detached from its session)."""

    step: str
    status: str
    attempts: int
    idempotency_key: str
    result: Any
    fresh: bool = False  # no row yet: the step was never tried


def key_of(order_id: str, step: str) -> str:
    """The step's idempotency key, sent to the provider as Idempotency-Key."""
    return f"fulfil:{order_id}:{step}"


def read(session: Session, order_id: str, steps: list[Step]) -> dict[str, StepRow]:
    """Every step's row as it is (pending, with no attempt, for a step not yet tried)."""
    query = select(Fulfilment).where(Fulfilment.order_id == order_id)
    found = {row.step: view(row) for row in session.scalars(query)}
    new = (StepRow(s.name, "pending", 0, key_of(order_id, s.name), None, True) for s in steps)
    return {row.step: found.get(row.step, row) for row in new}


def locked(session: Session, order_id: str, step: Step, task_id: str, *,
           fresh: bool = False) -> Fulfilment:  # fmt: skip
    """The step's row locked until the commit, made pending first if it is not there yet
    (`fresh`: it was not there when last read, so try making it before looking)."""
    query = select(Fulfilment).where(Fulfilment.order_id == order_id, Fulfilment.step == step.name)
    query = query.with_for_update().execution_options(populate_existing=True)
    row = None if fresh else session.scalar(query)
    if row is not None:
        return row
    row = Fulfilment(id=new_id("ful"), order_id=order_id, step=step.name, provider=step.provider,
                     idempotency_key=key_of(order_id, step.name), status="pending", attempts=0,
                     throttled=0, task_id=task_id, created_at=utcnow())  # fmt: skip
    try:
        with session.begin_nested():  # a concurrent run of the same order may make it first
            session.add(row)
        return row
    except IntegrityError:
        won = session.scalar(query)
        assert won is not None
        return won


def settle(session: Session, settings: Settings, order_id: str, step: Step, outcome: Outcome,
           *, task_id: str, attempted: bool = True, fresh: bool = False,
           began: datetime | None = None) -> StepRow:  # fmt: skip
    """Record an attempt's outcome (`attempted`: the provider was asked, `began` then); a
    failure reaching GOVERNOR_FULFILMENT_MAX_FAILURES gives up and raises the alert asking a
    person about a refund. `fresh`: the step had no row when the run read the order. Returns
    the row as it now is."""
    row = locked(session, order_id, step, task_id, fresh=fresh)
    if row.status == "done" or (row.status not in OPEN and outcome.status != "done"):
        return view(row)  # settled meanwhile by another run: the provider acted once
    row.attempts += int(attempted)
    row.throttled += outcome.throttled
    row.last_error, row.task_id = outcome.error, task_id
    row.started_at = row.started_at or began or utcnow()
    if outcome.status == "done":
        row.status, row.result, row.finished_at = "done", outcome.result, utcnow()
    elif outcome.status == "action_required":
        row.status, row.finished_at = "action_required", utcnow()
    elif row.attempts >= settings.fulfilment_max_failures:
        row.status, row.finished_at = "failed", utcnow()
        order = session.get(Order, order_id)
        assert order is not None
        step_gave_up(session, row, order)
    else:
        row.status = "pending"
    session.flush()
    return view(row)


def view(row: Fulfilment) -> StepRow:
    """The row's current values, detached."""
    return StepRow(row.step, row.status, row.attempts, row.idempotency_key, row.result)
