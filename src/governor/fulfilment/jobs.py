"""Fulfilment's system tasks: fulfil one paid order; every few minutes, alert late orders."""

from typing import Any

from governor.config import get_settings
from governor.fulfilment.run import fulfil_order
from governor.fulfilment.sla import alert_late_orders
from governor.models.types import utcnow
from governor.revenue.paid import FULFILMENT_TASK
from governor.storage.db import get_engine, session_scope
from governor.tasks.context import TaskContext
from governor.tasks.schedule import system_task

ATTEMPTS = 25
"""More than GOVERNOR_FULFILMENT_MAX_FAILURES allows (20): a step gives up before its task."""


@system_task(FULFILMENT_TASK, max_attempts=ATTEMPTS, timeout=900, backoff=2.0)
def fulfil(ctx: TaskContext) -> dict[str, Any]:
    """Fulfil the order named in the input (each step once at its provider)."""
    given = ctx.input or {}
    return fulfil_order(get_engine(), get_settings(), given["order_id"], task_id=ctx.task_id,
                        poll=int(given.get("poll", 0)))  # fmt: skip


@system_task("fulfilment.sla", every="5m", concurrency=1)
def late_orders(ctx: TaskContext) -> dict[str, Any]:
    """Raise an alert per offer whose paid orders wait past its fulfilment SLA."""
    with session_scope(get_engine()) as session:
        late = alert_late_orders(session, now=utcnow())
    return {"offers": len(late), "orders": sum(len(orders) for orders in late.values())}
