"""Tasks: the filtered list, and one task with its error, its links and its span waterfall."""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governor.analytics import service as analytics
from governor.analytics.filters import TaskFilters
from governor.analytics.period import parse_period
from governor.storage.db import session_scope
from governor.tasks.service import STATUSES, get_task
from governor.tracing.waterfall import waterfall
from governor.web.pages.context import PageRoute, period_from, period_params, picker, respond
from governor.web.pages.tables import (
    Column,
    Pager,
    Table,
    choice_param,
    link,
    page_window,
    text_param,
)

router = APIRouter(route_class=PageRoute)

KINDS = ("agent", "system")
NO_MODEL = "-"
"""The `ai_model` filter value that means "tasks that used no model"."""


def task_href(row: Any) -> str:
    return f"/tasks/{row.id}"


def model_filter(value: str | None) -> str | None:
    """The service's ai_model argument for a filter value ("" is: no model)."""
    return "" if value == NO_MODEL else value


def task_columns() -> list[Column]:
    """The columns of a task list (shared with the offer and order pages)."""
    return [
        Column("id", "Task", "id", href=task_href),
        Column("type", "Type", href=lambda r: link("/tasks", type=r.type)),
        Column("status", "Status", "status"),
        Column("ai_model", "Model"),
        Column("kind", "Kind", html=False),
        Column("created_at", "Created", "datetime"),
        Column("finished_at", "Finished", "datetime"),
        Column("duration_ms", "Duration", "duration"),
        Column("cost_micros", "Cost", "micros"),
        Column("tokens_in", "Tokens in", "int"),
        Column("tokens_out", "Tokens out", "int"),
        Column("attempts", "Attempts", "int", html=False),
        Column("error", "Error", html=False),
        Column("idea_id", "Idea", html=False),
        Column("offer_id", "Offer", html=False),
        Column("order_id", "Order", html=False),
    ]


@router.get("/tasks")
def tasks_page(request: Request) -> Response:
    """Tasks filtered by type, model, status, kind and period, newest first."""
    period = period_from(request, optional=True)
    filters = {
        "type": text_param(request, "type"),
        "ai_model": text_param(request, "ai_model"),
        "status": choice_param(request, "status", STATUSES),
        "kind": choice_param(request, "kind", KINDS),
        "idea_id": text_param(request, "idea_id"),
        "offer_id": text_param(request, "offer_id"),
        "order_id": text_param(request, "order_id"),
    }
    limit, offset = page_window(request)
    with session_scope(readonly=True) as session:
        asked = TaskFilters(**{**filters, "ai_model": model_filter(filters["ai_model"])})
        page = analytics.tasks(session, period, asked, limit=limit, offset=offset)
        known = analytics.costs_by_model(session, period or parse_period(range="90d"))
        table = Table(
            "tasks", task_columns(), page.rows, title="Tasks",
            pager=Pager(page.total, limit, offset),
            empty="No task matches these filters.",
            note="Finished tasks by finish time within the period."
            if period is not None and filters["status"] not in ("pending", "running") else "",
        )  # fmt: skip
        context = {
            "table": table,
            "filters": filters,
            "statuses": STATUSES,
            "kinds": KINDS,
            "types": sorted({r.type for r in known}),
            "models": sorted({r.ai_model for r in known if r.ai_model}),
            "no_model": NO_MODEL,
            "picker": picker(request, period, optional=True),
            "period_query": period_params(period),
        }
        return respond(request, "tasks.html", context, section="tasks", tables=[table],
                       stem="tasks", session=session, title="Tasks")  # fmt: skip


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str) -> Response:
    """One task: its fields, error and traceback, what it belongs to, and its spans."""
    with session_scope(readonly=True) as session:
        task = get_task(session, task_id)
        fall = waterfall(session, task_id)
        spans = Table(
            "spans",
            [
                Column("span_id", "Span", "code"),
                Column("parent_span_id", "Parent", "code"),
                Column("kind", "Kind"),
                Column("name", "Name"),
                Column("label", "Detail"),
                Column("started_at", "Started", "datetime"),
                Column("offset_us", "Offset µs", "int"),
                Column("duration_us", "Duration µs", "int"),
                Column("calls", "Calls", "int"),
                Column("attributes", "Attributes", get=lambda s: json.dumps(s.attributes)),
            ],
            fall.spans,
            title="Spans",
        )
        context = {
            "task": task,
            "fall": fall,
            "input_json": _pretty(task.input),
            "output_json": _pretty(task.output),
        }
        return respond(request, "task.html", context, section="tasks", tables=[spans],
                       stem=f"task-{task_id}", session=session,
                       title=f"Task {task_id}")  # fmt: skip


def _pretty(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
