"""The feedback list: ratings and texts, filtered by offer and rating, with per-offer figures."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governor.models import Feedback
from governor.offers import feedback, feedback_summary
from governor.storage.db import session_scope
from governor.web.pages.context import PageRoute, respond
from governor.web.pages.tables import (
    Column,
    Table,
    choice_param,
    cut,
    link,
    page_window,
    text_param,
)

router = APIRouter(route_class=PageRoute)

RATINGS = ("1", "2", "3", "4", "5")


def summary_columns() -> list[Column]:
    """The columns of the per-offer figures."""
    return [
        Column("offer_title", "Offer", wrap=True,
               href=lambda r: link("/feedback", offer_id=r.offer_id)),
        Column("offer_id", "Offer id", "code", html=False),
        Column("mean_rating", "Mean rating",
               get=lambda r: None if r.mean_rating is None else f"{r.mean_rating:.2f}"),
        Column("answers", "Answers", "int"),
        Column("fulfilled", "Fulfilled orders", "int"),
        Column("response_rate", "Response rate", "percent"),
    ]  # fmt: skip


def feedback_columns(names: dict[str, str]) -> list[Column]:
    """The columns of the list: when, the rating and text, and what it was about."""
    return [
        Column("created_at", "Date", "datetime"),
        Column("rating", "Rating", "int"),
        Column("text", "Text", wrap=True),
        Column("order_id", "Order", "id", href=lambda r: f"/orders/{r.order_id}"),
        Column("offer", "Offer", wrap=True, get=lambda r: names.get(r.offer_id, r.offer_id),
               href=lambda r: f"/offers/{r.offer_id}"),
        Column("offer_id", "Offer id", "code", html=False),
        Column("idea", "Idea", wrap=True,
               get=lambda r: names.get(r.idea_id, r.idea_id) if r.idea_id else None,
               href=lambda r: f"/ideas/{r.idea_id}"),
        Column("idea_id", "Idea id", "code", html=False),
        Column("source", "Source", html=False),
    ]  # fmt: skip


@router.get("/feedback")
def feedback_page(request: Request) -> Response:
    """Feedback, newest first, with each offer's mean rating and response rate above it."""
    offer_id = text_param(request, "offer_id", max_length=40)
    rating = choice_param(request, "rating", RATINGS)
    limit, offset = page_window(request)
    with session_scope(readonly=True) as session:
        rows, pager = cut(feedback.list_feedback(session, offer_id=offer_id,
                                                 rating=int(rating) if rating else None,
                                                 limit=limit + 1, offset=offset),
                          limit, offset)  # fmt: skip
        ideas = {r.idea_id for r in rows if r.idea_id}
        names = feedback_summary.titles(session, offer_ids={r.offer_id for r in rows},
                                        idea_ids=ideas)  # fmt: skip
        per_offer = feedback_summary.per_offer(session)
        summary = Table("offers", summary_columns(),
                        [o for o in per_offer if offer_id is None or o.offer_id == offer_id],
                        title="Per offer", empty="No offer has a fulfilled order yet.",
                        note="Response rate: answers per fulfilled order, all time.")  # fmt: skip
        answers = Table("feedback", feedback_columns(names), rows, title="Feedback",
                        pager=pager, row_class=_low,
                        empty="No feedback matches these filters.")  # fmt: skip
        context = {"summary": summary, "answers": answers, "offer_id": offer_id,
                   "rating": rating, "ratings": RATINGS, "offers": per_offer,
                   "offer_title": next((o.offer_title for o in per_offer
                                        if o.offer_id == offer_id), offer_id)}  # fmt: skip
        return respond(request, "feedback_list.html", context, section="feedback",
                       tables=[answers, summary], stem="feedback", session=session,
                       title="Feedback")  # fmt: skip


def _low(row: Feedback) -> str:
    return "late" if row.rating <= 2 else ""
