"""The rows behind one step of an offer's funnel: its views, sessions or orders with their
Stripe ids, newest first, a page at a time."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.errors import BadInput
from governor.models import CheckoutSession, Feedback, FunnelEvent, Order
from governor.offers.friction import Cohort, cohort_sessions, paid_condition

DRILL_STEPS = ("viewed", "started", "abandoned", "abandoned_at_payment", "paid", "fulfilled",
               "rated")  # fmt: skip
"""The steps whose rows can be listed: the funnel's, and the sessions it lost."""


@dataclass(frozen=True)
class StepRow:
    """One view, session or order behind a step, with what Stripe calls it."""

    at: datetime
    kind: str  # view, session, order
    session_id: str | None = None
    status: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    order_id: str | None = None
    order_status: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    rating: int | None = None
    visitor: str | None = None


def step_rows(
    session: Session, offer_id: str, step: str, cohort: Cohort, *, limit: int, offset: int
) -> list[StepRow]:
    """Up to `limit` rows behind `step` of the offer's cohort, from `offset`, newest first."""
    if step not in DRILL_STEPS:
        raise BadInput(
            f"Unknown funnel step '{step}'.", hint=f"Use one of: {', '.join(DRILL_STEPS)}."
        )
    if step == "viewed":
        e = FunnelEvent
        views = session.execute(
            sa.select(e.at, e.visitor)
            .where(e.offer_id == offer_id, e.step == "offer_viewed", e.at >= cohort.start,
                   e.at < cohort.end)
            .order_by(e.at.desc(), e.id.desc()).limit(limit).offset(offset)
        ).all()  # fmt: skip
        return [StepRow(at, "view", visitor=visitor) for at, visitor in views]
    cs, o = CheckoutSession, Order
    query = (
        sa.select(cs.created_at, cs.id, cs.status, cs.payment_intent_id,
                  sa.func.coalesce(o.stripe_charge_id, cs.charge_id), o.id, o.status,
                  sa.func.coalesce(o.amount_minor, cs.amount_total_minor),
                  sa.func.coalesce(o.currency, cs.currency), Feedback.rating)
        .select_from(cs)
        .outerjoin(o, o.checkout_session_id == cs.id)
        .outerjoin(Feedback, Feedback.order_id == o.id)
        .where(cohort_sessions(cohort, offer_id), _condition(step))
        .order_by(cs.created_at.desc(), cs.id.desc()).limit(limit).offset(offset)
    )  # fmt: skip
    kind = "order" if step in ("fulfilled", "rated") else "session"
    return [_row(kind, r) for r in session.execute(query).all()]


def _condition(step: str) -> sa.ColumnElement[bool]:
    cs = CheckoutSession
    conditions: dict[str, Any] = {
        "started": sa.true(),
        "abandoned": cs.status == "expired",
        "abandoned_at_payment": sa.and_(cs.status == "expired", cs.payment_intent_id.is_not(None)),
        "paid": paid_condition(),
        "fulfilled": Order.fulfilled_at.is_not(None),
        "rated": Feedback.id.is_not(None),
    }
    return conditions[step]


def _row(kind: str, r: Any) -> StepRow:
    at, session_id, status, intent, charge, order, order_status, amount, currency, rating = r
    return StepRow(at, kind, session_id, status, intent, charge, order, order_status, amount,
                   None if currency is None else currency.lower(), rating)  # fmt: skip
