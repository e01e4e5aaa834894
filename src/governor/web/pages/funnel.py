"""The checkout funnel: /funnel draws every offer's steps and drop-offs, /funnel/{offer} one
offer's friction figures, and a click on a step lists its sessions or orders."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from governor.analytics.period import Period
from governor.config import get_settings
from governor.errors import NotFound
from governor.models.types import utcnow
from governor.offers.friction import Funnel, OfferFriction
from governor.offers.funnel_cache import cached_funnel
from governor.offers.funnel_rows import DRILL_STEPS, step_rows
from governor.storage.db import session_scope
from governor.web.pages.context import PageRoute, period_from, picker, respond
from governor.web.pages.tables import (
    Column,
    Table,
    cut,
    duration,
    link,
    money,
    page_window,
    percent,
)

router = APIRouter(route_class=PageRoute)

STEP_LABELS = {"viewed": "Views", "started": "Checkouts started", "abandoned": "Abandoned",
               "abandoned_at_payment": "Abandoned at the payment step", "paid": "Paid",
               "fulfilled": "Fulfilled", "rated": "Rated"}  # fmt: skip


def funnel_of(session: Session, period: Period, offer_id: str | None = None) -> Funnel:
    """The funnel of the period's cohort (reused for funnel_cache_seconds)."""
    key = period.range or f"{period.start.isoformat()}/{period.end.isoformat()}"
    return cached_funnel(session, get_settings(), key=key, start=period.start, end=period.end,
                         now=utcnow(), offer_id=offer_id)  # fmt: skip


def step_href(offer_id: str, step: str, period: Period) -> str:
    """The page listing the rows behind one step of an offer's funnel."""
    return link(f"/funnel/{offer_id}", step=step, **period.query())


def drawing(offer: OfferFriction, period: Period) -> list[dict[str, Any]]:
    """The funnel as bars: each step's count, its share of the widest step, its drop-off."""
    widest = max((s.count for s in offer.steps), default=0) or 1
    return [{"step": s, "width": round(100 * s.count / widest, 1),
             "href": step_href(offer.offer_id, s.key, period)} for s in offer.steps]  # fmt: skip


def _seconds(value: float | None) -> str:
    return duration(None if value is None else value * 1000)


def figures(offer: OfferFriction, period: Period) -> list[dict[str, Any]]:
    """The friction figures of one offer as labelled cards, linked to the rows behind."""
    href = lambda step: step_href(offer.offer_id, step, period)  # noqa: E731
    pay, fulfil = offer.time_to_pay_s, offer.time_to_fulfil_s
    return [
        {"key": "abandonment", "label": "Abandoned", "value": percent(offer.abandonment_rate),
         "sub": f"{offer.abandoned:,} of {offer.sessions:,} sessions", "href": href("abandoned")},
        {"key": "payment_abandonment", "label": "Abandoned at payment",
         "value": percent(offer.payment_abandonment_rate),
         "sub": f"{offer.abandoned_at_payment:,} with a payment intent",
         "href": href("abandoned_at_payment")},
        {"key": "async", "label": "Async payments failed",
         "value": f"{offer.async_payment_failed:,}",
         "sub": f"{offer.recovered:,} abandoned sessions recovered"},
        {"key": "time_to_pay", "label": "Time to pay p50", "value": _seconds(pay.get("p50")),
         "sub": f"p95 {_seconds(pay.get('p95'))} · p99 {_seconds(pay.get('p99'))}"},
        {"key": "time_to_fulfil", "label": "Time to fulfil p50",
         "value": _seconds(fulfil.get("p50")),
         "sub": f"p95 {_seconds(fulfil.get('p95'))} · p99 {_seconds(fulfil.get('p99'))}"},
        {"key": "fulfilment_failures", "label": "Fulfilment failed first time",
         "value": percent(offer.first_attempt_failure_rate),
         "sub": f"in the end {percent(offer.eventual_failure_rate)} · action required "
                f"{percent(offer.action_required_rate)}"},
        {"key": "retries", "label": "Retries per order",
         "value": "—" if offer.retries_per_order is None else f"{offer.retries_per_order:.2f}",
         "sub": f"{offer.fulfilment_steps:,} fulfilment steps"},
        {"key": "refunds", "label": "Refunds per 100 fulfilled",
         "value": "—" if offer.refunds_per_100 is None else f"{offer.refunds_per_100:g}",
         "sub": "disputes " + ("—" if offer.disputes_per_100 is None
                               else f"{offer.disputes_per_100:g}")},
        {"key": "rating", "label": "Mean rating",
         "value": "—" if offer.mean_rating is None else f"{offer.mean_rating:.2f} of 5",
         "sub": f"{percent(offer.feedback_response_rate)} of fulfilled orders answered",
         "href": href("rated")},
        {"key": "money_lost", "label": "Lost to abandonment",
         "value": money(offer.abandoned_minor, offer.currency),
         "sub": f"refunded after failed fulfilment "
                f"{money(offer.refunded_after_failure_minor, offer.currency)}",
         "href": href("abandoned")},
    ]  # fmt: skip


