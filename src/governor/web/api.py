"""The JSON API under /api/: everything the pages show, for scripts (token or session)."""

from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from governor.alerts.service import list_alerts
from governor.analytics import service as analytics
from governor.analytics.filters import MAX_LIMIT, MAX_OFFSET, LedgerFilters, TaskFilters
from governor.analytics.period import Period, parse_period
from governor.analytics.schemas import (
    BreakdownRow,
    LedgerPage,
    Overview,
    TaskCostRow,
    TaskPage,
)
from governor.config import get_settings
from governor.fulfilment import service as fulfilment
from governor.fulfilment.schemas import FulfilmentOut, RetriedOut
from governor.models import Finding
from governor.models.base import Base
from governor.monitors import service as monitors
from governor.monitors.schemas import FindingOut
from governor.offers import lifecycle
from governor.offers import service as offers
from governor.offers.schemas import (
    IdeaDetail,
    IdeaOut,
    OfferDetail,
    OfferOut,
    OfferStatusChangeOut,
    OfferStatusIn,
    OrderDetail,
    OrderOut,
)
from governor.storage.db import session_scope
from governor.tasks import gate
from governor.tasks.service import get_task

router = APIRouter(prefix="/api", tags=["api"])


def read_session() -> Iterator[Session]:
    """A read-only unit of work for one request (one snapshot on PostgreSQL)."""
    with session_scope(readonly=True) as session:
        yield session


def period(
    range: Annotated[str | None, Query(description="24h, 7d, 30d (default), 90d, 12w, 6m")] = None,
    since: Annotated[str | None, Query(description="ISO 8601 start (instead of range)")] = None,
    until: Annotated[str | None, Query(description="ISO 8601 end (default: now)")] = None,
    grain: Annotated[str | None, Query(description="hour, day, week or month")] = None,
) -> Period:
    """The period asked for (400 with what is accepted when it cannot be read)."""
    return parse_period(range=range, since=since, until=until, grain=grain)


def optional_period(
    range: str | None = None, since: str | None = None, until: str | None = None
) -> Period | None:
    """A period only when one was asked for (drill-down lists default to all time)."""
    if not (range or since or until):
        return None
    return parse_period(range=range, since=since, until=until)


