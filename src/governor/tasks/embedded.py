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
from governor.tasks.outage import Outage
from governor.tasks.runner import Runner, worker_name

log = logging.getLogger("governor.tasks")
CANCELLED_WAIT_S = 1.0
"""How long an interrupted async handler may take to unwind (one that ignores it is left)."""


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
    grace_s: float = 10.0  # at a stop, how long running attempts may finish
    owner: str = field(default_factory=lambda: worker_name("embedded"))

    def __post_init__(self) -> None:
        self.runner = Runner(self.engine, self.owner, self.lease_s, self.concurrency)
        self._running: Counter[str] = Counter()  # task type → attempts in flight
        self._queued: deque[leases.Claimed] = deque()  # claimed, waiting for a free slot
        self._finished: list[leases.Outcome] = []  # ended since the last turn of the loop
        self._wake = asyncio.Event()
        self._renewed_at = time.monotonic()
        self._expired_checked_at = 0.0  # the first turn looks for lost leases
        self._attempts: dict[asyncio.Task[None], str] = {}  # attempt running → its task id
        self._outage = Outage("the executor", log)
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
            self._attempts[attempt] = item.id
            attempt.add_done_callback(self._forget)
        self._queued.extendleft(reversed(waiting))

    def _forget(self, attempt: "asyncio.Task[None]") -> None:
        self._attempts.pop(attempt, None)

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
        (the database is locked, read-only or gone) is tried again with the same writes, after
        a back-off that grows while it keeps failing (see Outage: one log line per change).

        Once `stop` is set nothing more is claimed; attempts still running after `grace_s`
        are interrupted and their tasks handed back, so that another process runs them now.
        """
        while not stop.is_set():
            outcomes, release, renew, held, expired = self._plan()
            try:
                claimed, self._gate_open = await self.runner.db(
                    self._turn, outcomes, release, renew, held, expired
                )
            except Exception as error:
                self._finished, self._release = outcomes + self._finished, release
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._outage.failed(error))
                continue
            self._outage.succeeded()
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
        interrupted = await self._drain()
        outcomes, release = self._finished, self._release + queued + interrupted
        try:
            await self.runner.db(self._stop, outcomes, release)
        except Exception as error:  # their leases run out instead, and the tasks run again then
            log.error("could not write %d outcome(s) and hand back %d task(s) on stopping: %s",
                      len(outcomes), len(release), error)  # fmt: skip

    async def _drain(self) -> list[str]:
        """Give running attempts `grace_s` to end; interrupt the others, return their task ids."""
        if not self._attempts:
            return []
        log.info("stopping: waiting up to %g s for %d running task(s)", self.grace_s,
                 len(self._attempts))  # fmt: skip
        _, late = await asyncio.wait(set(self._attempts), timeout=self.grace_s)
        if not late:
            return []
        ids = [self._attempts[attempt] for attempt in late]
        for attempt in late:
            attempt.cancel()
        await asyncio.wait(late, timeout=CANCELLED_WAIT_S)
        log.warning("handing back %d task(s) still running after %g s, to run again at once: %s",
                    len(ids), self.grace_s, ", ".join(ids))  # fmt: skip
        return ids

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
