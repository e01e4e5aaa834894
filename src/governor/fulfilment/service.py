"""An order's fulfilment for people: its steps, and retrying one that failed or waits."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.errors import BadInput, NotFound
from governor.fulfilment.schemas import FulfilmentOut, RetriedOut, StepOut
from governor.models import Fulfilment, Order
from governor.revenue.paid import FULFILMENT_TASK
from governor.tasks import service as tasks

RETRYABLE = ("failed", "action_required")


def get_fulfilment(session: Session, order_id: str) -> FulfilmentOut:
    """The order's steps (none yet before its fulfilment task first ran), or NotFound."""
    order = _order(session, order_id)
    rows = session.scalars(
        select(Fulfilment).where(Fulfilment.order_id == order_id)
        .order_by(Fulfilment.created_at, Fulfilment.id)
    )  # fmt: skip
    return FulfilmentOut(order_id=order.id, order_status=order.status,
                         fulfilled_at=order.fulfilled_at,
                         steps=[StepOut.model_validate(row) for row in rows])  # fmt: skip


def retry_step(session: Session, order_id: str, step: str) -> RetriedOut:
    """Give a failed or action-required step a fresh budget and submit the order's fulfilment."""
    order = _order(session, order_id)
    row = session.scalar(
        select(Fulfilment).where(Fulfilment.order_id == order_id, Fulfilment.step == step)
        .with_for_update()
    )  # fmt: skip
    if row is None:
        raise NotFound(f"Order {order_id} has no fulfilment step '{step}'.",
                       hint=f"`governor orders fulfilment {order_id}` lists them.")  # fmt: skip
    if row.status not in RETRYABLE:
        raise BadInput(f"Step '{step}' of order {order_id} is {row.status}; only failed or "
                       "action-required steps are retried.")  # fmt: skip
    if order.status != "paid":
        raise BadInput(f"Order {order_id} is {order.status}; only paid orders are fulfilled.")
    row.status, row.attempts, row.finished_at = "pending", 0, None
    session.flush()
    task_id = tasks.submit(session, FULFILMENT_TASK, {"order_id": order_id},
                           offer_id=order.offer_id, order_id=order_id)  # fmt: skip
    return RetriedOut(order_id=order_id, step=step, task_id=task_id)


def _order(session: Session, order_id: str) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"No order {order_id}.", hint="`governor orders list` shows the ids.")
    return order
