"""What a handler receives: its task's id, attempt, input, idempotency key and a logger."""

import logging
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskContext:
    """The running attempt of one task, as its handler sees it."""

    task_id: str
    type: str
    attempt: int
    input: Any
    idempotency_key: str | None
    logger: logging.Logger
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancelled(self) -> bool:
        """True once someone asked this task to stop; long sync handlers should check it."""
        return self._cancel.is_set()

    def request_cancel(self) -> None:
        self._cancel.set()
