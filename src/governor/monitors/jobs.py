"""Monitors' system task: evaluate the watched series' new buckets on a schedule."""

from governor.config import get_settings
from governor.monitors.evaluate import evaluate
from governor.storage.db import get_engine
from governor.tasks.context import TaskContext
from governor.tasks.schedule import system_task


@system_task("monitors.evaluate", every=lambda s: s.monitor_every, timeout=900, concurrency=1)
def evaluate_series(ctx: TaskContext) -> dict[str, int]:
    """Feed every watched series' detector the buckets that closed since the last run."""
    settings = get_settings()
    return evaluate(get_engine(), threshold=settings.anomaly_threshold).to_dict()
