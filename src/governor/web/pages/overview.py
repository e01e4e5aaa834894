"""The overview: KPIs against the previous period, net income and ROI, charts, and the system."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governor import __version__
from governor.analytics import service as analytics
from governor.analytics.kpis import KIND_GROUPS
from governor.analytics.period import Period, bucket_of
from governor.analytics.schemas import AiKpis, Income, MoneyKpis, Overview
from governor.audits.service import list_reports
from governor.config import get_settings
from governor.monitors import service as monitors
from governor.revenue.currency import exponent
from governor.storage.db import session_scope
from governor.web.pages.charts import bars, layout, line, marks
from governor.web.pages.context import (
    PageRoute,
    period_from,
    period_params,
    picker,
    render,
    respond,
    schema_report,
)
from governor.web.pages.tables import (
    Column,
    Table,
    duration,
    link,
    money,
    number,
    percent,
    script_json,
    usd_micros,
)

router = APIRouter(route_class=PageRoute)

NET_KINDS = tuple(
    kind for figure, kinds in KIND_GROUPS.items() if figure != "cogs" for kind in kinds
)


@dataclass(frozen=True)
class Kpi:
    """One KPI card: the figure, where a click goes, and how it moved since the last period."""

    key: str
    label: str
    value: str
    href: str
    change: str
    arrow: str
    change_class: str
    previous: str
    sub: str = ""
    tone: str = ""


def change(
    current: float, previous: float, *, higher_is_better: bool = True
) -> tuple[str, str, str]:
    """(text, arrow, css class) of a change: "+12.5%", "▲", "good". Outflows (refunds, fees:
    negative figures) change by their size: refunds of -$80 against -$50 are "▲ +60%", bad."""
    if current == previous:
        return ("no change", "", "flat")
    good = (current > previous) == higher_is_better
    css = "good" if good else "bad"
    if current <= 0 and previous <= 0:
        current, previous = -current, -previous
    arrow = "▲" if current > previous else "▼"
    if previous == 0:
        return ("new", arrow, css)
    ratio = (current - previous) / abs(previous)
    sign = "+" if ratio > 0 else "-"
    size = abs(ratio) * 100
    text = f"{sign}{size:,.0f}%" if size >= 10 else f"{sign}{size:.1f}%"
    return (text, arrow, css)


def kpi(
    key: str, label: str, current: Any, previous: Any, fmt: Any, href: str, *,
    higher_is_better: bool = True, sub: str = "", tone: str = "",
) -> Kpi:  # fmt: skip
    """A card from two raw figures and the function that writes them."""
    cur, prev = current if current is not None else 0, previous if previous is not None else 0
    text, arrow, css = change(cur, prev, higher_is_better=higher_is_better)
    return Kpi(key, label, fmt(current), href, text, arrow, css, fmt(previous), sub, tone)


def ledger_href(period: Period, currency: str, kinds: tuple[str, ...], **extra: Any) -> str:
    """The ledger rows behind a money figure."""
    return link("/ledger", kinds=",".join(kinds), currency=currency, **extra, **period.query())


def _by_currency(rows: list[Any], currency: str, empty: Any) -> Any:
    return next((r for r in rows if r.currency == currency), empty)


def headline(ov: Overview, period: Period) -> list[Kpi]:
    """Net income, ROI and net revenue per currency, then AI cost and tasks."""
    q = period.query()
    cards: list[Kpi] = []
    first = get_settings().reporting_currency.lower()
    for inc in sorted(ov.income, key=lambda i: (i.currency != first, i.currency)):
        cur = inc.currency
        before = _by_currency(ov.previous_income, cur, Income(
            currency=cur, net_revenue=0, ai_cost=0, cogs=0, net_income=0, roi=None))  # fmt: skip
        fmt = _money_fmt(cur)
        tone = "pos" if inc.net_income > 0 else "neg" if inc.net_income < 0 else ""
        cards.append(kpi(f"net_income_{cur}", f"Net income · {cur.upper()}", inc.net_income,
                         before.net_income, fmt, link("/revenue", **q), tone=tone,
                         sub=f"ROI {percent(inc.roi)}" if inc.roi is not None else ""))  # fmt: skip
        cards.append(kpi(f"net_revenue_{cur}", f"Net revenue · {cur.upper()}", inc.net_revenue,
                         before.net_revenue, fmt, ledger_href(period, cur, NET_KINDS)))  # fmt: skip
    if ov.reporting_total is not None and len(ov.income) > 1:
        total = ov.reporting_total
        cards.insert(0, Kpi("total", f"Net income · all in {total.currency.upper()}",
                            money(total.net_income, total.currency), link("/revenue", **q),
                            "", "", "flat", "—", ov.reporting_note or "",
                            "pos" if total.net_income > 0 else "neg"))  # fmt: skip
    cards.append(kpi("ai_cost", "AI cost", ov.ai.cost_micros, ov.previous_ai.cost_micros,
                     usd_micros, link("/costs", **q), higher_is_better=False,
                     sub=f"{number(ov.ai.tasks)} tasks"))  # fmt: skip
    return cards


def _money_fmt(currency: str) -> Any:
    return lambda amount: money(amount, currency)


def money_details(ov: Overview, period: Period) -> list[tuple[str, list[Kpi]]]:
    """Per currency: gross, refunds, disputes, fees, COGS, orders and failed charges."""
    groups = []
    first = get_settings().reporting_currency.lower()
    for m in sorted(ov.money, key=lambda m: (m.currency != first, m.currency)):
        cur = m.currency
        before = _by_currency(ov.previous_money, cur, MoneyKpis(currency=cur))
        fmt = _money_fmt(cur)
        cards = [
            kpi(f"gross_revenue_{cur}", "Gross revenue", m.gross_revenue, before.gross_revenue, fmt,
                ledger_href(period, cur, KIND_GROUPS["gross_revenue"])),
            kpi(f"refunds_{cur}", "Refunds", m.refunds, before.refunds, fmt,
                ledger_href(period, cur, KIND_GROUPS["refunds"])),
            kpi(f"disputes_{cur}", "Disputes", m.disputes, before.disputes, fmt,
                ledger_href(period, cur, KIND_GROUPS["disputes"])),
            kpi(f"stripe_fees_{cur}", "Stripe fees", m.stripe_fees, before.stripe_fees, fmt,
                ledger_href(period, cur, KIND_GROUPS["stripe_fees"])),
            kpi(f"cogs_{cur}", "Cost of goods", m.cogs, before.cogs, fmt,
                ledger_href(period, cur, KIND_GROUPS["cogs"])),
            kpi(f"orders_{cur}", "Orders", m.orders, before.orders, number,
                ledger_href(period, cur, ("charge",))),
            kpi(f"failed_charges_{cur}", "Failed charges", m.failed_charges, before.failed_charges,
                number, ledger_href(period, cur, ("charge",), status="failed"),
                higher_is_better=False),
        ]  # fmt: skip
        groups.append((cur, cards))
    return groups


def ai_details(ai: AiKpis, before: AiKpis, period: Period) -> list[Kpi]:
    """Tasks, failures, tokens and mean duration of the period's finished tasks."""
    q = period.query()
    mean = ai.duration_ms // ai.tasks if ai.tasks else 0
    mean_before = before.duration_ms // before.tasks if before.tasks else 0
    return [
        kpi("tasks", "Tasks finished", ai.tasks, before.tasks, number, link("/tasks", **q)),
        kpi("failed", "Tasks failed", ai.failed, before.failed, number,
            link("/tasks", status="failed", **q), higher_is_better=False),
        kpi("tokens_in", "Tokens in", ai.tokens_in, before.tokens_in, number,
            link("/costs", **q), higher_is_better=False),
        kpi("tokens_out", "Tokens out", ai.tokens_out, before.tokens_out, number,
            link("/costs", **q), higher_is_better=False),
        kpi("duration", "Mean duration", mean, mean_before, duration, link("/costs", **q),
            higher_is_better=False),
    ]  # fmt: skip