Reader = Annotated[Session, Depends(read_session)]
Asked = Annotated[Period, Depends(period)]
MaybeAsked = Annotated[Period | None, Depends(optional_period)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/overview", response_model=Overview)
def overview(session: Reader, asked: Asked) -> Overview:
    """KPIs per currency with the previous period's, AI cost, net income, ROI, time series."""
    return analytics.overview(session, asked, get_settings())


@router.get("/revenue/offers", response_model=list[BreakdownRow])
def revenue_by_offer(session: Reader, asked: Asked) -> list[BreakdownRow]:
    """Revenue, costs and ROI per offer and currency."""
    return analytics.revenue_by_offer(session, asked)


@router.get("/revenue/ideas", response_model=list[BreakdownRow])
def revenue_by_idea(session: Reader, asked: Asked) -> list[BreakdownRow]:
    """Revenue, costs and ROI per idea and currency."""
    return analytics.revenue_by_idea(session, asked)


@router.get("/costs/types", response_model=list[TaskCostRow])
def costs_by_type(session: Reader, asked: Asked) -> list[TaskCostRow]:
    """AI cost, tokens, failures and mean duration per task type."""
    return analytics.costs_by_type(session, asked)


@router.get("/costs/models", response_model=list[TaskCostRow])
def costs_by_model(session: Reader, asked: Asked, type: str | None = None) -> list[TaskCostRow]:
    """The same per task type and model (one type's models with `type`)."""
    return analytics.costs_by_model(session, asked, type=type)


@router.get("/ledger", response_model=LedgerPage)
def ledger(
    session: Reader,
    asked: MaybeAsked,
    filters: Annotated[LedgerFilters, Depends()],
    kind: Annotated[list[str] | None, Query(description="ledger kinds; repeat for several")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> LedgerPage:
    """Ledger entries (the rows behind every money figure) with their Stripe ids."""
    return analytics.ledger(session, asked, filters, kinds=kind, limit=limit, offset=offset)


@router.get("/tasks", response_model=TaskPage)
def tasks(
    session: Reader,
    asked: MaybeAsked,
    filters: Annotated[TaskFilters, Depends()],
    limit: Limit = 100,
    offset: Offset = 0,
) -> TaskPage:
    """Tasks matching the filters (the rows behind every cost figure)."""
    return analytics.tasks(session, asked, filters, limit=limit, offset=offset)


@router.get("/tasks/{task_id}")
def task(session: Reader, task_id: str) -> dict[str, Any]:
    """One task with its spans (offsets from the task's start, nested by parent)."""
    from governor.tracing.waterfall import waterfall

    return {"task": _columns(get_task(session, task_id)),
            "spans": asdict(waterfall(session, task_id))}  # fmt: skip


@router.get("/ideas", response_model=list[IdeaOut])
def ideas(session: Reader, status: str | None = None, limit: Limit = 100,
          offset: Offset = 0) -> list[IdeaOut]:  # fmt: skip
    """Ideas, newest first."""
    return offers.list_ideas(session, status=status, limit=limit, offset=offset)


@router.get("/ideas/{idea_id}", response_model=IdeaDetail)
def idea(session: Reader, idea_id: str) -> IdeaDetail:
    """One idea with its offers and the tasks that worked on it."""
    return offers.get_idea(session, idea_id)


@router.get("/offers", response_model=list[OfferOut])
def offer_list(session: Reader, status: str | None = None, idea_id: str | None = None,
               limit: Limit = 100, offset: Offset = 0) -> list[OfferOut]:  # fmt: skip
    """Offers, newest first."""
    return offers.list_offers(session, status=status, idea_id=idea_id, limit=limit, offset=offset)


@router.get("/offers/{offer_id}", response_model=OfferDetail)
def offer(session: Reader, offer_id: str) -> OfferDetail:
    """One offer with its idea, its orders and the tasks that made it."""
    return offers.get_offer(session, offer_id)


@router.get("/offers/{offer_id}/history", response_model=list[OfferStatusChangeOut])
def offer_history(session: Reader, offer_id: str) -> list[OfferStatusChangeOut]:
    """Every status change of an offer, oldest first: when, who (task, user or CLI), why."""
    return lifecycle.history(session, offer_id)


@router.post("/offers/{offer_id}/status", response_model=OfferStatusChangeOut)
def offer_status(request: Request, offer_id: str, change: OfferStatusIn) -> OfferStatusChangeOut:
    """Move an offer: draft → live, live ⇄ paused, any but retired → retired (final).

    Any signed-in user or API token may (tokens have no scopes yet); committed before the answer.
    """
    user = request.state.user
    own = user.via_token and user.id == user.token_id  # a token of no user: its name stands in
    actor = f"{'token' if own else 'user'}:{user.name}"
    with session_scope() as session:
        return lifecycle.set_status(session, offer_id, change.status, reason=change.reason,
                                    actor=actor)  # fmt: skip


@router.get("/orders", response_model=list[OrderOut])
def orders(session: Reader, status: str | None = None, offer_id: str | None = None,
           idea_id: str | None = None, limit: Limit = 100,
           offset: Offset = 0) -> list[OrderOut]:  # fmt: skip
    """Orders, newest first."""
    return offers.list_orders(session, status=status, offer_id=offer_id, idea_id=idea_id,
                              limit=limit, offset=offset)  # fmt: skip


@router.get("/orders/{order_id}", response_model=OrderDetail)
def order(session: Reader, order_id: str) -> OrderDetail:
    """One order with its customer, its ledger entries (Stripe ids) and its tasks."""
    return offers.get_order(session, order_id)


@router.get("/orders/{order_id}/fulfilment", response_model=FulfilmentOut)
def order_fulfilment(session: Reader, order_id: str) -> FulfilmentOut:
    """The order's fulfilment steps: provider, status, attempts, 429s, result, last error."""
    return fulfilment.get_fulfilment(session, order_id)


@router.post("/orders/{order_id}/fulfilment/{step}/retry", response_model=RetriedOut)
def retry_fulfilment(order_id: str, step: str) -> RetriedOut:
    """Try a failed or action-required step again; committed before the answer."""
    with session_scope() as session:
        return fulfilment.retry_step(session, order_id, step)


@router.get("/alerts")
def alerts(session: Reader, status: str | None = None, limit: Limit = 100) -> list[dict[str, Any]]:
    """Alerts, most recently seen first."""
    return [_columns(alert) for alert in list_alerts(session, status=status, limit=limit)]


@router.get("/findings", response_model=list[FindingOut])
def findings(
    session: Reader,
    asked: MaybeAsked,
    kind: Annotated[str | None, Query(description="anomaly or drift")] = None,
    series: Annotated[str | None, Query(description="e.g. revenue.gross.usd")] = None,
    limit: Limit = 200,
) -> list[Finding]:
    """What the detectors flagged on the watched series, newest first."""
    since, until = (asked.start, asked.end) if asked else (None, None)
    return monitors.findings(session, since, until, kind=kind, series=series, limit=limit)


@router.get("/gate")
def gate_state(session: Reader) -> dict[str, object]:
    """Whether agent tasks may start, and the event that made it so."""
    return gate.status(session).to_dict()


def _columns(row: Base) -> dict[str, Any]:
    """A row's columns by name, as JSON gives them."""
    return {column.key: getattr(row, column.key) for column in row.__mapper__.column_attrs}
