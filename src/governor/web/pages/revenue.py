"""Revenue by offer and by idea, and the ledger rows (with their Stripe ids) behind every figure."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governor.analytics import service as analytics
from governor.analytics.filters import LedgerFilters
from governor.analytics.kpis import KIND_GROUPS
from governor.analytics.period import Period
from governor.analytics.schemas import BreakdownRow
from governor.errors import BadInput
from governor.revenue.translate import NO_MONEY_STATUSES
from governor.storage.db import session_scope
from governor.web.pages.context import PageRoute, period_from, period_params, picker, respond
from governor.web.pages.tables import (
    Column,
    Pager,
    Table,
    link,
    page_window,
    text_param,
    value_of,
)

router = APIRouter(route_class=PageRoute)

NET_KINDS = tuple(k for figure, kinds in KIND_GROUPS.items() if figure != "cogs" for k in kinds)
KIND_NAMES = {
    "charge": "Charges", "refund": "Refunds", "refund_failure": "Failed refunds",
    "dispute": "Disputes", "dispute_reversal": "Dispute reversals", "fee": "Fees",
    "stripe_fee": "Stripe fees", "adjustment": "Adjustments", "payout": "Payouts",
    "fulfilment_cost": "Fulfilment costs", "other_cost": "Other costs",
}  # fmt: skip
_SUMMED = ("gross_revenue", "refunds", "disputes", "stripe_fees", "net_revenue", "cogs",
           "ai_cost_micros", "net_income", "orders")  # fmt: skip


def breakdown_table(
    name: str,
    title: str,
    rows: Sequence[BreakdownRow],
    period: Period,
    *,
    by: str,
    with_idea: bool = True,
) -> Table:
    """Revenue, costs, net income and ROI per offer or idea, with a total per currency.

    The page leaves out a disputes column with no dispute in it (the CSV keeps it)."""
    q = period.query()
    key = "offer_id" if by == "offer" else "idea_id"

    def ledger(kinds: tuple[str, ...]) -> Any:
        return lambda r: link("/ledger", kinds=",".join(kinds), currency=r.currency,
                              **{key: r.key or None}, **q) if r.key else None  # fmt: skip

    def own_page(r: Any) -> str | None:
        return link(f"/{by}s/{r.key}", **q) if r.key else None

    columns = [
        Column("label", "Offer" if by == "offer" else "Idea", href=own_page, wrap=True),
        Column("key", "Id", "code", html=False),
        Column("currency", "Currency", get=lambda r: str(value_of(r, "currency")).upper()),
        Column("orders", "Orders", "int", href=ledger(("charge",))),
        Column("gross_revenue", "Gross", "money", href=ledger(KIND_GROUPS["gross_revenue"])),
        Column("refunds", "Refunds", "money", href=ledger(KIND_GROUPS["refunds"])),
        Column("disputes", "Disputes", "money", href=ledger(KIND_GROUPS["disputes"]),
               html=any(r.disputes for r in rows)),
        Column("stripe_fees", "Fees", "money", href=ledger(KIND_GROUPS["stripe_fees"])),
        Column("net_revenue", "Net revenue", "money", href=ledger(NET_KINDS)),
        Column("cogs", "COGS", "money", href=ledger(KIND_GROUPS["cogs"])),
        Column("ai_cost_micros", "AI cost", "micros",
               href=lambda r: link("/tasks", **{key: r.key}, **q) if r.key
               else None),
        Column("net_income", "Net income", "money", signed=True),
        Column("roi", "ROI", "percent", signed=True),
    ]  # fmt: skip
    if by == "offer":
        idea = Column("idea_label", "Idea", wrap=True, html=with_idea,
                      href=lambda r: f"/ideas/{r.idea_id}" if r.idea_id else None)  # fmt: skip
        columns.insert(1, idea)
    return Table(name, columns, rows, title=title, totals=totals(rows),
                 empty="No revenue or cost in this period.")  # fmt: skip


def totals(rows: Sequence[BreakdownRow]) -> list[dict[str, Any]]:
    """One total row per currency (figures are never summed across currencies)."""
    by_currency: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = by_currency.setdefault(
            row.currency, {"label": "Total", "currency": row.currency, **dict.fromkeys(_SUMMED, 0)}
        )
        for name in _SUMMED:
            total[name] += getattr(row, name)
    return [by_currency[c] for c in sorted(by_currency)]


@router.get("/revenue")
def revenue_page(request: Request) -> Response:
    """Revenue, costs and ROI per offer and per idea."""
    period = period_from(request)
    assert period is not None
    with session_scope(readonly=True) as session:
        offers = analytics.revenue_by_offer(session, period)
        ideas = analytics.revenue_by_idea(session, period)
        tables = [
            breakdown_table("offers", "By offer", offers, period, by="offer"),
            breakdown_table("ideas", "By idea", ideas, period, by="idea"),
        ]
        context = {"tables": tables, "picker": picker(request, period)}
        return respond(request, "revenue.html", context, section="revenue", tables=tables,
                       stem="revenue", session=session, title="Revenue")  # fmt: skip


def ledger_columns() -> list[Column]:
    """The columns of ledger rows (shared with the order and offer pages)."""
    return [
        Column("occurred_at", "When", "datetime"),
        Column("kind", "Kind", href=lambda r: link("/ledger", kinds=r.kind)),
        Column("status", "Status", "status"),
        Column("amount_minor", "Amount", "money", signed=True),
        Column("currency", "Currency", html=False),
        Column("source_ref", "Stripe id", "code"),
        Column("charge_id", "Charge", "code"),
        Column("balance_transaction_id", "Balance txn", "code"),
        Column("order_id", "Order", "id", href=lambda r: f"/orders/{r.order_id}"),
        Column("offer_id", "Offer", "id", href=lambda r: f"/offers/{r.offer_id}"),
        Column("idea_id", "Idea", "code", html=False),
        Column("task_id", "Task", "id", href=lambda r: f"/tasks/{r.task_id}"),
        Column("source", "Source", html=False),
        Column("description", "Description", wrap=True),
        Column("id", "Entry", "code", html=False),
    ]


def moved_money(row: Any) -> str:
    """Row class: entries under which no money moved are listed but not counted."""
    return "" if row.status not in NO_MONEY_STATUSES else "uncounted"


def _kinds(request: Request) -> list[str] | None:
    raw = text_param(request, "kinds", max_length=400)
    if raw is None:
        return None
    kinds = [k.strip() for k in raw.split(",") if k.strip()]
    for kind in kinds:
        if not kind.replace("_", "").isalnum():
            raise BadInput(f"'{kind}' is not a ledger kind.",
                           hint=f"Use kinds=, e.g. {', '.join(list(KIND_NAMES)[:4])}.")  # fmt: skip
    return kinds or None


def ledger_title(kinds: list[str] | None, currency: str | None) -> str:
    """A title for the filtered ledger: "Charges · USD", "Ledger entries"."""
    if kinds == list(NET_KINDS):
        name = "Net revenue entries"
    elif kinds:
        name = " + ".join(KIND_NAMES.get(k, k) for k in kinds)
    else:
        name = "Ledger entries"
    return f"{name} · {currency.upper()}" if currency else name


@router.get("/ledger")
def ledger_page(request: Request) -> Response:
    """The ledger rows behind a figure: filtered by kind, currency, status, offer, idea, order."""
    period = period_from(request, optional=True)
    kinds = _kinds(request)
    currency = (text_param(request, "currency", max_length=3) or "").lower() or None
    filters = {
        "currency": currency,
        "status": text_param(request, "status", max_length=32),
        "offer_id": text_param(request, "offer_id"),
        "idea_id": text_param(request, "idea_id"),
        "order_id": text_param(request, "order_id"),
    }
    limit, offset = page_window(request)
    with session_scope(readonly=True) as session:
        page = analytics.ledger(session, period, LedgerFilters(**filters), kinds=kinds,
                                limit=limit, offset=offset)  # fmt: skip
        table = Table(
            "ledger", ledger_columns(), page.rows, title=ledger_title(kinds, currency),
            pager=Pager(page.total, limit, offset), row_class=moved_money,
            empty="No ledger entry matches these filters.",
        )  # fmt: skip
        context = {
            "table": table,
            "filters": {"kinds": ",".join(kinds) if kinds else None, **filters},
            "kind_names": KIND_NAMES,
            "picker": picker(request, period, optional=True),
            "period_query": period_params(period),
            "uncounted": NO_MONEY_STATUSES,
        }
        return respond(request, "ledger.html", context, section="revenue", tables=[table],
                       stem="ledger", session=session, title=table.title)  # fmt: skip