def provider_table(result: Funnel) -> Table:
    """Each provider's steps, failures and 429s, on offer-creation peaks and off them."""
    return Table(
        "providers",
        [
            Column("provider", "Provider", "code"),
            Column("steps", "Steps", "int"),
            Column("first_attempt_failure_rate", "Failed first time", "percent"),
            Column("failure_rate", "Failed in the end", "percent"),
            Column("action_required", "Action required", "int"),
            Column("throttled", "429s", "int"),
            Column("calls_ended_429", "Calls ended on 429", "int"),
            Column("throttled_per_step_peak", "429s per step, peak days", "percent"),
            Column("throttled_per_step_off_peak", "429s per step, other days", "percent"),
        ],
        [p.to_dict() for p in result.providers],
        title="Fulfilment providers",
        empty="No fulfilment step was made in this cohort.",
        note=("Offer-creation peaks: " + ", ".join(result.peak_days)) if result.peak_days
        else "No offer-creation peak in this cohort.",
    )  # fmt: skip


def offer_table(result: Funnel, period: Period) -> Table:
    """The offers' figures as one table (its CSV is the page's export)."""

    def count(key: str) -> Any:
        return lambda r: r.step(key).count

    return Table(
        "offers",
        [
            Column("title", "Offer", href=lambda r: link(f"/funnel/{r.offer_id}", **period.query()),
                   wrap=True),
            Column("offer_id", "Id", "code", html=False),
            *(Column(k, label, "int", get=count(k)) for k, label in
              (("viewed", "Views"), ("started", "Started"), ("paid", "Paid"),
               ("fulfilled", "Fulfilled"), ("rated", "Rated"))),
            Column("abandonment_rate", "Abandoned", "percent"),
            Column("payment_abandonment_rate", "At payment", "percent"),
            Column("mean_rating", "Rating"),
            Column("abandoned_minor", "Lost to abandonment", "money"),
        ],
        result.offers,
        title="Offers",
        empty="No offer yet.",
    )  # fmt: skip


def _cohort_words(result: Funnel) -> str:
    c = result.cohort
    return (f"Entries of {c.start:%Y-%m-%d %H:%M} → {c.end:%Y-%m-%d %H:%M} UTC: every view and "
            f"checkout at least {c.window_days} days old, so each had its full window to pay, "
            f"be fulfilled and rated.")  # fmt: skip


@router.get("/funnel")
def funnel_page(request: Request) -> Response:
    """Every offer's funnel drawn, with each step's drop-off, and the providers' friction."""
    period = period_from(request)
    assert period is not None
    with session_scope(readonly=True) as session:
        result = funnel_of(session, period)
        active = [o for o in result.offers if o.sessions or o.step("viewed").count]
        offers = [
            {"offer": o, "bars": drawing(o, period),
             "href": link(f"/funnel/{o.offer_id}", **period.query())}
            for o in active
        ]  # fmt: skip
        tables = [offer_table(result, period), provider_table(result)]
        context = {"offers": offers, "tables": tables, "picker": picker(request, period),
                   "cohort": _cohort_words(result), "computed_at": result.computed_at,
                   "quiet": len(result.offers) - len(active)}  # fmt: skip
        return respond(request, "funnel.html", context, section="funnel", tables=tables,
                       stem="funnel", session=session, title="Funnel")  # fmt: skip


def step_table(
    request: Request, session: Session, offer_id: str, step: str, result: Funnel
) -> Table:
    """The rows behind one step, a page at a time, with their Stripe ids."""
    limit, offset = page_window(request)
    rows, pager = cut(step_rows(session, offer_id, step, result.cohort, limit=limit + 1,
                                offset=offset), limit, offset)  # fmt: skip
    order = lambda r: f"/orders/{r.order_id}" if r.order_id else None  # noqa: E731
    columns = [Column("at", "Started" if step != "viewed" else "Viewed", "datetime")]
    if step == "viewed":
        columns.append(Column("visitor", "Visitor", "code"))
    else:
        columns += [
            Column("session_id", "Checkout session", "code"),
            Column("status", "Session", "status"),
            Column("payment_intent_id", "Payment intent", "code"),
            Column("charge_id", "Charge", "code"),
            Column("order_id", "Order", "id", href=order),
            Column("order_status", "Order status", "status"),
            Column("amount_minor", "Amount", "money"),
            Column("rating", "Rating", "int"),
        ]
    return Table("steps", columns, rows, title=STEP_LABELS[step], pager=pager,
                 empty="No row behind this step in the cohort.")  # fmt: skip


@router.get("/funnel/{offer_id}")
def offer_funnel_page(request: Request, offer_id: str) -> Response:
    """One offer's funnel and friction figures; `step=` lists the rows behind a step."""
    period = period_from(request)
    assert period is not None
    step = request.query_params.get("step") or None
    with session_scope(readonly=True) as session:
        result = funnel_of(session, period, offer_id)
        offer = result.offer(offer_id)
        if offer is None:
            raise NotFound(f"No offer '{offer_id}'.", hint="The funnel lists every offer: /funnel")
        tables = [step_table(request, session, offer_id, step, result)] if step else []
        drill = [{"key": k, "label": STEP_LABELS[k], "href": step_href(offer_id, k, period),
                  "on": k == step} for k in DRILL_STEPS]  # fmt: skip
        context = {"offer": offer, "bars": drawing(offer, period), "cards": figures(offer, period),
                   "tables": tables, "picker": picker(request, period), "drill": drill,
                   "step": step, "cohort": _cohort_words(result),
                   "computed_at": result.computed_at}  # fmt: skip
        return respond(request, "funnel_offer.html", context, section="funnel",
                       tables=tables or [offer_table(result, period)],
                       stem=f"funnel-{offer_id}", session=session, title=offer.title)  # fmt: skip
