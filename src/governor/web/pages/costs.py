"""AI costs: by task type, and one type's models, each linked to the tasks that make them up."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governor.analytics import service as analytics
from governor.analytics.period import Period
from governor.analytics.schemas import TaskCostRow
from governor.storage.db import session_scope
from governor.web.pages.charts import ranking
from governor.web.pages.context import PageRoute, period_from, picker, respond
from governor.web.pages.tables import Column, Table, link, script_json, usd_micros, value_of
from governor.web.pages.tasks import NO_MODEL

router = APIRouter(route_class=PageRoute)

_SUMMED = ("tasks", "failed", "cost_micros", "tokens_in", "tokens_out")
CHART_ROWS = 12


def per_task(row: Any) -> int | None:
    """Mean AI cost of one task of a row."""
    tasks = value_of(row, "tasks")
    return value_of(row, "cost_micros") // tasks if tasks else None


def failure_rate(row: Any) -> float | None:
    """Share of a row's tasks that failed."""
    tasks = value_of(row, "tasks")
    return value_of(row, "failed") / tasks if tasks else None


def total(rows: Sequence[TaskCostRow], label: str) -> list[dict[str, Any]]:
    """The total row of a cost table."""
    if not rows:
        return []
    sums = {name: sum(getattr(r, name) for r in rows) for name in _SUMMED}
    weighted = sum(r.avg_duration_ms * r.tasks for r in rows)
    mean = weighted // sums["tasks"] if sums["tasks"] else 0
    return [{"type": label, "ai_model": None, **sums, "avg_duration_ms": mean}]


def cost_columns(period: Period, *, by_model: bool) -> list[Column]:
    """Tasks, failures, cost, tokens and duration; clicks go one level down."""
    q = period.query()

    def tasks_href(**extra: Any) -> Any:
        def href(r: Any) -> str | None:
            model = (r.ai_model or NO_MODEL) if by_model else None
            return link("/tasks", type=r.type, ai_model=model, kind="agent", **extra, **q)

        return href

    def down(r: Any) -> str | None:
        return tasks_href()(r) if by_model else link(f"/costs/{r.type}", **q)

    first = [
        Column("type", "Task type", href=lambda r: link(f"/costs/{r.type}", **q)),
    ]  # fmt: skip
    if by_model:
        first.append(Column("ai_model", "Model", href=down,
                            get=lambda r: r["ai_model"] if isinstance(r, dict)
                            else r.ai_model or "(no model)"))  # fmt: skip
    return [
        *first,
        Column("tasks", "Tasks", "int", href=tasks_href()),
        Column("failed", "Failed", "int", href=tasks_href(status="failed")),
        Column("failure_rate", "Failure rate", "percent", get=failure_rate),
        Column("cost_micros", "AI cost", "micros", href=down),
        Column("cost_per_task", "Per task", "micros", get=per_task),
        Column("tokens_in", "Tokens in", "int"),
        Column("tokens_out", "Tokens out", "int"),
        Column("avg_duration_ms", "Mean duration", "duration"),
    ]


def cost_chart(rows: Sequence[TaskCostRow], urls: list[str], labels: list[str]) -> str | None:
    """A ranking of the costliest rows as plotly JSON, or None without cost."""
    shown = [(r, u, lbl) for r, u, lbl in zip(rows, urls, labels, strict=True)
             if r.cost_micros > 0][:CHART_ROWS]  # fmt: skip
    if not shown:
        return None
    figure = ranking(
        [lbl for _, _, lbl in shown], [r.cost_micros / 1_000_000 for r, _, _ in shown],
        [usd_micros(r.cost_micros) for r, _, _ in shown], [u for _, u, _ in shown], "#f59e0b",
    )  # fmt: skip
    return script_json(figure)


@router.get("/costs")
def costs_page(request: Request) -> Response:
    """AI cost per task type and per type and model, over the period."""
    period = period_from(request)
    assert period is not None
    q = period.query()
    with session_scope(readonly=True) as session:
        by_type = analytics.costs_by_type(session, period)
        by_model = analytics.costs_by_model(session, period)
        tables = [
            Table("types", cost_columns(period, by_model=False), by_type, title="By task type",
                  totals=total(by_type, "Total"), empty="No agent task finished in this period."),
            Table("models", cost_columns(period, by_model=True), by_model,
                  title="By task type and model", totals=total(by_model, "Total"),
                  empty="No agent task finished in this period."),
        ]  # fmt: skip
        chart = cost_chart(by_type, [link(f"/costs/{r.type}", **q) for r in by_type],
                           [r.type for r in by_type])  # fmt: skip
        context = {"tables": tables, "picker": picker(request, period), "chart": chart,
                   "heading": "Costs", "type": None}  # fmt: skip
        return respond(request, "costs.html", context, section="costs", tables=tables,
                       stem="costs", session=session, title="Costs")  # fmt: skip


@router.get("/costs/{task_type}")
def type_costs_page(request: Request, task_type: str) -> Response:
    """One task type's cost per model; each model links to its tasks."""
    period = period_from(request)
    assert period is not None
    q = period.query()
    with session_scope(readonly=True) as session:
        rows = analytics.costs_by_model(session, period, type=task_type)
        table = Table("models", cost_columns(period, by_model=True), rows,
                      title=f"{task_type} by model", totals=total(rows, "Total"),
                      empty=f"No {task_type} task finished in this period.")  # fmt: skip
        urls = [link("/tasks", type=task_type, ai_model=r.ai_model or NO_MODEL, kind="agent", **q)
                for r in rows]  # fmt: skip
        chart = cost_chart(rows, urls, [r.ai_model or "(no model)" for r in rows])
        context = {"tables": [table], "picker": picker(request, period), "chart": chart,
                   "heading": task_type, "type": task_type,
                   "all_tasks": link("/tasks", type=task_type, **q)}  # fmt: skip
        return respond(request, "costs.html", context, section="costs", tables=[table],
                       stem=f"costs-{task_type}", session=session,
                       title=f"Costs · {task_type}")  # fmt: skip
