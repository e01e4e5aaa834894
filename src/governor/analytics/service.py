"""KPI and ROI queries for the dashboard, the JSON API and /metrics; and the drill-down rows.

Call them in a `session_scope(readonly=True)`: its single snapshot makes the figures exact.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governor.analytics import kpis
from governor.analytics.filters import LedgerFilters, TaskFilters, given
from governor.analytics.period import Period, bucket_of
from governor.analytics.rollups import LEDGER, TASKS, Source, cells
from governor.analytics.schemas import (
    AiKpis,
    AiPoint,
    BreakdownRow,
    LedgerPage,
    LedgerRow,
    MoneyKpis,
    Overview,
    SeriesPoint,
    TaskCostRow,
    TaskPage,
    TaskRow,
)
from governor.config import Settings
from governor.models import ExecutionTask, Idea, LedgerEntry, Offer
from governor.models.analytics import NONE
from governor.models.base import table_of

UNFINISHED = ("pending", "running")
ALL_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""Where 'since ever' starts for the rollups (before any Governor existed)."""
MONEY_KEYS = ("currency", "kind", "status")


def overview(session: Session, period: Period, settings: Settings) -> Overview:
    """The KPIs of a period beside the previous one's, net income, ROI and the time series."""
    before = period.previous()
    grain = "hour" if period.grain == "hour" else "day"
    ledger_now = _cells(session, LEDGER, period, MONEY_KEYS, grain)
    ledger_before = _cells(session, LEDGER, before, MONEY_KEYS)
    tasks_now = _agents(_cells(session, TASKS, period, ("kind", "status"), grain))
    tasks_before = _agents(_cells(session, TASKS, before, ("kind", "status")))
    money, previous_money = kpis.money_kpis(ledger_now), kpis.money_kpis(ledger_before)
    ai, previous_ai = kpis.ai_kpis(tasks_now), kpis.ai_kpis(tasks_before)
    income = kpis.income(money, ai.cost_micros)
    total, note = kpis.reporting_total(
        income, settings.reporting_currency, kpis.parse_rates(settings.fx_rates)
    )
    return Overview(
        period=period.to_dict(), previous_period=before.to_dict(),
        money=money, previous_money=previous_money, ai=ai, previous_ai=previous_ai,
        income=income, previous_income=kpis.income(previous_money, previous_ai.cost_micros),
        reporting_total=total, reporting_note=note,
        series=_money_series(ledger_now, period.grain),
        ai_series=_ai_series(tasks_now, period.grain),
    )  # fmt: skip


def _cells(
    session: Session,
    source: Source,
    period: Period,
    keys: tuple[str, ...],
    grain: str | None = None,
) -> list[dict[str, Any]]:
    return cells(session, source, period.start, period.end, grain=grain, keys=keys)


