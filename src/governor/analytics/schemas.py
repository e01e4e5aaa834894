"""The figures analytics hands to the pages, the JSON API and the CLI (money as integers)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class MoneyKpis(BaseModel):
    """One currency's money in a period, in minor units; outflows are negative, as in the ledger."""

    currency: str
    gross_revenue: int = 0
    refunds: int = 0
    disputes: int = 0
    stripe_fees: int = 0
    adjustments: int = 0
    net_revenue: int = 0
    cogs: int = 0
    orders: int = 0
    failed_charges: int = 0


class AiKpis(BaseModel):
    """What the finished tasks of a period cost (micro-dollars) and did."""

    cost_micros: int = 0
    tasks: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms: int = 0


class Income(BaseModel):
    """Net income and ROI in one currency; AI costs (paid in USD) count against USD only."""

    currency: str
    net_revenue: int
    ai_cost: int
    cogs: int
    net_income: int
    roi: float | None  # net income per unit of cost (AI + COGS); None without costs


class SeriesPoint(BaseModel):
    """One bucket of one currency's revenue."""

    bucket: datetime
    currency: str
    gross_revenue: int
    net_revenue: int
    cogs: int


class AiPoint(BaseModel):
    """One bucket of AI spend."""

    bucket: datetime
    cost_micros: int
    tasks: int


class Overview(BaseModel):
    """The overview page: KPIs now and in the previous period, income, and the time series."""

    period: dict[str, Any]
    previous_period: dict[str, Any]
    money: list[MoneyKpis]
    previous_money: list[MoneyKpis]
    ai: AiKpis
    previous_ai: AiKpis
    income: list[Income]
    previous_income: list[Income]
    reporting_total: Income | None
    reporting_note: str | None
    series: list[SeriesPoint]
    ai_series: list[AiPoint]


class BreakdownRow(BaseModel):
    """Revenue, costs and ROI of one offer or idea in one currency."""

    key: str
    label: str
    idea_id: str | None = None
    idea_label: str | None = None
    currency: str
    gross_revenue: int = 0
    refunds: int = 0
    disputes: int = 0
    stripe_fees: int = 0
    net_revenue: int = 0
    cogs: int = 0
    ai_cost_micros: int = 0
    net_income: int = 0
    roi: float | None = None
    orders: int = 0


class TaskCostRow(BaseModel):
    """What the finished tasks of one type (and model) cost and how long they took."""

    type: str
    ai_model: str | None = None
    tasks: int = 0
    failed: int = 0
    cost_micros: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    avg_duration_ms: int = 0


class LedgerRow(BaseModel):
    """One ledger entry with the Stripe ids behind it."""

    id: str
    kind: str
    amount_minor: int
    currency: str
    status: str
    occurred_at: datetime
    source: str
    source_ref: str
    charge_id: str | None
    balance_transaction_id: str | None
    order_id: str | None
    offer_id: str | None
    idea_id: str | None
    task_id: str | None
    description: str | None


class LedgerPage(BaseModel):
    rows: list[LedgerRow]
    total: int


class TaskRow(BaseModel):
    """One task as the lists show it."""

    id: str
    type: str
    kind: str
    status: str
    ai_model: str | None
    created_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    cost_micros: int | None
    tokens_in: int
    tokens_out: int
    attempts: int
    error: str | None
    idea_id: str | None
    offer_id: str | None
    order_id: str | None


class TaskPage(BaseModel):
    rows: list[TaskRow]
    total: int
