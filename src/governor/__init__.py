"""Governor: the control plane of an autonomous AI business.

The API for agents' code: `@governor.task(...)` registers a handler, `governor.submit(...)`
records a task, `governor.record_llm_usage(...)` reports a model call of the running task.
"""

from typing import Any

from governor.tasks.registry import task
from governor.tasks.usage import record_llm_usage

__version__ = "0.1.0"
__all__ = ["record_llm_usage", "submit", "task"]


def submit(type: str, input: Any = None, **options: Any) -> str:
    """Record a pending task in the configured database; return its id."""
    from governor.storage.db import session_scope
    from governor.tasks import service

    with session_scope() as session:
        return service.submit(session, type, input, **options)
