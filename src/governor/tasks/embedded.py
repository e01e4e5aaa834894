"""The embedded executor: claims ready tasks and runs them inside this process."""

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.models import ExecutionTask
from governor.tasks import gate, leases, registry
from governor.tasks.runner import Runner, worker_name

log = logging.getLogger("governor.tasks")
RETRY_TURN_S = 0.5


@dataclass
class EmbeddedExecutor:
    """Runs ready tasks up to a global limit and per-type limits; independent tasks never wait.

    It keeps up to `concurrency` more attempts claimed than it runs, so that a slot that frees
    up starts its next task at once instead of after a round trip to the database.
    """

    engine: Engine
    concurrency: int = 16
    lease_s: float = 30.0
    poll_s: float = 0.05
    owner: str = field(default_factory=lambda: worker_name("embedded"))

    def __post_init__(self) -> None:
        self.runner = Runner(self.engine, self.owner, self.lease_s, self.concurrency)
        self._running: Counter[str] = Counter()  # task type → attempts in flight
        self._queued: deque[leases.Claimed] = deque()  # claimed, waiting for a free slot
        self._finished: list[leases.Outcome] = []  # ended since the last turn of the loop
        self._wake = asyncio.Event()
        self._renewed_at = time.monotonic()
        self._expired_checked_at = 0.0  # the first turn looks for lost leases
        self._attempts: set[asyncio.Task[None]] = set()
        self._in_flight = 0  # attempts running, as one integer the turn's thread may read
        self._release: list[str] = []  # claimed attempts to hand back at the next turn
        self._gate_open = True  # as the last turn saw it

    def _held(self) -> Counter[str]:
        return self._running + Counter(c.type for c in self._queued)

    def _turn(
        self, session: Session, outcomes: list[leases.Outcome], release: list[str],
        renew: list[str], held: Counter[str], expired: bool,
    ) -> tuple[list[leases.Claimed], bool]:  # fmt: skip
        """One unit of work, run off the loop on snapshots taken on it: write the finished
        attempts, hand back what a closed gate holds, keep the queue's leases, claim more."""
        leases.record(session, self.owner, outcomes)
        leases.release(session, self.owner, release)
        leases.renew(session, self.owner, renew, self.lease_s)
        agents_allowed = gate.status(session).open
        # Plain integers, read as they are now (not as the snapshot saw them): attempts that
        # ended while this turn ran make room at once. The limit is soft, so a count that is
        # a step behind the loop costs nothing.
        free = 2 * self.concurrency - (self._in_flight + len(self._queued))
        if free <= 0:
            return [], agents_allowed
        room = {t: spec.concurrency - held[t]
                for t, spec in registry.known().items() if spec.concurrency}  # fmt: skip
        claimed = leases.claim_batch(
            session, self.owner, free, lease_s=self.lease_s, agents_allowed=agents_allowed,
            type_room=room, expired=expired,
        )  # fmt: skip
        return claimed, agents_allowed

    def _startable(self, item: leases.Claimed, limits: dict[str, int]) -> bool:
        if not self._gate_open and item.kind != "system":
            return False  # claimed before the gate closed: it goes back at the next turn
        return item.type not in limits or self._running[item.type] < limits[item.type]

    def _start_queued(self) -> None:
        """Start queued attempts while slots are free (and their type is under its limit)."""
        limits = {t: spec.concurrency for t, spec in registry.known().items() if spec.concurrency}
        waiting: deque[leases.Claimed] = deque()
        while self._queued and sum(self._running.values()) < self.concurrency:
            item = self._queued.popleft()
            if not self._startable(item, limits):
                waiting.append(item)
                continue
            self._running[item.type] += 1
            self._in_flight += 1
            attempt = asyncio.create_task(self._attempt(item))
            self._attempts.add(attempt)
            attempt.add_done_callback(self._attempts.discard)
        self._queued.extendleft(reversed(waiting))

    async def _attempt(self, claimed: leases.Claimed) -> None:
        try:
            outcome = await self.runner.execute(claimed)
            self._finished.append(outcome)  # the list in place now, not the one when it started
        finally:
            self._running[claimed.type] -= 1
            self._in_flight -= 1
            self._start_queued()  # the freed slot takes the next claimed task at once
            self._wake.set()

    def _plan(self) -> tuple[list[leases.Outcome], list[str], list[str], Counter[str], bool]:
        """Take, on the loop, what the next turn writes: outcomes, releases, renewals."""
        outcomes, self._finished = self._finished, []
        release = self._release
        if not self._gate_open:  # queued agent attempts go back unstarted
            release += [c.id for c in self._queued if c.kind != "system"]
            self._queued = deque(c for c in self._queued if c.kind == "system")
        self._release = []
        renew: list[str] = []
        if self._queued and time.monotonic() - self._renewed_at > self.lease_s / 3:
            renew, self._renewed_at = [c.id for c in self._queued], time.monotonic()
        # Leases run out on the scale of lease_s: looking for lost ones a few times per lease
        # is enough, and saves two statements on every other turn.
        expired = time.monotonic() - self._expired_checked_at > self.lease_s / 3
        if expired:
            self._expired_checked_at = time.monotonic()
        return outcomes, release, renew, self._held(), expired

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """Claim and run tasks until `stop` is set (or, with until_idle, nothing is left to do).

        Finished attempts are written together with the next claim, in one transaction per
        turn of the loop, however many attempts ended since the last turn. A turn that fails
        (the database is locked or gone) is logged and tried again with the same writes.
        """
        while not stop.is_set():
            outcomes, release, renew, held, expired = self._plan()
            try:
                claimed, self._gate_open = await self.runner.db(
                    self._turn, outcomes, release, renew, held, expired
                )
            except Exception:
                log.exception("executor turn failed; trying again")
                self._finished, self._release = outcomes + self._finished, release
                await asyncio.sleep(RETRY_TURN_S)
                continue
            self._queued.extend(claimed)
            self._start_queued()
            idle = not claimed and not self._attempts and not self._finished and not self._queued
            if until_idle and idle and not await self.runner.db(has_work):
                break
            if not claimed and not self._finished:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
        queued = [c.id for c in self._queued]  # not started: handed back, not run on the way out
        self._queued = deque()
        if self._attempts:
            await asyncio.gather(*self._attempts, return_exceptions=True)
        await self.runner.db(self._stop, self._finished, self._release + queued)

    def _stop(self, session: Session, outcomes: list[leases.Outcome], release: list[str]) -> None:
        leases.record(session, self.owner, outcomes)
        leases.release(session, self.owner, release)

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
