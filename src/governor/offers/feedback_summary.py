"""Per offer: how many fulfilled orders got feedback (the response rate) and their mean rating."""

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from governor.models import Feedback, Idea, Offer, Order

MAX_OFFERS = 200
"""The most offers one summary lists (those with the most fulfilled orders first)."""


class OfferFeedback(BaseModel):
    """One offer's feedback in all: answers, fulfilled orders, response rate, mean rating."""

    offer_id: str
    offer_title: str
    fulfilled: int
    answers: int
    response_rate: float | None  # answers / fulfilled orders
    mean_rating: float | None


def per_offer(session: Session, *, offer_id: str | None = None) -> list[OfferFeedback]:
    """Every offer with a fulfilled order or an answer (one if given), most fulfilled first."""
    fulfilled = (
        sa.select(Order.offer_id, sa.func.count().label("n"))
        .where(Order.fulfilled_at.is_not(None))
        .group_by(Order.offer_id)
        .subquery()
    )
    answers = (
        sa.select(Feedback.offer_id, sa.func.count().label("n"),
                  sa.func.avg(Feedback.rating).label("mean"))
        .group_by(Feedback.offer_id)
        .subquery()
    )  # fmt: skip
    query = (
        sa.select(Offer.id, Offer.title, sa.func.coalesce(fulfilled.c.n, 0),
                  sa.func.coalesce(answers.c.n, 0), answers.c.mean)
        .outerjoin(fulfilled, fulfilled.c.offer_id == Offer.id)
        .outerjoin(answers, answers.c.offer_id == Offer.id)
        .where(sa.or_(fulfilled.c.n.is_not(None), answers.c.n.is_not(None)))
        .order_by(sa.func.coalesce(fulfilled.c.n, 0).desc(), Offer.title, Offer.id)
        .limit(MAX_OFFERS)
    )  # fmt: skip
    if offer_id is not None:
        query = query.where(Offer.id == offer_id)
    return [
        OfferFeedback(offer_id=oid, offer_title=title, fulfilled=done, answers=given,
                      response_rate=given / done if done else None,
                      mean_rating=None if mean is None else float(mean))
        for oid, title, done, given, mean in session.execute(query)
    ]  # fmt: skip


def titles(session: Session, *, offer_ids: set[str], idea_ids: set[str]) -> dict[str, str]:
    """The titles of the given offers and ideas, by id (to label a page of feedback)."""
    found: dict[str, str] = {}
    for model, ids in ((Offer, offer_ids), (Idea, idea_ids)):
        if ids:
            rows = session.execute(sa.select(model.id, model.title).where(model.id.in_(ids)))
            found.update({row_id: title for row_id, title in rows})
    return found
