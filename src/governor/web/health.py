"""The schema verdict the web pages show, re-checked at most every few seconds."""

import threading
import time
from typing import Any

from sqlalchemy.engine import Engine

from governor.errors import DatabaseUnreachable
from governor.storage.guard import check_schema


class HealthProbe:
    """Runs the schema guard and keeps its answer for `max_age` seconds."""

    def __init__(self, engine: Engine, max_age: float) -> None:
        self._engine = engine
        self._max_age = max_age
        self._lock = threading.Lock()
        self._answer: dict[str, Any] | None = None
        self._at = 0.0

    def _measure(self) -> dict[str, Any]:
        try:
            report = check_schema(self._engine)
        except DatabaseUnreachable as error:
            return {"verdict": "unreachable", "message": error.message, "problems": []}
        return report.to_dict()

    def schema(self) -> dict[str, Any]:
        """The latest schema report as JSON-ready data."""
        with self._lock:
            if self._answer is None or time.monotonic() - self._at >= self._max_age:
                self._answer, self._at = self._measure(), time.monotonic()
            return self._answer
