"""Revenue's system tasks: handle the webhook inbox, sync with Stripe, reconcile daily."""

from datetime import datetime, timedelta
from typing import Any

from governor.config import get_settings
from governor.errors import BadInput
from governor.models.types import utcnow
from governor.revenue import service
from governor.revenue.reconcile import Window
from governor.revenue.stripe_api import is_configured
from governor.revenue.webhook import PROCESS_TYPE
from governor.storage.db import get_engine
from governor.tasks.context import TaskContext
from governor.tasks.schedule import parse_period, system_task


@system_task(PROCESS_TYPE, every="1m", max_attempts=5, concurrency=1)
def process_events(ctx: TaskContext) -> dict[str, int]:
    """Handle every due Stripe event (new ones, and failed ones whose retry time came)."""
    return service.process_inbox(get_engine(), get_settings()).to_dict()


@system_task("revenue.sync", every="1h", timeout=3600, concurrency=1)
def sync(ctx: TaskContext) -> dict[str, Any]:
    """Pull what webhooks may have missed, and every balance transaction (fees arrive late)."""
    settings = get_settings()
    if not is_configured(settings):
        return {"skipped": "no GOVERNOR_STRIPE_API_KEY: the ledger relies on webhooks"}
    from governor.revenue import sync as stripe_sync

    with service.stripe_api(settings) as client:
        assert client is not None
        stored = stripe_sync.run(get_engine(), client)
    return {"stored": stored, "handled": service.process_inbox(get_engine(), settings).to_dict()}


@system_task("revenue.reconcile", every=lambda s: s.reconcile_every, timeout=3600, concurrency=1)
def reconcile(ctx: TaskContext) -> dict[str, Any]:
    """Reconcile the two periods before this run (late fees and payouts settle meanwhile)."""
    settings = get_settings()
    scheduled = (ctx.input or {}).get("scheduled_for")
    end = datetime.fromisoformat(scheduled) if scheduled else utcnow()
    period = parse_period(settings.reconcile_every, "GOVERNOR_RECONCILE_EVERY")
    window = Window(end - 2 * max(period, timedelta(days=1)), end)
    try:
        outcome = service.reconcile_window(get_engine(), settings, window, task_id=ctx.task_id)
    except BadInput as nothing_to_compare:  # no API key and no report covers the window
        return {"skipped": nothing_to_compare.message}
    return {"run_id": outcome.run_id, "counts": outcome.counts}
