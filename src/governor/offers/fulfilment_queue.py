"""The fulfilment queue: paid orders not yet fulfilled, each open step's state, and who is late.

A row is one open step (`fulfilments` row not done) of a paid, unfulfilled order, or the order
alone while no step was written yet. Its state is exactly one of: action_required (the step
needs the customer), failing (the step failed or needed more than one attempt), waiting
(anything else). Over SLA is a flag beside it: paid_at + the offer's fulfilment_sla_minutes
is in the past. Oldest paid first, so the most urgent order leads.
"""

from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from governor.models import Fulfilment, Offer, Order
from governor.models.types import utcnow

QueueState = Literal["waiting", "failing", "action_required"]
QUEUE_STATES: tuple[str, ...] = ("waiting", "failing", "action_required", "over_sla")
"""The filters of the queue: a row's state, or over_sla (a flag, across states)."""


class QueueItem(BaseModel):
    """One open step of a paid order (or the order alone before its first step)."""

    order_id: str
    offer_id: str
    offer_title: str
    paid_at: datetime | None
    state: QueueState
    over_sla: bool
    sla_minutes: int | None
    age_seconds: int | None  # since the order was paid
    fulfilment_id: str | None
    step: str | None
    provider: str | None
    status: str | None  # the step's: pending, running, failed, action_required
    attempts: int
    throttled: int
    last_error: str | None
    task_id: str | None


class QueueCounts(BaseModel):
    """How many rows the queue holds in each state, and over SLA."""

    total: int
    waiting: int
    failing: int
    action_required: int
    over_sla: int


def _state() -> sa.ColumnElement[str]:
    return sa.case(
        (Fulfilment.status == "action_required", "action_required"),
        (sa.or_(Fulfilment.status == "failed", Fulfilment.attempts > 1), "failing"),
        else_="waiting",
    )


def _open_steps(session: Session, *, now: datetime) -> tuple[Any, sa.ColumnElement[bool]]:
    """The queue's base query, and a condition true for the rows over their SLA."""
    state = _state().label("state")
    query = (
        sa.select(Order.id, Order.offer_id, Offer.title, Order.paid_at,
                  Offer.fulfilment_sla_minutes, state, Fulfilment.id.label("fulfilment_id"),
                  Fulfilment.step, Fulfilment.provider, Fulfilment.status, Fulfilment.attempts,
                  Fulfilment.throttled, Fulfilment.last_error, Fulfilment.task_id)
        .join(Offer, Offer.id == Order.offer_id)
        .outerjoin(Fulfilment, sa.and_(Fulfilment.order_id == Order.id,
                                       Fulfilment.status != "done"))
        .where(Order.status == "paid", Order.fulfilled_at.is_(None))
    )  # fmt: skip
    return query, _over_sla(session, now)


def _over_sla(session: Session, now: datetime) -> sa.ColumnElement[bool]:
    """paid_at + SLA < now, written per distinct SLA so that both databases compare plain times."""
    slas: list[int] = session.scalars(
        sa.select(Offer.fulfilment_sla_minutes)
        .where(Offer.fulfilment_sla_minutes.is_not(None))
        .distinct()
    ).all()  # type: ignore[assignment]  # the NULLs are filtered out
    parts = [
        sa.and_(Offer.fulfilment_sla_minutes == minutes,
                Order.paid_at < now - timedelta(minutes=minutes))
        for minutes in slas
    ]  # fmt: skip
    return sa.or_(*parts) if parts else sa.false()


def _filtered(query: Any, over_sla: sa.ColumnElement[bool], *, state: str | None,
              provider: str | None, offer_id: str | None) -> Any:  # fmt: skip
    if offer_id is not None:
        query = query.where(Order.offer_id == offer_id)
    if provider is not None:
        query = query.where(Fulfilment.provider == provider)
    if state == "over_sla":
        query = query.where(over_sla)
    elif state is not None:
        query = query.where(_state() == state)
    return query


def queue(
    session: Session,
    *,
    state: str | None = None,
    provider: str | None = None,
    offer_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> list[QueueItem]:
    """The queue's rows, oldest paid first, filtered by state (or over_sla), provider, offer."""
    now = now or utcnow()
    query, over_sla = _open_steps(session, now=now)
    query = _filtered(query.add_columns(over_sla.label("over_sla")), over_sla, state=state,
                      provider=provider, offer_id=offer_id)  # fmt: skip
    query = query.order_by(Order.paid_at, Order.id, Fulfilment.step).limit(limit).offset(offset)
    return [_item(row, now) for row in session.execute(query)]


def _item(row: Any, now: datetime) -> QueueItem:
    age = None if row.paid_at is None else int((now - row.paid_at).total_seconds())
    return QueueItem(
        order_id=row.id, offer_id=row.offer_id, offer_title=row.title, paid_at=row.paid_at,
        state=row.state, over_sla=bool(row.over_sla), sla_minutes=row.fulfilment_sla_minutes,
        age_seconds=age, fulfilment_id=row.fulfilment_id, step=row.step, provider=row.provider,
        status=row.status, attempts=row.attempts or 0, throttled=row.throttled or 0,
        last_error=row.last_error, task_id=row.task_id,
    )  # fmt: skip


def counts(
    session: Session,
    *,
    provider: str | None = None,
    offer_id: str | None = None,
    now: datetime | None = None,
) -> QueueCounts:
    """The queue's rows per state and over SLA (of one provider and one offer if given)."""
    now = now or utcnow()
    query, over_sla = _open_steps(session, now=now)
    inner = _filtered(query.add_columns(over_sla.label("late")), over_sla, state=None,
                      provider=provider, offer_id=offer_id).subquery()  # fmt: skip
    per_state: dict[str, int] = dict(
        session.execute(sa.select(inner.c.state, sa.func.count()).group_by(inner.c.state)).all()
    )
    late = session.scalar(sa.select(sa.func.count()).select_from(inner).where(inner.c.late)) or 0
    return QueueCounts(
        total=sum(per_state.values()),
        waiting=per_state.get("waiting", 0),
        failing=per_state.get("failing", 0),
        action_required=per_state.get("action_required", 0),
        over_sla=late,
    )


def over_sla_count(session: Session, offer_id: str, *, now: datetime | None = None) -> int:
    """How many of one offer's paid orders wait past its SLA now."""
    now = now or utcnow()
    offer = session.get(Offer, offer_id)
    if offer is None or offer.fulfilment_sla_minutes is None:
        return 0
    since = now - timedelta(minutes=offer.fulfilment_sla_minutes)
    return session.scalar(
        sa.select(sa.func.count()).select_from(Order)
        .where(Order.offer_id == offer_id, Order.status == "paid",
               Order.fulfilled_at.is_(None), Order.paid_at < since)
    ) or 0  # fmt: skip
