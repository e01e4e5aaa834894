"""What followed the history's payments: each order's fulfilment step (the agents' own task,
as `agent_task` fulfilment records it) and the ratings some customers gave."""

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from governor.config import Settings
from governor.demo.business import plan as planning
from governor.fulfilment.rows import key_of
from governor.ids import new_id
from governor.models import Fulfilment
from governor.offers import feedback

STEP, PROVIDER = "agent_task", "agent:fulfill_order"
RATED = 0.35
"""The share of fulfilled orders whose customer answered the feedback link."""
RATINGS, LATE_RATINGS = (3, 4, 4, 5, 5, 5), (1, 2, 3, 3, 4)
"""Ratings drawn from, for orders fulfilled within a day of payment and for later ones."""
LATE = timedelta(days=1)


def record_after(session: Session, settings: Settings, plan: planning.Plan,
                 orders: dict[int, str]) -> int:  # fmt: skip
    """Write every order's fulfilment step and the customers' ratings; how many rated."""
    rng = random.Random(f"{plan.seed}:after")
    rated = 0
    for order in plan.orders:
        paid = next((c.at for c in order.charges if c.succeed), None)
        if paid is None or not order.fulfilment:
            continue
        first, last = order.fulfilment[0], order.fulfilment[-1]
        done = order.fulfilled_at
        session.add(Fulfilment(
            id=new_id("ful"), order_id=orders[order.key], step=STEP, provider=PROVIDER,
            idempotency_key=key_of(orders[order.key], STEP), task_id=last.id,
            status="done" if done else "failed", attempts=len(order.fulfilment), throttled=0,
            last_error=None if done else last.error, created_at=paid, started_at=first.started_at,
            finished_at=done or last.started_at + timedelta(milliseconds=last.duration_ms),
        ))  # fmt: skip
        answered = done is not None and done + timedelta(hours=1) < plan.end
        if not answered or rng.random() >= RATED:
            continue
        assert done is not None
        late = done - paid > LATE
        at = min(done + timedelta(hours=rng.uniform(1, 72)), plan.end)
        feedback.record(session, settings, order_id=orders[order.key],
                        rating=rng.choice(LATE_RATINGS if late else RATINGS),
                        text="It took days to arrive." if late else None, source="link",
                        created_at=at)  # fmt: skip
        rated += 1
    return rated
