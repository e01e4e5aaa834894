"""The fulfilment queue (waiting, failing, action-required, over SLA) and providers' health."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governor.config import get_settings
from governor.offers import fulfilment_queue, provider_health
from governor.offers.fulfilment_queue import QueueItem
from governor.offers.provider_health import ProviderHealth
from governor.storage.db import session_scope
from governor.web.pages.context import PageRoute, respond
from governor.web.pages.tables import (
    Column,
    Table,
    choice_param,
    cut,
    link,
    page_window,
    text_param,
)

router = APIRouter(route_class=PageRoute)

STATE_LABELS = {"waiting": "Waiting", "failing": "Failing", "action_required": "Action required",
                "over_sla": "Over SLA"}  # fmt: skip


def queue_columns() -> list[Column]:
    """The columns of the queue: the order, its offer, the open step and how it goes."""
    return [
        Column("order_id", "Order", "id", href=lambda r: f"/orders/{r.order_id}"),
        Column("offer_title", "Offer", wrap=True, href=lambda r: f"/offers/{r.offer_id}"),
        Column("offer_id", "Offer id", "code", html=False),
        Column("step", "Step", get=lambda r: r.step or "(not started)"),
        Column("provider", "Provider",
               href=lambda r: link("/fulfilment", provider=r.provider) if r.provider else None),
        Column("state", "State", "status"),
        Column("age", "Age", "duration",
               get=lambda r: None if r.age_seconds is None else r.age_seconds * 1000),
        Column("over_sla", "Over SLA", get=lambda r: "yes" if r.over_sla else "no"),
        Column("attempts", "Attempts", "int"),
        Column("throttled", "429s", "int"),
        Column("last_error", "Last error", wrap=True),
        Column("paid_at", "Paid", "datetime"),
        Column("task_id", "Task", "id", href=lambda r: f"/tasks/{r.task_id}"),
    ]  # fmt: skip


def provider_columns() -> list[Column]:
    """The columns of the providers' health."""
    return [
        Column("provider", "Provider", href=lambda r: link("/fulfilment", provider=r.provider)),
        Column("open_steps", "Open steps", "int"),
        Column("done_steps", "Done in the hour", "int"),
        Column("calls", "Calls", "int"),
        Column("errors", "Errors", "int"),
        Column("error_rate", "Error rate", "percent"),
        Column("responses_429", "429s", "int"),
        Column("retried_calls", "Retried", "int"),
        Column("breaker", "Breaker", "status"),
    ]


@router.get("/fulfilment")
def fulfilment_page(request: Request) -> Response:
    """The queue, filtered by state, provider and offer, beside each provider's last hour."""
    state = choice_param(request, "state", fulfilment_queue.QUEUE_STATES)
    provider = text_param(request, "provider", max_length=64)
    offer_id = text_param(request, "offer_id", max_length=40)
    limit, offset = page_window(request)
    with session_scope(readonly=True) as session:
        rows, pager = cut(fulfilment_queue.queue(session, state=state, provider=provider,
                                                 offer_id=offer_id, limit=limit + 1,
                                                 offset=offset), limit, offset)  # fmt: skip
        counts = fulfilment_queue.counts(session, provider=provider, offer_id=offer_id)
        health = provider_health.health(session, get_settings())
        names = sorted({h.provider for h in health} | ({provider} if provider else set()))
        shown = counts.total if state is None else getattr(counts, state)
        queue = Table("queue", queue_columns(), rows, title="Queue", pager=pager, total=shown,
                      row_class=_row_class, empty=_empty(state, provider),
                      note="Oldest paid first; one row per open step; a red edge marks an order "
                      "past its offer's SLA.")  # fmt: skip
        providers = Table("providers", provider_columns(), health,
                          title="Providers in the last hour", row_class=_provider_class,
                          empty="No open step, and no step or call in the last hour.",
                          note="Calls and errors from the outside-call records to the "
                          "provider's host; the breaker as those calls leave it; 429s counted "
                          "by the steps open or made in the hour.")  # fmt: skip
        context = {"queue": queue, "providers": providers, "cards": _cards(counts, provider,
                   offer_id, state), "state": state, "provider": provider, "offer_id": offer_id,
                   "states": STATE_LABELS, "provider_names": names}  # fmt: skip
        return respond(request, "fulfilment.html", context, section="fulfilment",
                       tables=[queue, providers], stem="fulfilment", session=session,
                       title="Fulfilment")  # fmt: skip


def _cards(counts: fulfilment_queue.QueueCounts, provider: str | None, offer_id: str | None,
           state: str | None) -> list[dict[str, Any]]:  # fmt: skip
    """A card per state (and all), each a link to the queue filtered by it."""
    cards = [{"key": "all", "label": "All open", "value": counts.total, "on": state is None,
              "href": link("/fulfilment", provider=provider, offer_id=offer_id)}]  # fmt: skip
    for key, label in STATE_LABELS.items():
        cards.append({"key": key, "label": label, "value": getattr(counts, key),
                      "on": state == key, "tone": "neg" if key != "waiting" and
                      getattr(counts, key) else "",
                      "href": link("/fulfilment", state=key, provider=provider,
                                   offer_id=offer_id)})  # fmt: skip
    return cards


def _row_class(row: QueueItem) -> str:
    return "late" if row.over_sla else ""


def _provider_class(row: ProviderHealth) -> str:
    return "late" if row.breaker in ("open", "half-open") else ""


def _empty(state: str | None, provider: str | None) -> str:
    if state is None and provider is None:
        return "Every paid order is fulfilled."
    what = STATE_LABELS[state].lower() if state else "open"
    return f"No {what} step" + (f" of provider {provider}." if provider else ".")
