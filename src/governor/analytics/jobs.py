"""Analytics' system task: fold the days that changed into the daily rollups."""

from governor.analytics import rollups
from governor.storage.db import session_scope
from governor.tasks.context import TaskContext
from governor.tasks.schedule import system_task


@system_task("analytics.refresh", every="1m", max_attempts=3, concurrency=1)
def refresh(ctx: TaskContext) -> dict[str, int]:
    """Recompute the rollup days that changed since the last run."""
    with session_scope() as session:
        return rollups.refresh(session)