def statement(ov: Overview, period: Period) -> Table:
    """The period's income statement per currency, each line linked to its ledger rows."""
    earlier = period.previous()
    rows = []
    for m in ov.money:
        inc = _by_currency(ov.income, m.currency, None)
        before = _by_currency(ov.previous_money, m.currency, MoneyKpis(currency=m.currency))
        lines = [
            ("Gross revenue", m.gross_revenue, before.gross_revenue, KIND_GROUPS["gross_revenue"]),
            ("Refunds", m.refunds, before.refunds, KIND_GROUPS["refunds"]),
            ("Disputes", m.disputes, before.disputes, KIND_GROUPS["disputes"]),
            ("Stripe fees", m.stripe_fees, before.stripe_fees, KIND_GROUPS["stripe_fees"]),
            ("Adjustments", m.adjustments, before.adjustments, KIND_GROUPS["adjustments"]),
            ("Net revenue", m.net_revenue, before.net_revenue, NET_KINDS),
            ("Cost of goods", m.cogs, before.cogs, KIND_GROUPS["cogs"]),
        ]  # fmt: skip
        for label, now, prev, kinds in lines:
            href, before_href = (ledger_href(p, m.currency, kinds) for p in (period, earlier))
            rows.append({"currency": m.currency, "line": label, "amount": now, "previous": prev,
                         "href": href, "before": before_href})  # fmt: skip
        if inc is not None and inc.ai_cost:
            rows.append({"currency": m.currency, "line": "AI cost", "amount": -inc.ai_cost,
                         "previous": None, "href": link("/costs", **period.query()),
                         "before": None})  # fmt: skip
    for row in rows:
        row["change"] = change(row["amount"], row["previous"])[0] if row["previous"] is not None \
            else ""  # fmt: skip
    return Table(
        "statement",
        [
            Column("currency", "Currency", get=lambda r: r["currency"].upper()),
            Column("line", "Line", href=lambda r: r["href"]),
            Column("amount", "This period", "money", href=lambda r: r["href"], signed=True),
            Column("previous", "Previous period", "money", href=lambda r: r["before"]),
            Column("change", "Change", "figures"),
        ],
        rows,
        title="Income statement",
        empty="No money moved in this period.",
    )


