"""The embedded executor: claims ready tasks and runs them inside this process."""

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.models import ExecutionTask
from governor.tasks import gate, leases, registry
from governor.tasks.runner import Runner, worker_name


@dataclass
class EmbeddedExecutor:
    """Runs ready tasks up to a global limit and per-type limits; independent tasks never wait."""

    engine: Engine
    concurrency: int = 16
    lease_s: float = 30.0
    poll_s: float = 0.05
    owner: str = field(default_factory=lambda: worker_name("embedded"))

    def __post_init__(self) -> None:
        self.runner = Runner(self.engine, self.owner, self.lease_s, self.concurrency)
        self._running: Counter[str] = Counter()  # task type → attempts in flight
        self._wake = asyncio.Event()

    def _claim(self, session: Session) -> list[leases.Claimed]:
        free = self.concurrency - sum(self._running.values())
        if free <= 0:
            return []
        room = {t: spec.concurrency - self._running[t]
                for t, spec in registry.known().items() if spec.concurrency}  # fmt: skip
        agents_allowed = gate.status(session).open
        return leases.claim_batch(
            session, self.owner, free, lease_s=self.lease_s, agents_allowed=agents_allowed,
            type_room=room,
        )  # fmt: skip

    async def _attempt(self, claimed: leases.Claimed) -> None:
        try:
            await self.runner.attempt(claimed)
        finally:
            self._running[claimed.type] -= 1
            self._wake.set()

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """Claim and run tasks until `stop` is set (or, with until_idle, nothing is left to do)."""
        attempts: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            claimed = await self.runner.db(self._claim)
            for item in claimed:
                self._running[item.type] += 1
                attempt = asyncio.create_task(self._attempt(item))
                attempts.add(attempt)
                attempt.add_done_callback(attempts.discard)
            if until_idle and not claimed and not attempts and not await self.runner.db(has_work):
                break
            if not claimed:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
        if attempts:
            await asyncio.gather(*attempts, return_exceptions=True)

    async def run_until_idle(self) -> None:
        """Run until no task is pending or running (tests and benchmarks)."""
        await self.run(asyncio.Event(), until_idle=True)

    def close(self) -> None:
        self.runner.close()


def has_work(session: Session) -> bool:
    """Whether a task is running, or pending and able to run once its time comes."""
    t = ExecutionTask
    runnable = and_(t.status == "pending", t.waiting_on == 0)
    if not gate.status(session).open:
        runnable = and_(runnable, t.kind == "system")
    query = select(t.id).where(or_(t.status == "running", runnable)).limit(1)
    return session.scalar(query) is not None
