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
        self._finished: list[leases.Outcome] = []  # ended since the last turn of the loop
        self._wake = asyncio.Event()

    def _record_and_claim(
        self, session: Session, outcomes: list[leases.Outcome]
    ) -> list[leases.Claimed]:
        """One unit of work: write the finished attempts, then lease what can run next."""
        leases.record(session, self.owner, outcomes)
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
            outcome = await self.runner.execute(claimed)
            self._finished.append(outcome)  # the list in place now, not the one when it started
        finally:
            self._running[claimed.type] -= 1
            self._wake.set()

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """Claim and run tasks until `stop` is set (or, with until_idle, nothing is left to do).

        Finished attempts are written together with the next claim, in one transaction per
        turn of the loop, however many attempts ended since the last turn.
        """
        attempts: set[asyncio.Task[None]] = set()
        while True:
            outcomes, self._finished = self._finished, []
            if stop.is_set():
                await self.runner.db(leases.record, self.owner, outcomes)
                break
            claimed = await self.runner.db(self._record_and_claim, outcomes)
            for item in claimed:
                self._running[item.type] += 1
                attempt = asyncio.create_task(self._attempt(item))
                attempts.add(attempt)
                attempt.add_done_callback(attempts.discard)
            idle = not claimed and not attempts and not self._finished
            if until_idle and idle and not await self.runner.db(has_work):
                break
            if not claimed and not self._finished:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
        if attempts:
            await asyncio.gather(*attempts, return_exceptions=True)
            await self.runner.db(leases.record, self.owner, self._finished)

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