def charts(ov: Overview, period: Period, found: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Plotly figures (plain JSON) of revenue per currency and of AI spend, per bucket, with
    the monitors' anomalies marked."""
    buckets = _buckets(period)

    def flagged(series: str, values: list[float]) -> list[dict[str, Any]]:
        hits = [f for f in found if f.series == series and f.kind == "anomaly"]
        on_chart = dict(zip(buckets, values, strict=True))
        return [marks(hits, on_chart, lambda at: bucket_of(at, period.grain))] if hits else []

    out = []
    first = get_settings().reporting_currency.lower()
    for cur in sorted({p.currency for p in ov.series}, key=lambda c: (c != first, c)):
        points = {p.bucket: p for p in ov.series if p.currency == cur}
        scale = 10 ** exponent(cur)
        urls = [ledger_href(_bucket_period(b, period), cur, ("charge",)) for b in buckets]
        gross = [points[b].gross_revenue if b in points else 0 for b in buckets]
        net = [points[b].net_revenue if b in points else 0 for b in buckets]
        out.append({
            "id": f"chart-revenue-{cur}",
            "title": f"Revenue · {cur.upper()}",
            "figure": {
                "data": [
                    bars("Gross revenue", buckets, [g / scale for g in gross],
                          [money(g, cur) for g in gross], urls, "#6366f1"),
                    line("Net revenue", buckets, [n / scale for n in net],
                          [money(n, cur) for n in net], urls, "#059669"),
                    *flagged(f"revenue.gross.{cur}", [g / scale for g in gross]),
                ],
                "layout": layout(cur.upper()),
            },
        })  # fmt: skip
    ai = {p.bucket: p for p in ov.ai_series}
    cost = [ai[b].cost_micros if b in ai else 0 for b in buckets]
    count = [ai[b].tasks if b in ai else 0 for b in buckets]
    task_urls = [link("/tasks", **_bucket_period(b, period).query()) for b in buckets]
    ai_layout = layout("USD")
    ai_layout["yaxis2"] = {"overlaying": "y", "side": "right", "showgrid": False,
                           "rangemode": "tozero", "title": {"text": "tasks"},
                           "tickformat": ",d"}  # fmt: skip
    tasks_line = line("Tasks", buckets, [float(c) for c in count],
                      [f"{number(c)} tasks" for c in count], task_urls, "#94a3b8")  # fmt: skip
    tasks_line["yaxis"] = "y2"
    out.append({
        "id": "chart-ai",
        "title": "AI spend",
        "figure": {
            "data": [
                bars("AI cost", buckets, [c / 1_000_000 for c in cost],
                      [usd_micros(c) for c in cost], task_urls, "#f59e0b"),
                tasks_line,
                *flagged("ai.cost", [c / 1_000_000 for c in cost]),
            ],
            "layout": ai_layout,
        },
    })  # fmt: skip
    return out


def _next_bucket(bucket: datetime, grain: str) -> datetime:
    if grain == "month":
        return bucket_of(bucket + timedelta(days=32), "month")
    return bucket + {"hour": timedelta(hours=1), "week": timedelta(weeks=1)}.get(
        grain, timedelta(days=1)
    )


def _buckets(period: Period) -> list[datetime]:
    found: list[datetime] = []
    at = bucket_of(period.start, period.grain)
    while at < period.end and len(found) < 2000:
        found.append(at)
        at = _next_bucket(at, period.grain)
    return found


def _bucket_period(bucket: datetime, period: Period) -> Period:
    end = _next_bucket(bucket, period.grain)
    return Period(max(bucket, period.start), min(end, period.end), period.grain)


def system(request: Request) -> dict[str, Any]:
    """The schema's state: what the first page of Governor showed."""
    schema = schema_report(request) or {"verdict": "clean"}
    return {"schema": schema, "counts": {}, "version": __version__}


@router.get("/")
def overview_page(request: Request) -> Response:
    """KPIs of the period with their change, charts, the income statement, and the system."""
    sys = system(request)
    if sys["schema"].get("verdict") != "clean":
        return render(request, "overview.html", {"system": sys, "ov": None}, section="overview",
                      title="Overview")  # fmt: skip
    period = period_from(request)
    assert period is not None
    with session_scope(readonly=True) as session:
        ov = analytics.overview(session, period, get_settings())
        sys["counts"] = analytics.task_counts(session, period)
        sys["audit"] = next(iter(list_reports(session, limit=1)), None)
        table = statement(ov, period)
        context = {
            "ov": ov,
            "system": sys,
            "period": period,
            "picker": picker(request, period),
            "headline": headline(ov, period),
            "money_groups": money_details(ov, period),
            "ai_cards": ai_details(ov.ai, ov.previous_ai, period),
            "charts": [
                {**c, "json": script_json(c["figure"])}
                for c in charts(ov, period, monitors.findings(session, period.start, period.end))
            ],
            "statement": table,
            "period_query": period_params(period),
        }
        return respond(request, "overview.html", context, section="overview", tables=[table],
                       stem="overview", session=session, title="Overview")  # fmt: skip
