"""Group commit: many threads' small writes gathered into shared transactions by one thread.

Each caller hands over an item and gets a Future; the writer takes whatever arrived while the
previous transaction ran (waiting `linger` seconds for more), writes it all in one
transaction and resolves every Future with its own result, or with the transaction's error.
"""

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.storage.db import session_scope

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`submit(item)` → Future of the result `write(session, items)` gave for that item."""

    def __init__(
        self,
        engine: Engine,
        write: Callable[[Session, Sequence[Item]], Sequence[Result]],
        *,
        linger: float = 0.002,
        name: str = "governor-group-commit",
    ) -> None:
        self.engine, self.write, self.linger, self.name = engine, write, linger, name
        self._queue: queue.SimpleQueue[tuple[Item, Future[Result]]] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, item: Item) -> "Future[Result]":
        """Queue one item for the next transaction (the writer starts with the first item)."""
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._serve, name=self.name,
                                                    daemon=True)  # fmt: skip
                    self._writer.start()
        done: Future[Result] = Future()
        self._queue.put((item, done))
        return done

    def _serve(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + self.linger
            while (left := deadline - time.monotonic()) > 0:
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            try:
                with session_scope(self.engine) as session:
                    results = self.write(session, [item for item, _ in batch])
            except Exception as error:  # every caller learns of the failure; none hangs
                for _, done in batch:
                    done.set_exception(error)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                done.set_result(result)
