"""One claimed attempt, run the same way by every executor: context, usage, trace, lease, result."""

import asyncio
import contextvars
import json
import logging
import os
import socket
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
        return loop.run_in_executor(self._pool, run_in_context, spec.handler, context)

    async def _keep_lease(
        self, task_id: str, context: TaskContext, work: "asyncio.Future[Any]"
    ) -> None:
        """Renew the lease while the handler runs; stop the handler when a cancel is asked."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                wanted = await self.db(leases.renew, self.owner, [task_id], self.lease_s)
            except Exception:  # one failed renewal must not end renewing; the next may work
                log.exception("could not renew the lease of %s", task_id)
                continue
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
