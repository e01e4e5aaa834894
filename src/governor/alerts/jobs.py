"""Alerts' system task: send the alerts people have not been told of yet, every minute."""

from typing import Any

from governor.alerts.delivery import deliver_pending
from governor.config import get_settings
from governor.storage.db import get_engine
from governor.tasks.context import TaskContext
from governor.tasks.schedule import system_task


@system_task("alerts.deliver", every="1m", concurrency=1)
def deliver(ctx: TaskContext) -> dict[str, Any]:
    """Send new alerts, and those whose severity grew, to every GOVERNOR_ALERT_URLS destination."""
    return deliver_pending(get_engine(), get_settings()).to_dict()
