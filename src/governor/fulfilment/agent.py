"""A step done by an agent's own task: submitted once per order and step (its key), then
looked at again by a delayed run of the fulfilment task until it has ended."""

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.config import Settings
from governor.fulfilment import rows
from governor.fulfilment.providers import Outcome
from governor.fulfilment.steps import Step
from governor.models.types import utcnow
from governor.revenue.paid import FULFILMENT_TASK
from governor.storage.db import session_scope
from governor.tasks import service as tasks

POLL_CAP_SECONDS = 60


def advance(engine: Engine, settings: Settings, order_id: str, step: Step,
            payload: dict[str, Any], *, task_id: str, poll: int) -> rows.StepRow:  # fmt: skip
    """Submit the agent's task (once), settle the step if it ended, else look again later."""
    assert step.task_type is not None
    with session_scope(engine) as session:
        fulfilment = rows.locked(session, order_id, step, task_id)
        if fulfilment.status not in rows.OPEN:
            return rows.view(fulfilment)
        agent_id = tasks.submit(session, step.task_type, payload, offer_id=payload["offer_id"],
                                order_id=order_id,
                                idempotency_key=fulfilment.idempotency_key)  # fmt: skip
        agent_task = tasks.get_task(session, agent_id)
        if agent_task.status == "succeeded":
            done = Outcome("done", result={"task_id": agent_id, "output": agent_task.output})
            return rows.settle(session, settings, order_id, step, done, task_id=task_id)
        if agent_task.status in tasks.UNSUCCESSFUL:
            error = f"task {agent_id} {agent_task.status}: {agent_task.error}"
            failed = Outcome("failed", error=error)
            settled = rows.settle(session, settings, order_id, step, failed, task_id=task_id)
            if settled.status == "failed":
                return settled
            tasks.retry(session, agent_id)
        fulfilment.status, fulfilment.task_id = "running", task_id
        fulfilment.started_at = fulfilment.started_at or utcnow()
        session.flush()
        _look_again(session, payload, agent_id, poll + 1)
        return rows.view(fulfilment)


def _look_again(session: Session, payload: dict[str, Any], agent_id: str, poll: int) -> None:
    """A delayed run of the fulfilment task, waiting longer each time (up to a minute)."""
    delay = timedelta(seconds=min(POLL_CAP_SECONDS, 2 ** min(poll, 6)))
    order_id = payload["order_id"]
    tasks.submit(session, FULFILMENT_TASK, {"order_id": order_id, "poll": poll},
                 offer_id=payload["offer_id"], order_id=order_id, not_before=utcnow() + delay,
                 idempotency_key=f"fulfil:{order_id}:wait:{agent_id}:{poll}")  # fmt: skip
