"""What the business sells: ideas, offers and orders, each with its money, its orders and tasks."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governor.analytics import service as analytics
from governor.analytics.filters import LedgerFilters
from governor.analytics.kpis import KIND_GROUPS
from governor.analytics.period import Period
from governor.analytics.schemas import BreakdownRow
from governor.offers.friction import OfferFriction
from governor.offers.fulfilment_queue import over_sla_count
from governor.offers.service import (
    IDEA_STATUSES,
    ORDER_STATUSES,
    get_idea,
    get_offer,
    get_order,
    list_ideas,
    list_orders,
)
from governor.revenue.translate import NO_MONEY_STATUSES
from governor.storage.db import session_scope
from governor.web.pages.context import PageRoute, period_from, picker, respond
from governor.web.pages.funnel import funnel_of, step_href
from governor.web.pages.revenue import NET_KINDS, breakdown_table, ledger_columns
from governor.web.pages.tables import (
    CSV_LIMIT,
    Column,
    Table,
    choice_param,
    cut,
    link,
    money,
    number,
    page_window,
    percent,
    text_param,
    wants_csv,
)
from governor.web.pages.tasks import task_href

router = APIRouter(route_class=PageRoute)

DETAIL_ROWS = 15
"""How many orders, ledger rows and tasks a detail page lists (its links lead to them all)."""


def offer_columns() -> list[Column]:
    """The columns of a list of offers."""
    return [
        Column("title", "Offer", href=lambda r: f"/offers/{r.id}", wrap=True),
        Column("id", "Id", "code", html=False),
        Column("status", "Status", "status"),
        Column("price_minor", "Price", "money"),
        Column("currency", "Currency", get=lambda r: r.currency.upper()),
        Column("created_at", "Created", "datetime"),
    ]


def history_columns() -> list[Column]:
    """The columns of an offer's status timeline; a task's change links to the task."""
    return [
        Column("at", "When", "datetime"),
        Column("from_status", "From", get=lambda r: r.from_status or "(created)"),
        Column("to_status", "To", "status"),
        Column("actor", "By", "code", href=lambda r: f"/tasks/{r.task_id}" if r.task_id else None),
        Column("reason", "Why", wrap=True),
    ]


def friction_cards(f: OfferFriction, over_sla: int, period: Period) -> list[dict[str, Any]]:
    """The offer page's friction panel: the funnel's figures of the period's cohort (the same
    as /funnel shows) and the paid orders past the SLA now, each linked to the rows behind."""
    rating = "—" if f.mean_rating is None else f"{f.mean_rating:.2f}"
    funnel_href = link(f"/funnel/{f.offer_id}", **period.query())
    return [
        {"key": "sessions", "label": "Checkout sessions", "value": number(f.sessions),
         "sub": f"{number(f.step('paid').count)} paid", "href": funnel_href},
        {"key": "abandonment", "label": "Abandonment", "value": percent(f.abandonment_rate),
         "sub": f"{number(f.abandoned_at_payment)} at the payment step",
         "href": step_href(f.offer_id, "abandoned", period)},
        {"key": "paid", "label": "Paid", "value": number(f.step("paid").count),
         "href": step_href(f.offer_id, "paid", period)},
        {"key": "fulfilled", "label": "Fulfilled", "value": number(f.step("fulfilled").count),
         "href": step_href(f.offer_id, "fulfilled", period)},
        {"key": "rating", "label": "Mean rating", "value": rating,
         "sub": f"response rate {percent(f.feedback_response_rate)}",
         "href": link("/feedback", offer_id=f.offer_id)},
        {"key": "over_sla", "label": "Over SLA now", "value": number(over_sla),
         "tone": "neg" if over_sla else "",
         "href": link("/fulfilment", state="over_sla", offer_id=f.offer_id)},
    ]  # fmt: skip


def order_columns() -> list[Column]:
    """The columns of a list of orders."""
    return [
        Column("id", "Order", "id", href=lambda r: f"/orders/{r.id}"),
        Column("status", "Status", "status"),
        Column("amount_minor", "Amount", "money"),
        Column("currency", "Currency", html=False),
        Column("created_at", "Created", "datetime"),
        Column("paid_at", "Paid", "datetime"),
        Column("fulfilled_at", "Fulfilled", "datetime"),
        Column("stripe_charge_id", "Stripe charge", "code"),
        Column("stripe_payment_intent_id", "Payment intent", "code", html=False),
        Column("offer_id", "Offer", "code", html=False),
        Column("customer_id", "Customer", "code", html=False),
    ]


def brief_task_columns() -> list[Column]:
    """The columns of the newest tasks of an idea, offer or order."""
    return [
        Column("id", "Task", "id", href=task_href),
        Column("type", "Type"),
        Column("status", "Status", "status"),
        Column("ai_model", "Model"),
        Column("created_at", "Created", "datetime"),
        Column("duration_ms", "Duration", "duration"),
        Column("cost_micros", "Cost", "micros"),
        Column("tokens_in", "Tokens in", "int", html=False),
        Column("tokens_out", "Tokens out", "int", html=False),
        Column("error", "Error", html=False),
    ]


def money_cards(rows: Sequence[BreakdownRow], period: Period, **scope: str) -> list[dict[str, Any]]:
    """Figure cards of one offer or idea per currency, each linked to its ledger rows."""
    q = period.query()
    cards = []
    for r in rows:

        def ledger(kinds: tuple[str, ...], currency: str = r.currency) -> str:
            return link("/ledger", kinds=",".join(kinds), currency=currency, **scope, **q)

        cards.append(
            {
                "currency": r.currency,
                "row": r,
                "links": {
                    "gross_revenue": ledger(KIND_GROUPS["gross_revenue"]),
                    "net_revenue": ledger(NET_KINDS),
                    "refunds": ledger(KIND_GROUPS["refunds"] + KIND_GROUPS["disputes"]),
                    "cogs": ledger(KIND_GROUPS["cogs"]),
                    "orders": ledger(("charge",)),
                    "ai_cost": link("/tasks", **scope, **q),
                },
            }
        )
    return cards


@router.get("/ideas")
def ideas_page(request: Request) -> Response:
    """Ideas, newest first, beside what each brought in over the period."""
    period = period_from(request)
    assert period is not None
    status = choice_param(request, "status", IDEA_STATUSES)
    limit, offset = page_window(request)
    with session_scope(readonly=True) as session:
        ideas, pager = cut(list_ideas(session, status=status, limit=limit + 1, offset=offset),
                           limit, offset)  # fmt: skip
        money = analytics.revenue_by_idea(session, period)
        figures: dict[str, list[BreakdownRow]] = {}
        for row in money:
            figures.setdefault(row.key, []).append(row)
        rows = [{"idea": i, "money": figures.get(i.id, [])} for i in ideas]
        table = Table(
            "ideas",
            [
                Column("title", "Idea", get=lambda r: r["idea"].title, wrap=True,
                       href=lambda r: link(f"/ideas/{r['idea'].id}", **period.query())),
                Column("id", "Id", "code", get=lambda r: r["idea"].id, html=False),
                Column("status", "Status", "status", get=lambda r: r["idea"].status),
                Column("created_at", "Created", "datetime", get=lambda r: r["idea"].created_at),
                Column("orders", "Orders", "int", get=lambda r: _sum(r["money"], "orders"),
                       href=lambda r: link("/ledger", kinds="charge", idea_id=r["idea"].id,
                                           **period.query())),
                Column("net_revenue", "Net revenue", "figures",
                       get=lambda r: _per_currency(r["money"], "net_revenue"),
                       href=lambda r: link(f"/ideas/{r['idea'].id}", **period.query())),
                Column("net_income", "Net income", "figures",
                       get=lambda r: _per_currency(r["money"], "net_income"),
                       href=lambda r: link(f"/ideas/{r['idea'].id}", **period.query())),
                Column("ai_cost_micros", "AI cost", "micros",
                       get=lambda r: _sum(r["money"], "ai_cost_micros")),
            ],
            rows,
            title="Ideas",
            pager=pager,
            empty="No ideas yet." if not status else f"No {status} ideas.",
            note="Money columns are over the chosen period; AI cost is in USD.",
        )  # fmt: skip
        context = {"table": table, "picker": picker(request, period), "statuses": IDEA_STATUSES,
                   "status": status}  # fmt: skip
        return respond(request, "ideas.html", context, section="ideas", tables=[table],
                       stem="ideas", session=session, title="Ideas")  # fmt: skip


def _sum(rows: Sequence[BreakdownRow], name: str) -> int:
    return sum(getattr(r, name) for r in rows)


def _per_currency(rows: Sequence[BreakdownRow], name: str) -> str | None:
    parts = [money(getattr(r, name), r.currency) for r in rows if getattr(r, name) or r.orders]
    return " · ".join(parts) or None


@router.get("/ideas/{idea_id}")
def idea_page(request: Request, idea_id: str) -> Response:
    """One idea: its offers and what each made, and its newest tasks."""
    period = period_from(request)
    assert period is not None
    with session_scope(readonly=True) as session:
        idea = get_idea(session, idea_id, limit=CSV_LIMIT if wants_csv(request) else DETAIL_ROWS)
        own = [r for r in analytics.revenue_by_idea(session, period) if r.key == idea_id]
        offers_money = [r for r in analytics.revenue_by_offer(session, period)
                        if r.idea_id == idea_id]  # fmt: skip
        tables = [
            breakdown_table("money", "Offers: money in the period", offers_money, period,
                            by="offer", with_idea=False),
            Table("offers", offer_columns(), idea.offers, title="Offers",
                  empty="No offer was made from this idea yet."),
            Table("tasks", brief_task_columns(), idea.tasks, title="Newest tasks",
                  total=idea.tasks_total,
                  empty="No task worked on this idea."),
        ]  # fmt: skip
        context = {"idea": idea, "tables": tables, "picker": picker(request, period),
                   "cards": money_cards(own, period, idea_id=idea_id),
                   "all_tasks": link("/tasks", idea_id=idea_id)}  # fmt: skip
        return respond(request, "idea.html", context, section="ideas", tables=tables,
                       stem=f"idea-{idea_id}", session=session, title=idea.title)  # fmt: skip


@router.get("/offers/{offer_id}")
def offer_page(request: Request, offer_id: str) -> Response:
    """One offer: what it made in the period, its orders, its ledger rows and its tasks."""
    period = period_from(request)
    assert period is not None
    csv = wants_csv(request)
    with session_scope(readonly=True) as session:
        offer = get_offer(session, offer_id, limit=CSV_LIMIT if csv else DETAIL_ROWS)
        own = [r for r in analytics.revenue_by_offer(session, period) if r.key == offer_id]
        cohort = funnel_of(session, period, offer_id)
        figures = cohort.offer(offer_id)
        assert figures is not None  # the offer exists: get_offer found it
        late = over_sla_count(session, offer_id)
        entries = analytics.ledger(session, period, LedgerFilters(offer_id=offer_id),
                                   limit=CSV_LIMIT if csv else DETAIL_ROWS)  # fmt: skip
        tables = [
            Table("history", history_columns(), offer.history, title="Status history",
                  empty="No status change recorded."),
            Table("orders", order_columns(), offer.orders, title="Newest orders",
                  total=offer.orders_total, empty="No orders yet."),
            Table("ledger", ledger_columns(), entries.rows,
                  title="Newest ledger entries in the period", total=entries.total,
                  row_class=lambda r: "uncounted" if r.status in NO_MONEY_STATUSES else "",
                  empty="No money moved for this offer in the period."),
            Table("tasks", brief_task_columns(), offer.tasks, title="Newest tasks",
                  total=offer.tasks_total,
                  empty="No task worked on this offer."),
        ]  # fmt: skip
        context = {
            "offer": offer,
            "tables": tables,
            "picker": picker(request, period),
            "cards": money_cards(own, period, offer_id=offer_id),
            "friction": friction_cards(figures, late, period),
            "cohort": cohort.cohort,
            "all_orders": link("/orders", offer_id=offer_id),
            "all_ledger": link("/ledger", offer_id=offer_id, **period.query()),
            "all_tasks": link("/tasks", offer_id=offer_id),
        }
        return respond(request, "offer.html", context, section="revenue", tables=tables,
                       stem=f"offer-{offer_id}", session=session, title=offer.title)  # fmt: skip


@router.get("/orders")
def orders_page(request: Request) -> Response:
    """Orders, newest first: of one offer, one idea, or in one status."""
    status = choice_param(request, "status", ORDER_STATUSES)
    offer_id, idea_id = text_param(request, "offer_id"), text_param(request, "idea_id")
    limit, offset = page_window(request)
    with session_scope(readonly=True) as session:
        orders, pager = cut(
            list_orders(session, status=status, offer_id=offer_id, idea_id=idea_id,
                        limit=limit + 1, offset=offset), limit, offset,
        )  # fmt: skip
        table = Table("orders", order_columns(), orders, title="Orders", pager=pager,
                      empty="No order matches these filters.")  # fmt: skip
        context = {"table": table, "statuses": ORDER_STATUSES, "status": status,
                   "offer_id": offer_id, "idea_id": idea_id}  # fmt: skip
        return respond(request, "orders.html", context, section="revenue", tables=[table],
                       stem="orders", session=session, title="Orders")  # fmt: skip


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: str) -> Response:
    """One order: its offer and customer, every ledger entry with its Stripe ids, its tasks."""
    with session_scope(readonly=True) as session:
        order = get_order(session, order_id)
        ledger = Table(
            "ledger",
            [c for c in ledger_columns() if c.key not in ("order_id", "offer_id", "idea_id")],
            order.ledger,
            title="Ledger entries",
            row_class=lambda r: "uncounted" if r.status in NO_MONEY_STATUSES else "",
            totals=[{"kind": "Net", "amount_minor": order.net_minor, "currency": order.currency}]
            if order.ledger else [],
            empty="No money has moved for this order yet.",
        )  # fmt: skip
        tasks = Table("tasks", brief_task_columns(), order.tasks, title="Tasks",
                      empty="No task worked on this order.")  # fmt: skip
        context = {"order": order, "tables": [ledger, tasks]}
        return respond(request, "order.html", context, section="revenue", tables=[ledger, tasks],
                       stem=f"order-{order_id}", session=session,
                       title=f"Order {order_id}")  # fmt: skip
