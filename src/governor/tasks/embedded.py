"""The embedded executor: claims tasks and runs them inside this process (asyncio + threads)."""

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from governor.ids import new_id
from governor.models import ExecutionTask
from governor.storage.db import session_scope
from governor.tasks import gate, leases, registry
from governor.tasks.context import TaskContext
from governor.tasks.usage import UsageTotals, collect_usage
from governor.tracing.context import task_trace

log = logging.getLogger("governor.tasks")


@dataclass
class Running:
    """One attempt in flight."""

    claimed: leases.Claimed
    context: TaskContext
    future: "asyncio.Future[Any]"


@dataclass
class EmbeddedExecutor:
    """Runs ready tasks up to a global limit and per-type limits; independent tasks never wait."""

    engine: Engine
    concurrency: int = 16
    lease_s: float = 30.0
    poll_s: float = 0.05
    owner: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-8:]}"
    )
    _running: dict[str, Running] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._threads = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="task")

    async def _db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        def unit() -> Any:
            with session_scope(self.engine) as session:
                return fn(session, *args, **kwargs)

        return await asyncio.to_thread(unit)

    def _full_types(self) -> frozenset[str]:
        busy = Counter(r.claimed.type for r in self._running.values())
        limits = {t: spec.concurrency for t, spec in registry.known().items() if spec.concurrency}
        return frozenset(t for t, n in busy.items() if t in limits and n >= limits[t])

    async def _claim(self) -> list[leases.Claimed]:
        free = self.concurrency - len(self._running)
        if free <= 0:
            return []

        def claim(session: Any) -> list[leases.Claimed]:
            agents_allowed = gate.status(session).open
            known = frozenset(registry.known())
            return [c for c in leases.claim(session, self.owner, free, lease_s=self.lease_s,
                                            agents_allowed=agents_allowed,
                                            exclude_types=self._full_types())
                    if c.type in known or self._unknown(c)]  # fmt: skip

        return await self._db(claim)

    def _unknown(self, claimed: leases.Claimed) -> bool:
        log.error("task %s has type %s, which no loaded module handles", claimed.id, claimed.type)
        return True  # run it anyway: _attempt records the error on the task

    async def _attempt(self, claimed: leases.Claimed) -> None:
        context = TaskContext(claimed.id, claimed.type, claimed.attempt, claimed.input,
                              claimed.idempotency_key, log.getChild(claimed.type))  # fmt: skip
        backoff = 1.0
        totals = UsageTotals()
        failure: dict[str, Any] = {"traceback": None, "usage": totals.columns()}
        try:
            spec = registry.get(claimed.type)
            backoff = spec.backoff
            # The handler (and its thread) reports model calls to `totals`, spans to its trace.
            with collect_usage(totals), task_trace(claimed.id, claimed.type):
                if spec.is_async:
                    call: Any = spec.handler(context)
                else:
                    run_in_context = contextvars.copy_context().run
                    call = asyncio.get_running_loop().run_in_executor(
                        self._threads, run_in_context, spec.handler, context
                    )
                future = asyncio.ensure_future(call)
                self._running[claimed.id] = Running(claimed, context, future)
                output = await asyncio.wait_for(future, timeout=claimed.timeout_s)
        except asyncio.CancelledError:
            failure.update(error="cancelled by request", cancelled=True, usage=totals.columns())
            await self._db(leases.fail, claimed.id, self.owner, **failure)
        except TimeoutError:
            context.request_cancel()
            failure.update(error=f"timed out after {claimed.timeout_s} s", backoff_s=backoff,
                           usage=totals.columns())  # fmt: skip
            await self._db(leases.fail, claimed.id, self.owner, **failure)
        except Exception as error:
            failure.update(error=f"{type(error).__name__}: {error}", backoff_s=backoff,
                           traceback=traceback.format_exc(), usage=totals.columns())  # fmt: skip
            await self._db(leases.fail, claimed.id, self.owner, **failure)
        else:
            await self._db(leases.succeed, claimed.id, self.owner, output, totals.columns())
        finally:
            self._running.pop(claimed.id, None)
            self._wake.set()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            wanted = await self._db(leases.renew, self.owner, list(self._running), self.lease_s)
            for task_id in wanted:
                running = self._running.get(task_id)
                if running is not None:
                    running.context.request_cancel()
                    running.future.cancel()

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """Claim and run tasks until `stop` is set (or, with until_idle, nothing is left to do)."""
        renewer = asyncio.create_task(self._renew_forever())
        attempts: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                claimed = await self._claim()
                for item in claimed:
                    attempt = asyncio.create_task(self._attempt(item))
                    attempts.add(attempt)
                    attempt.add_done_callback(attempts.discard)
                if until_idle and not claimed and not attempts and not await self._db(has_work):
                    break
                if not claimed:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            if attempts:
                await asyncio.gather(*attempts, return_exceptions=True)
        finally:
            renewer.cancel()

    async def run_until_idle(self) -> None:
        """Run until no task is pending or running (tests and benchmarks)."""
        await self.run(asyncio.Event(), until_idle=True)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


def has_work(session: Any) -> bool:
    """Whether a task is running, or pending and able to run once its time comes."""
    t = ExecutionTask
    runnable = and_(t.status == "pending", t.waiting_on == 0)
    if not gate.status(session).open:
        runnable = and_(runnable, t.kind == "system")
    query = select(t.id).where(or_(t.status == "running", runnable)).limit(1)
    return session.scalar(query) is not None
