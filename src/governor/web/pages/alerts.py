"""Alerts: open, acknowledged or resolved, most recently seen first, with their details."""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from governor.alerts.message import severity_word
from governor.alerts.service import acknowledge, list_alerts, resolve
from governor.errors import NotFound
from governor.storage.db import session_scope
from governor.web.pages.context import PageRoute, respond
from governor.web.pages.tables import CSV_LIMIT, Column, Table, choice_param, wants_csv

router = APIRouter(route_class=PageRoute)

STATUSES = ("open", "acknowledged", "resolved")
PAGE_LIMIT = 200
DETAIL_LINKS = {"order_id": "/orders/", "offer_id": "/offers/", "idea_id": "/ideas/",
                "task_id": "/tasks/"}  # fmt: skip


def detail_items(details: Any) -> list[tuple[str, str, str | None]]:
    """An alert's details as (key, text, link) for the page."""
    if not isinstance(details, dict):
        return [] if details is None else [("details", str(details), None)]
    items = []
    for key, value in details.items():
        href = DETAIL_LINKS[key] + str(value) if key in DETAIL_LINKS and value else None
        if key == "drilldown" and isinstance(value, str) and value.startswith("/"):
            href = value
        items.append((str(key), "—" if value is None else str(value), href))
    return items


@router.get("/alerts")
def alerts_page(request: Request) -> Response:
    """Alerts in one status (open by default, `status=all` for every one)."""
    raw = choice_param(request, "status", (*STATUSES, "all")) or "open"
    status = None if raw == "all" else raw
    limit = CSV_LIMIT if wants_csv(request) else PAGE_LIMIT
    with session_scope(readonly=True) as session:
        alerts = list_alerts(session, status=status, limit=limit)
        table = Table(
            "alerts",
            [
                Column("id", "Alert", "code", html=False),
                Column("severity", "Severity", "int"),
                Column("kind", "Kind"),
                Column("title", "Title", wrap=True),
                Column("status", "Status", "status"),
                Column("count", "Seen", "int"),
                Column("first_seen", "First seen", "datetime"),
                Column("last_seen", "Last seen", "datetime"),
                Column("details", "Details", get=lambda a: _json(a.details), html=False),
            ],
            alerts,
            title=f"{raw.capitalize()} alerts" if raw != "all" else "All alerts",
            empty="No alerts here." if raw != "open" else "No open alerts: all quiet.",
        )
        context = {
            "table": table,
            "alerts": alerts,
            "current": raw,
            "tabs": [*STATUSES, "all"],
            "severity_label": severity_word,
            "detail_items": detail_items,
            "limit": limit,
        }
        return respond(request, "alerts.html", context, section="alerts", tables=[table],
                       stem="alerts", session=session, title="Alerts")  # fmt: skip


@router.post("/alerts/{alert_id}/{action}")
def change_alert(request: Request, alert_id: str, action: str) -> Response:
    """Acknowledge or resolve an alert from its card (CSRF-checked like every form)."""
    change = {"ack": acknowledge, "resolve": resolve}.get(action)
    if change is None:
        raise NotFound(f"No alert action {action!r}.", hint="Use ack or resolve.")
    user = getattr(request.state, "user", None)
    with session_scope() as session:
        change(session, alert_id, getattr(user, "name", None) or "dashboard")
    return RedirectResponse("/alerts", status_code=303)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)
