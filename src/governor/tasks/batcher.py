"""Group commit for a worker process: its threads' take-overs and results in shared transactions.

A Celery worker runs many attempts at once, each needing two small writes (taking the attempt
over, recording its end). Written one by one they cost a transaction each; this thread gathers
whatever the other threads asked for while the previous transaction ran, and writes it together.
"""

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from governor.storage.db import session_scope
from governor.tasks import leases
from governor.tracing.context import untraced

LINGER_S = 0.002
"""How long a transaction waits for more requests to join it: a little latency, fewer commits."""


@dataclass
class _Request:
    takes: list[tuple[str, int]] = field(default_factory=list)
    outcomes: list[leases.Outcome] = field(default_factory=list)
    done: "Future[list[Any]]" = field(default_factory=Future)


class Batcher:
    """Runs take-overs and records of many threads in shared transactions."""

    def __init__(self, engine: Engine, owner: str, lease_s: float) -> None:
        self.engine, self.owner, self.lease_s = engine, owner, lease_s
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="governor-batcher", daemon=True).start()

    def take_over(self, attempts: list[tuple[str, int]]) -> list[leases.Claimed]:
        """Take dispatched attempts (task id, attempt) over; stale ones are left out."""
        request = _Request(takes=attempts)
        self._queue.put(request)
        return [claimed for claimed in request.done.result() if claimed is not None]

    def record(self, outcomes: list[leases.Outcome]) -> list[str]:
        """Record how attempts ended; the status written for each ('' if the lease was lost)."""
        request = _Request(outcomes=outcomes)
        self._queue.put(request)
        return [str(status) for status in request.done.result()]

    def _serve(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + LINGER_S
            while (left := deadline - time.monotonic()) > 0:
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            try:
                results = self._write(batch)
            except Exception as error:  # every caller learns of the failure; none hangs
                for request in batch:
                    request.done.set_exception(error)
                continue
            for request, result in zip(batch, results, strict=True):
                request.done.set_result(result)

    def _write(self, batch: list[_Request]) -> list[list[Any]]:
        takes = [take for r in batch for take in r.takes]
        outcomes = [outcome for r in batch for outcome in r.outcomes]
        with untraced(), session_scope(self.engine) as session:
            claimed = leases.take_over(session, takes, self.owner, self.lease_s) if takes else {}
            written = iter(leases.record(session, self.owner, outcomes))
        return [
            [claimed.get(task_id) for task_id, _ in r.takes] + [next(written) for _ in r.outcomes]
            for r in batch
        ]
