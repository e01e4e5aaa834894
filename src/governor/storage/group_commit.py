"""Group commit: many threads' small writes gathered into shared transactions by one thread.

Each caller hands over an item and gets a Future; the writer takes whatever arrived while the
previous transaction ran (waiting `linger` seconds for more), writes it all in one
transaction and resolves every Future with its own result.

One caller's bad item must not fail the others: when a transaction fails, its items are
written again in two halves, and so on, so that only the items that fail alone get the error
(k bad items among n cost about 2·k·log2(n/k) extra transactions). A fault of the database
itself (read-only, full, gone) fails every item at once: no item is to blame, and retrying
each would only repeat the same error.
"""

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.errors import DatabaseUnreachable, DatabaseUnwritable
from governor.storage.db import session_scope

Item = TypeVar("Item")
Result = TypeVar("Result")

_DATABASE_FAULTS = (DatabaseUnwritable, DatabaseUnreachable)


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
            # A Future cancelled meanwhile is left out; the others cannot be cancelled any more.
            self._commit([(item, done) for item, done in batch
                          if done.set_running_or_notify_cancel()])  # fmt: skip

    def _commit(self, batch: "list[tuple[Item, Future[Result]]]") -> None:
        """Write the items in one transaction; on failure, each half again, down to one item."""
        if not batch:
            return
        try:
            with session_scope(self.engine) as session:
                results = self.write(session, [item for item, _ in batch])
                answers = list(zip(batch, results, strict=True))
        except Exception as error:
            if len(batch) == 1 or isinstance(error, _DATABASE_FAULTS):
                for _, done in batch:  # every caller learns of the failure; none hangs
                    done.set_exception(error)
                return
            middle = len(batch) // 2
            self._commit(batch[:middle])
            self._commit(batch[middle:])
            return
        for (_, done), result in answers:
            done.set_result(result)