def _agents(cells_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agents' tasks only: Governor's own system tasks are its cost of running, not AI's."""
    return [cell for cell in cells_ if cell["kind"] == "agent"]


def _money_series(cells_: list[dict[str, Any]], grain: str) -> list[SeriesPoint]:
    buckets: dict[tuple[Any, str], kpis.Totals] = defaultdict(kpis.totals)
    for cell in cells_:
        kpis.add_money(buckets[bucket_of(cell["bucket"], grain), cell["currency"]], cell)
    return [SeriesPoint(bucket=bucket, currency=currency, gross_revenue=m["gross_revenue"],
                        net_revenue=m["net_revenue"], cogs=m["cogs"])
            for (bucket, currency), m in sorted(buckets.items())]  # fmt: skip


def _ai_series(cells_: list[dict[str, Any]], grain: str) -> list[AiPoint]:
    buckets: dict[Any, kpis.Totals] = defaultdict(kpis.totals)
    for cell in cells_:
        kpis.add_ai(buckets[bucket_of(cell["bucket"], grain)], cell)
    return [AiPoint(bucket=bucket, cost_micros=a["cost_micros"], tasks=a["tasks"])
            for bucket, a in sorted(buckets.items())]  # fmt: skip


def revenue_by_offer(session: Session, period: Period) -> list[BreakdownRow]:
    """Revenue, costs and ROI per offer and currency, best net income first."""
    return _breakdown(session, period, "offer_id")


def revenue_by_idea(session: Session, period: Period) -> list[BreakdownRow]:
    """Revenue, costs and ROI per idea and currency, best net income first."""
    return _breakdown(session, period, "idea_id")


def _breakdown(session: Session, period: Period, key: str) -> list[BreakdownRow]:
    offers = {o.id: o for o in session.execute(sa.select(Offer)).scalars()}
    ideas = {i.id: i.title for i in session.execute(sa.select(Idea)).scalars()}

    def key_of(cell: dict[str, Any]) -> str:
        if key == "idea_id" and not cell["idea_id"] and cell["offer_id"] in offers:
            return offers[cell["offer_id"]].idea_id or NONE
        return str(cell[key])

    sums: dict[tuple[str, str], kpis.Totals] = defaultdict(kpis.totals)
    for cell in _cells(session, LEDGER, period, (*MONEY_KEYS, "offer_id", "idea_id")):
        kpis.add_money(sums[key_of(cell), cell["currency"]], cell)
    ai: dict[str, int] = defaultdict(int)
    for cell in _cells(session, TASKS, period, ("offer_id", "idea_id")):
        ai[key_of(cell)] += int(cell["cost_micros"])
    for name in ai:  # a row for the AI cost, even without money
        sums.setdefault((name, kpis.AI_CURRENCY), kpis.totals())
    rows = []
    for (name, currency), totals in sums.items():
        m = MoneyKpis(currency=currency, **totals)
        if not any((m.gross_revenue, m.net_revenue, m.cogs, m.orders)) and not ai.get(name):
            continue
        row = _row(name, currency, m, ai.get(name, 0))
        if key == "offer_id":
            offer = offers.get(name)
            row.label = offer.title if offer else (name or "(no offer)")
            row.idea_id = offer.idea_id if offer else None
            row.idea_label = ideas.get(row.idea_id or "")
        else:
            row.label = ideas.get(name, name or "(no idea)")
        rows.append(row)
    return sorted(rows, key=lambda r: (r.currency, -r.net_income, r.label))


def _row(key: str, currency: str, m: MoneyKpis, ai_micros: int) -> BreakdownRow:
    ai = kpis.micros_to_minor(ai_micros) if currency == kpis.AI_CURRENCY else 0
    net_income = m.net_revenue + m.cogs - ai
    return BreakdownRow(
        key=key, label=key, currency=currency, gross_revenue=m.gross_revenue, refunds=m.refunds,
        disputes=m.disputes, stripe_fees=m.stripe_fees, net_revenue=m.net_revenue, cogs=m.cogs,
        ai_cost_micros=ai_micros if currency == kpis.AI_CURRENCY else 0, net_income=net_income,
        roi=kpis.roi(net_income, ai - m.cogs), orders=m.orders,
    )  # fmt: skip


def costs_by_type(session: Session, period: Period) -> list[TaskCostRow]:
    """AI cost, tokens, failures and mean duration per task type, costliest first."""
    return _costs(session, period, ("type",), None)


def costs_by_model(
    session: Session, period: Period, *, type: str | None = None
) -> list[TaskCostRow]:
    """The same per task type and model; only one type's models when `type` is given."""
    return _costs(session, period, ("type", "ai_model"), type)


def _costs(
    session: Session, period: Period, by: tuple[str, ...], only_type: str | None
) -> list[TaskCostRow]:
    sums: dict[tuple[str, ...], kpis.Totals] = defaultdict(kpis.totals)
    for cell in _cells(session, TASKS, period, ("kind", "type", "ai_model", "status")):
        if cell["kind"] != "agent" or (only_type is not None and cell["type"] != only_type):
            continue
        kpis.add_ai(sums[tuple(str(cell[name]) for name in by)], cell)
    groups = {key: AiKpis(**totals) for key, totals in sums.items()}
    rows = [
        TaskCostRow(
            type=key[0], ai_model=(key[1] or None) if len(key) > 1 else None, tasks=a.tasks,
            failed=a.failed, cost_micros=a.cost_micros, tokens_in=a.tokens_in,
            tokens_out=a.tokens_out, avg_duration_ms=a.duration_ms // a.tasks if a.tasks else 0,
        )
        for key, a in groups.items()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (-r.cost_micros, r.type, r.ai_model or ""))


_LEDGER = table_of(LedgerEntry)
_TASKS = table_of(ExecutionTask)
_L, _T = _LEDGER.c, _TASKS.c


def ledger(
    session: Session,
    period: Period | None,
    filters: LedgerFilters = LedgerFilters(),
    *,
    kinds: Sequence[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> LedgerPage:
    """The ledger entries behind a figure, newest first, with the Stripe ids of each."""
    asked = given({"kind": list(kinds or []), **filters.asked()})
    where = _where(_L, asked)
    if period is not None:
        where += [_L.occurred_at >= period.start, _L.occurred_at < period.end]
    fields = [_L[name] for name in LedgerRow.model_fields]
    query = sa.select(*fields).where(*where).order_by(_L.occurred_at.desc(), _L.id.desc())
    rows = [
        LedgerRow(**row) for row in session.execute(query.limit(limit).offset(offset)).mappings()
    ]
    total = _rollup_total(session, LEDGER, period, asked, "entries")
    if total is None:
        total = session.execute(
            sa.select(sa.func.count()).select_from(_LEDGER).where(*where)
        ).scalar_one()
    return LedgerPage(rows=rows, total=total)


def tasks(
    session: Session,
    period: Period | None,
    filters: TaskFilters = TaskFilters(),
    *,
    limit: int = 100,
    offset: int = 0,
) -> TaskPage:
    """Tasks matching the filters; finished ones by finish time, newest first."""
    asked = filters.asked()
    where = _where(_T, {k: v for k, v in asked.items() if k != "ai_model"})
    if filters.ai_model is not None:
        model = filters.ai_model
        where.append(_T.ai_model == model if model else _T.ai_model.is_(None))
    unfinished = filters.status in UNFINISHED
    when = _T.created_at if unfinished else _T.finished_at
    if period is not None:
        where += [when >= period.start, when < period.end]
    order = [when.desc(), _T.id.desc()] if period is not None else [_T.created_at.desc()]
    fields = [_T[name] for name in TaskRow.model_fields]
    query = sa.select(*fields).where(*where).order_by(*order).limit(limit).offset(offset)
    rows = [TaskRow(**row) for row in session.execute(query).mappings()]
    total = None if unfinished else _rollup_total(session, TASKS, period, asked, "tasks")
    if total is None:
        total = session.execute(
            sa.select(sa.func.count()).select_from(_TASKS).where(*where)
        ).scalar_one()
    return TaskPage(rows=rows, total=total)


def _where(columns: Any, asked: dict[str, Any]) -> list[Any]:
    """SQL conditions for the filters; an idea's rows also include those that name no idea but
    one of its offers (as the breakdown by idea counts them)."""
    conditions = []
    for name, value in asked.items():
        if name == "idea_id":
            offers = sa.select(Offer.id).where(Offer.idea_id == value)
            conditions.append(sa.or_(columns.idea_id == value, sa.and_(
                columns.idea_id.is_(None), columns.offer_id.in_(offers))))  # fmt: skip
        elif isinstance(value, list):
            conditions.append(columns[name].in_(value))
        else:
            conditions.append(columns[name] == value)
    return conditions


def _rollup_total(
    session: Session, source: Source, period: Period | None, asked: dict[str, Any], field: str
) -> int | None:
    """How many rows match, from the rollups, when a period is given and every filter is one
    of their keys (a drill-down's count then costs no scan); None otherwise."""
    if period is None or not set(asked) <= set(source.keys):
        return None
    wanted = {name: value if isinstance(value, list) else [value] for name, value in asked.items()}
    idea = wanted.pop("idea_id", [None])[0]
    keys = (*wanted, "offer_id", "idea_id") if idea else (*wanted, *source.keys[:1])
    found = _cells(session, source, period, tuple(dict.fromkeys(keys)))
    offers = set(session.scalars(sa.select(Offer.id).where(Offer.idea_id == idea))) if idea else ()

    def of_idea(cell: dict[str, Any]) -> bool:
        return cell["idea_id"] == idea or (cell["idea_id"] == NONE and cell["offer_id"] in offers)

    return sum(int(cell[field]) for cell in found
               if all(cell[name] in values for name, values in wanted.items())
               and (idea is None or of_idea(cell)))  # fmt: skip


def task_counts(session: Session, period: Period) -> dict[str, int]:
    """How many tasks are in each status: those that finished in the period (from the
    rollups), and those not finished yet."""
    counts: dict[str, int] = defaultdict(int)
    for cell in cells(session, TASKS, period.start, period.end, grain=None, keys=("status",)):
        counts[cell["status"]] += int(cell["tasks"])
    unfinished = session.execute(  # few rows, found through the finished_at index
        sa.select(_T.status, sa.func.count()).where(_T.finished_at.is_(None)).group_by(_T.status)
    )
    for status, count in unfinished:
        counts[status] += count
    return dict(counts)
