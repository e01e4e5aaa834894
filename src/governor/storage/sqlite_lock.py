"""One writer at a time inside a process, queued on a Python lock rather than SQLite's busy wait.

SQLite lets one transaction write at a time. A writer that finds the lock taken sleeps in
SQLite's busy handler in growing steps (1, 2, 5, 10 … 100 ms) and polls again, so under load
writers wait far longer than the lock is held and short writes (a webhook's insert) wait for
seconds. Threads of one process instead queue on this lock and are woken the moment the writer
before them commits. Writers in other processes still meet SQLite's busy_timeout.
"""

import threading
from collections import deque
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

HELD = "governor_writer_lock"


class WriterLock:
    """Taken by the BEGIN of a write transaction, let go when it ends however it ends.

    First come, first served: a writer that just let go queues behind those already waiting,
    so a long run of transactions (the inbox's handler) cannot starve a short one (a webhook).
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Event] = deque()

    def take(self, info: dict[str, Any]) -> None:
        """Wait for the lock (at most `timeout_s`; then SQLite's own waiting decides)."""
        with self._guard:
            if not self._held and not self._waiting:
                self._held = True
                info[HELD] = True
                return
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(self.timeout_s):
            info[HELD] = True
            return
        with self._guard:  # gave up waiting; the lock may have been handed over meanwhile
            if turn.is_set():
                self._hand_over()
            else:
                self._waiting.remove(turn)

    def let_go(self, info: dict[str, Any]) -> None:
        """Release the lock if this connection holds it, to the longest waiting writer."""
        if info.pop(HELD, False):
            with self._guard:
                self._hand_over()

    def _hand_over(self) -> None:
        if self._waiting:
            self._waiting.popleft().set()  # stays held: ownership passes to that writer
        else:
            self._held = False

    def listen(self, engine: Engine) -> None:
        """Let go at commit and rollback, and when a connection returns to the pool or dies."""
        event.listen(engine, "commit", lambda conn: self.let_go(conn.info))
        event.listen(engine, "rollback", lambda conn: self.let_go(conn.info))
        event.listen(engine.pool, "reset", lambda _dbapi, record, _state: self.let_go(record.info))
        event.listen(engine.pool, "close", lambda _dbapi, record: self.let_go(record.info))
        event.listen(
            engine.pool, "invalidate", lambda _dbapi, record, _error: self.let_go(record.info)
        )
