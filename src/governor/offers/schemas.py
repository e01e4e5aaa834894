"""Ideas, offers, customers and orders as they cross to the JSON API and the command line."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class IdeaOut(_Row):
    """Something the agents thought worth building."""

    id: str
    title: str
    description: str | None
    status: str
    created_at: datetime


class OfferOut(_Row):
    """A thing for sale at a price (integer minor units) in one currency."""

    id: str
    idea_id: str | None
    title: str
    price_minor: int
    currency: str
    status: str
    created_at: datetime
    stripe_product_id: str | None = None
    stripe_price_id: str | None = None
    stripe_payment_link_id: str | None = None
    created_by_task_id: str | None = None


class OfferStatusChangeOut(_Row):
    """One move of an offer's status: from (None when it was created), to, when, who, why."""

    id: str
    offer_id: str
    from_status: str | None
    to_status: str
    at: datetime
    actor: str
    task_id: str | None
    reason: str | None


class OfferStatusIn(BaseModel):
    """A status change asked for through the API: where to, and why."""

    status: str = Field(description="live, paused or retired (retired is final)")
    reason: str = Field(description="why; kept in the offer's history", max_length=2000)


class CustomerOut(_Row):
    """Someone who bought, or tried to buy, an offer."""

    id: str
    name: str | None
    email: str | None
    stripe_customer_id: str | None
    created_at: datetime


class OrderOut(_Row):
    """One purchase of an offer, its Stripe charge and how far it got."""

    id: str
    offer_id: str
    customer_id: str | None
    amount_minor: int
    currency: str
    status: str
    stripe_charge_id: str | None
    stripe_payment_intent_id: str | None
    created_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None


class TaskBrief(_Row):
    """An agent's task that worked on an idea, offer or order (`governor tasks show` has it all)."""

    id: str
    kind: str
    type: str
    status: str
    ai_model: str | None
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    tokens_in: int
    tokens_out: int
    cost_micros: int | None
    error: str | None


class LedgerLine(_Row):
    """One movement of money of an order: a charge, refund, fee, dispute or cost."""

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
    task_id: str | None
    description: str | None


class IdeaDetail(IdeaOut):
    """An idea with its offers and the newest of its tasks."""

    offers: list[OfferOut]
    tasks: list[TaskBrief]
    tasks_total: int


class OfferDetail(OfferOut):
    """An offer with its idea, its status history, the newest of its orders and of its tasks,
    and order counts."""

    idea: IdeaOut | None
    history: list[OfferStatusChangeOut]
    orders: list[OrderOut]
    orders_total: int
    orders_by_status: dict[str, int]
    tasks: list[TaskBrief]
    tasks_total: int


class OrderDetail(OrderOut):
    """An order with its offer, customer, every ledger entry and its tasks."""

    offer: OfferOut | None
    customer: CustomerOut | None
    ledger: list[LedgerLine]
    net_minor: int
    tasks: list[TaskBrief]


def dump(model: BaseModel | list[Any]) -> Any:
    """JSON-ready data of one model or a list of them."""
    if isinstance(model, list):
        return [item.model_dump(mode="json") for item in model]
    return model.model_dump(mode="json")
