"""One claimed attempt, run the same way by every executor: context, usage, trace, lease, result."""

import asyncio
import contextvars
import json
import logging
import os
import socket
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from governor.ids import new_id
from governor.models.types import utcnow
from governor.storage.db import session_scope
from governor.tasks import leases, registry
from governor.tasks.context import TaskContext
from governor.tasks.outage import Outage
from governor.tasks.usage import UsageTotals, collect_usage
from governor.tracing.context import task_trace, untraced

log = logging.getLogger("governor.tasks")


def worker_name(kind: str) -> str:
    """A lease owner name that says which machine and process holds a task."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"


@dataclass
class Runner:
    """Runs attempts for one lease owner; sync handlers go to its thread pool."""

    engine: Engine
    owner: str
    lease_s: float = 30.0
    threads: int = 16
    _pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="task")
        self._renewals = Outage("renewing task leases", log)
        self._in_threads = 0  # sync handlers running in the pool now
        self._counting = threading.Lock()

    async def db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run `fn(session, …)` in its own unit of work, off the event loop."""

        def unit() -> Any:
            with untraced(), session_scope(self.engine) as session:
                return fn(session, *args, **kwargs)

        return await asyncio.to_thread(unit)

    def _start(self, spec: registry.TaskSpec, context: TaskContext) -> "asyncio.Future[Any]":
        if spec.is_async:
            return asyncio.ensure_future(spec.handler(context))
        run_in_context = contextvars.copy_context().run  # usage and spans follow into the thread
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(
            self._pool, self._counted, run_in_context, spec.handler, context
        )

    def _counted(self, run: Any, handler: registry.Handler, context: TaskContext) -> Any:
        """Run a sync handler in this thread, counted while it runs (see handlers_left_running)."""
        with self._counting:
            self._in_threads += 1
        try:
            return run(handler, context)
        finally:
            with self._counting:
                self._in_threads -= 1

    async def _keep_lease(
        self, task_id: str, context: TaskContext, work: "asyncio.Future[Any]"
    ) -> None:
        """Renew the lease while the handler runs; stop the handler when a cancel is asked."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                wanted = await self.db(leases.renew, self.owner, [task_id], self.lease_s)
            except Exception as error:  # one failed renewal must not end renewing
                self._renewals.failed(error)
                continue
            self._renewals.succeeded()
            if task_id in wanted:
                context.request_cancel()
                work.cancel()
                return

    async def execute(self, claimed: leases.Claimed) -> leases.Outcome:
        """Run one attempt to its end; return how it ended (the caller records it)."""
        context = TaskContext(claimed.id, claimed.type, claimed.attempt, claimed.input,
                              claimed.idempotency_key, log.getChild(claimed.type))  # fmt: skip
        totals = UsageTotals()
        backoff = leases.BACKOFF_BASE_S
        started = utcnow()

        def ended(status: str, **details: Any) -> leases.Outcome:
            return leases.Outcome(claimed, status, started_at=started, usage=totals.columns(),
                                  **details)  # fmt: skip

        work: asyncio.Future[Any] | None = None
        try:
            spec = registry.get(claimed.type)
            backoff = spec.backoff
            with collect_usage(totals), task_trace(claimed.id, claimed.type):
                work = self._start(spec, context)
                keeper = asyncio.create_task(self._keep_lease(claimed.id, context, work))
                try:
                    output = await asyncio.wait_for(work, timeout=claimed.timeout_s)
                finally:
                    keeper.cancel()
            json.dumps(output, allow_nan=False)  # an output the table cannot hold fails here
        except asyncio.CancelledError:
            if not context.cancelled():
                raise  # the executor is stopping: the lease expires and the task runs again
            return ended("cancelled", error="cancelled by request")
        except Exception as problem:
            if isinstance(problem, TimeoutError) and work is not None and work.cancelled():
                # wait_for cancelled the work: the deadline passed (not the handler's own error)
                context.request_cancel()
                error = f"timed out after {claimed.timeout_s} s"
                return ended("failed", error=error, backoff_s=backoff)
            return ended("failed", error=f"{type(problem).__name__}: {problem}", backoff_s=backoff,
                         traceback=traceback.format_exc())  # fmt: skip
        return ended("succeeded", output=output)

    def close(self) -> None:
        """Stop the thread pool (running sync handlers finish on their own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._in_threads:
            _closed_busy.append(self)


_closed_busy: list[Runner] = []  # closed runners whose threads still ran a handler then


def handlers_left_running() -> int:
    """Sync handlers still running in the threads of closed runners (given up on at a stop).

    Python waits for those threads at exit, so a process that handed their tasks back must
    end without waiting (os._exit) to stop within its grace period.
    """
    return sum(runner._in_threads for runner in _closed_busy)
