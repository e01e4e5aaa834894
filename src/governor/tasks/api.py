"""`governor.submit`: record a task from agents' code, in its own unit of work."""

from typing import Any

from governor.storage.db import session_scope
from governor.tasks import service


def submit(type: str, input: Any = None, **options: Any) -> str:
    """Record a pending task in the configured database; return its id (see service.submit)."""
    with session_scope() as session:
        return service.submit(session, type, input, **options)
