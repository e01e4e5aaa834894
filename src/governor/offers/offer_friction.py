"""One offer's friction in a period: checkout sessions, abandonment, paid, fulfilled, rating, late.

Sessions are those Stripe opened in the period; abandonment is the share of them that ended
expired, of those that ended (open ones are not judged yet), and at the payment step those
expired with a payment intent. Paid and fulfilled count the offer's orders by when that
happened; the rating is the feedback given in the period. Over SLA is now, not in the period.
"""

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from governor.errors import NotFound
from governor.models import CheckoutSession, Feedback, Offer, Order
from governor.offers.fulfilment_queue import over_sla_count


class OfferFriction(BaseModel):
    """The offer page's friction panel."""

    offer_id: str
    since: datetime
    until: datetime
    sessions: int
    completed: int
    expired: int
    abandoned_at_payment: int
    abandonment: float | None  # expired / (completed + expired)
    paid: int
    fulfilled: int
    ratings: int
    mean_rating: float | None
    over_sla: int


def friction(session: Session, offer_id: str, *, since: datetime, until: datetime) -> OfferFriction:
    """The figures of the panel for one offer over [since, until); NotFound without the offer."""
    if session.get(Offer, offer_id) is None:
        raise NotFound(f"No offer {offer_id}.", hint="`governor offers list` shows the offers.")
    cs = CheckoutSession
    sessions, completed, expired, at_payment = session.execute(
        sa.select(sa.func.count(),
                  sa.func.count().filter(cs.status == "complete"),
                  sa.func.count().filter(cs.status == "expired"),
                  sa.func.count().filter(cs.status == "expired", cs.payment_intent_id.is_not(None)))
        .where(cs.offer_id == offer_id, cs.created_at >= since, cs.created_at < until)
    ).one()  # fmt: skip
    paid, fulfilled = (
        session.scalar(
            sa.select(sa.func.count()).select_from(Order)
            .where(Order.offer_id == offer_id, column >= since, column < until)
        ) or 0
        for column in (Order.paid_at, Order.fulfilled_at)
    )  # fmt: skip
    ratings, mean = session.execute(
        sa.select(sa.func.count(), sa.func.avg(Feedback.rating))
        .where(Feedback.offer_id == offer_id, Feedback.created_at >= since,
               Feedback.created_at < until)
    ).one()  # fmt: skip
    ended = completed + expired
    return OfferFriction(
        offer_id=offer_id, since=since, until=until, sessions=sessions, completed=completed,
        expired=expired, abandoned_at_payment=at_payment,
        abandonment=expired / ended if ended else None, paid=paid, fulfilled=fulfilled,
        ratings=ratings, mean_rating=None if mean is None else float(mean),
        over_sla=over_sla_count(session, offer_id),
    )  # fmt: skip
