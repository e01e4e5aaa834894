"""The `fulfilments` rows of an order: made once per step, claimed per attempt, settled."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
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

    id: str
    step: str
    status: str
    attempts: int
    idempotency_key: str
    result: Any


def key_of(order_id: str, step: str) -> str:
    """The step's idempotency key, sent to the provider as Idempotency-Key."""
    return f"fulfil:{order_id}:{step}"


def ensure(session: Session, order_id: str, steps: list[Step], task_id: str) -> dict[str, StepRow]:
    """Every step's row (made pending when missing; a concurrent maker may win the race)."""
    found = _rows(session, order_id)
    for step in steps:
        if step.name in found:
            continue
        row = Fulfilment(id=new_id("ful"), order_id=order_id, step=step.name,
                         provider=step.provider, idempotency_key=key_of(order_id, step.name),
                         status="pending", attempts=0, throttled=0, task_id=task_id,
                         created_at=utcnow())  # fmt: skip
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            pass
    return {row.step: view(row) for row in _rows(session, order_id).values()}


def claim(session: Session, row_id: str, task_id: str) -> int | None:
    """Start an attempt of an open step: its attempt number, or None if it is no longer open."""
    attempts = session.execute(
        update(Fulfilment)
        .where(Fulfilment.id == row_id, Fulfilment.status.in_(OPEN))
        .values(status="running", attempts=Fulfilment.attempts + 1, task_id=task_id,
                started_at=utcnow())
        .returning(Fulfilment.attempts)
    ).scalar()  # fmt: skip
    return None if attempts is None else int(attempts)


def locked(session: Session, row_id: str) -> Fulfilment:
    """The row, locked until the commit."""
    row = session.get(Fulfilment, row_id, with_for_update=True, populate_existing=True)
    assert row is not None, "fulfilment rows are never deleted while their order lives"
    return row


def settle(session: Session, settings: Settings, row_id: str, outcome: Outcome) -> StepRow:
    """Record an attempt's outcome; a failure past GOVERNOR_FULFILMENT_MAX_FAILURES gives up
    and raises the alert asking a person about a refund. Returns the row as it now is."""
    row = locked(session, row_id)
    if row.status == "done":  # another run finished it meanwhile: the provider did it once
        return view(row)
    row.throttled += outcome.throttled
    row.last_error = outcome.error
    if outcome.status == "done":
        row.status, row.result, row.finished_at = "done", outcome.result, utcnow()
    elif outcome.status == "action_required":
        row.status, row.finished_at = "action_required", utcnow()
    elif row.attempts >= settings.fulfilment_max_failures:
        row.status, row.finished_at = "failed", utcnow()
        order = session.get(Order, row.order_id)
        assert order is not None
        step_gave_up(session, row, order)
    else:
        row.status = "pending"
    session.flush()
    return view(row)


def _rows(session: Session, order_id: str) -> dict[str, Fulfilment]:
    query = select(Fulfilment).where(Fulfilment.order_id == order_id)
    return {
        row.step: row for row in session.scalars(query.execution_options(populate_existing=True))
    }


def view(row: Fulfilment) -> StepRow:
    """The row's current values, detached."""
    return StepRow(row.id, row.step, row.status, row.attempts, row.idempotency_key, row.result)
